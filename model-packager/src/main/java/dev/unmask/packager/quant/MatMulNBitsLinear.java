package dev.unmask.packager.quant;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.unmask.packager.ExitCode;
import dev.unmask.packager.PackagerException;
import dev.unmask.packager.checkpoint.TensorData;
import dev.unmask.packager.onnx.FloatLinear;
import dev.unmask.packager.onnx.LinearWeight;
import dev.unmask.packager.onnx.LinearWeightSink;
import dev.unmask.packager.onnx.OnnxGraph;
import dev.unmask.packager.onnx.WeightFormat;

import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * The quantizing {@link LinearWeightSink}: every projection becomes {@code com.microsoft::MatMulNBits}, B packed
 * from the checkpoint's {@code W [out, in]} row by row and streamed straight into the package's external data
 * (one row of floats in the heap, plus the tensor's scales and zero points). The output head, which the graph
 * builder names {@code /head/…}, follows {@link HeadPrecision}. Activations stay float32, so scales are float32.
 *
 * <p>Plug in with {@code GraphOptions.of(format).withLinear(new MatMulNBitsLinear(scheme, head, format))}.
 */
public final class MatMulNBitsLinear implements LinearWeightSink {

    /** Prefix of the output head's node names in {@code LladaGraphBuilder}. */
    static final String HEAD_PREFIX = "/head/";

    private final QuantScheme scheme;
    private final HeadPrecision head;
    private final FloatLinear floatHead;

    public MatMulNBitsLinear(QuantScheme scheme, HeadPrecision head, WeightFormat format) {
        this.scheme = Objects.requireNonNull(scheme, "quantization scheme");
        this.head = Objects.requireNonNull(head, "head precision");
        this.floatHead = new FloatLinear(Objects.requireNonNull(format, "weight format"));
    }

    public MatMulNBitsLinear(QuantScheme scheme, WeightFormat format) {
        this(scheme, HeadPrecision.SAME, format);
    }

    /**
     * The sink for the CLI's {@code --quant} and {@code --quant-head}: {@link FloatLinear} for {@code none} (or
     * null), otherwise this quantizer.
     *
     * @throws IllegalArgumentException for a bad scheme or head precision, with correct examples
     */
    public static LinearWeightSink fromOptions(String quant, String head, WeightFormat format) {
        if (quant == null || quant.isBlank() || quant.trim().equalsIgnoreCase("none")) {
            if (head != null && !head.isBlank() && HeadPrecision.parse(head) != HeadPrecision.SAME) {
                throw new IllegalArgumentException("--quant-head " + head + " needs --quant, e.g. --quant int4 --quant-head int8");
            }
            return new FloatLinear(format);
        }
        HeadPrecision headPrecision = head == null || head.isBlank() ? HeadPrecision.SAME : HeadPrecision.parse(head);
        return new MatMulNBitsLinear(QuantScheme.parse(quant), headPrecision, format);
    }

    public QuantScheme scheme() {
        return scheme;
    }

    public HeadPrecision head() {
        return head;
    }

    @Override
    public String linear(OnnxGraph graph, String name, String input, LinearWeight weight) {
        QuantScheme chosen = name.startsWith(HEAD_PREFIX) ? head.schemeFor(scheme) : scheme;
        if (chosen == null) {
            return floatHead.linear(graph, name, input, weight);
        }
        int n = weight.outFeatures();
        int k = weight.inFeatures();
        int kBlocks = chosen.kBlocks(k);
        long[] packedShape = {n, kBlocks, chosen.bits().blobBytes(chosen.blockSize())};
        QuantizedLinear[] result = new QuantizedLinear[1];
        String packedName = weight.name() + "_Q" + chosen.bits().bits();
        graph.initializer(packedName, DataType.UINT8, packedShape, out -> {
            try (TensorData data = weight.map()) {
                result[0] = BlockQuantizer.quantizeStreaming(weight.name(), n, k,
                        (row, dst) -> data.readRow(row, 0, k, dst, 0), chosen, ScaleType.FLOAT32,
                        (row, bytes, length) -> out.putBytes(bytes, 0, length));
            } catch (IllegalArgumentException e) {
                // shapes come from the checked config, so what is left is a bad weight (NaN, infinity)
                throw new PackagerException(ExitCode.BAD_CHECKPOINT, weight.entry().file() + ": " + e.getMessage(), e);
            }
        });
        QuantizedLinear q = result[0];
        graph.initializer(q.scalesName(), DataType.FLOAT, q.scalesShape(), out -> putAll(out, q.scaleBytes()));
        if (q.hasZeroPoints()) {
            graph.initializer(q.zeroPointsName(), DataType.UINT8, q.zeroPointsShape(),
                    out -> putAll(out, q.zeroPointBytes()));
        }
        return graph.msOp(MatMulNBits.OP_TYPE, name + "/MatMulNBits",
                MatMulNBits.inputs(q, input), MatMulNBits.attributes(q).toArray(new AttributeProto[0]));
    }

    private static void putAll(dev.unmask.packager.onnx.TensorBytes out, ByteBuffer bytes) {
        byte[] array = new byte[bytes.remaining()];
        bytes.duplicate().get(array);
        out.putBytes(array, 0, array.length);
    }

    /** The manifest's {@code precision.quantization}: {@link HeadPrecision#describe}. */
    @Override
    public String quantization() {
        return head.describe(scheme);
    }
}
