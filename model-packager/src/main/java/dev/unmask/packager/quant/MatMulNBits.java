package dev.unmask.packager.quant;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds {@code com.microsoft::MatMulNBits} nodes (ORT contrib op, CPU/CUDA/DirectML/WebGPU):
 * {@code Y[..., N] = A[..., K] · dequant(B)ᵀ}, {@code dequant = (q - zero_point) * scale} blockwise along K.
 * A graph that uses it must import {@link #opsetImport()}.
 */
public final class MatMulNBits {

    public static final String OP_TYPE = "MatMulNBits";
    public static final String DOMAIN = "com.microsoft";
    public static final int DOMAIN_VERSION = 1;

    private MatMulNBits() {}

    /** {@code com.microsoft} version 1, to add to the model's {@code opset_import}. */
    public static OperatorSetIdProto opsetImport() {
        return OperatorSetIdProto.newBuilder()
                .setDomain(DOMAIN)
                .setVersion(DOMAIN_VERSION)
                .build();
    }

    /**
     * The node for {@code weight}: inputs {@link #inputs}, attributes {@link #attributes}.
     */
    public static NodeProto node(QuantizedLinear weight, String nodeName, String input, String output) {
        return NodeProto.newBuilder()
                .setName(nodeName)
                .setOpType(OP_TYPE)
                .setDomain(DOMAIN)
                .addAllInput(inputs(weight, input))
                .addOutput(output)
                .addAllAttribute(attributes(weight))
                .build();
    }

    /** {@code [input, B, scales]}, plus {@code zero_points} when asymmetric. */
    public static List<String> inputs(QuantizedLinear weight, String input) {
        return weight.hasZeroPoints()
                ? List.of(input, weight.packedName(), weight.scalesName(), weight.zeroPointsName())
                : List.of(input, weight.packedName(), weight.scalesName());
    }

    /**
     * K, N, bits, block_size and, when not {@link AccuracyLevel#UNSET}, accuracy_level (ORT's quantizer also
     * leaves 0 out).
     */
    public static List<AttributeProto> attributes(QuantizedLinear weight) {
        QuantScheme scheme = weight.scheme();
        List<AttributeProto> list = new ArrayList<>(5);
        list.add(intAttribute("K", weight.k()));
        list.add(intAttribute("N", weight.n()));
        list.add(intAttribute("bits", scheme.bits().bits()));
        list.add(intAttribute("block_size", scheme.blockSize()));
        if (scheme.accuracyLevel() != AccuracyLevel.UNSET) {
            list.add(intAttribute("accuracy_level", scheme.accuracyLevel().value()));
        }
        return list;
    }

    private static AttributeProto intAttribute(String name, long value) {
        return AttributeProto.newBuilder()
                .setName(name)
                .setType(AttributeProto.AttributeType.INT)
                .setI(value)
                .build();
    }
}
