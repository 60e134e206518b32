package dev.unmask.packager.quant;

import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.unmask.packager.onnx.ExternalDataWriter;
import dev.unmask.packager.onnx.TensorBytes;
import java.nio.ByteBuffer;
import java.util.function.Consumer;

/**
 * The one way a float weight becomes the constant inputs of a {@code MatMulNBits} node, for {@code unmask-pack
 * convert --quant} ({@link MatMulNBitsLinear}, rows from the checkpoint) and {@code unmask-pack quantize}
 * ({@link OnnxModelQuantizer}, rows from a float package) alike: B is packed row by row and streamed into the
 * external data, then the scales and (asymmetric only) the zero points follow it, so the same weight rows give the
 * same initializers, byte for byte, on either path.
 */
final class QuantizedWeights {

    private QuantizedWeights() {}

    /**
     * Writes {@code <weight>_Q<bits>}, {@code <weight>_scales} and, when asymmetric, {@code <weight>_zero_points}
     * through {@code data}, handing each initializer to {@code add} in that order.
     *
     * @param rows the weight {@code W [n, k]} (output features by input features), one row at a time
     * @throws IllegalArgumentException for a weight that cannot be quantized (NaN or infinity), naming it
     */
    static QuantizedLinear write(
            ExternalDataWriter data,
            Consumer<TensorProto> add,
            String weight,
            int n,
            int k,
            FloatRowSource rows,
            QuantScheme scheme,
            ScaleType scaleType) {
        long[] packedShape = {n, scheme.kBlocks(k), scheme.bits().blobBytes(scheme.blockSize())};
        QuantizedLinear[] result = new QuantizedLinear[1];
        add.accept(data.write(
                weight + "_Q" + scheme.bits().bits(),
                DataType.UINT8,
                packedShape,
                sink -> result[0] = BlockQuantizer.quantizeStreaming(
                        weight,
                        n,
                        k,
                        rows,
                        scheme,
                        scaleType,
                        (row, bytes, length) -> sink.putBytes(bytes, 0, length))));
        QuantizedLinear q = result[0];
        add.accept(data.write(
                q.scalesName(), scaleType.onnxType(), q.scalesShape(), sink -> putAll(sink, q.scaleBytes())));
        if (q.hasZeroPoints()) {
            add.accept(data.write(
                    q.zeroPointsName(), DataType.UINT8, q.zeroPointsShape(), sink -> putAll(sink, q.zeroPointBytes())));
        }
        return q;
    }

    private static void putAll(TensorBytes sink, ByteBuffer bytes) {
        byte[] array = new byte[bytes.remaining()];
        bytes.duplicate().get(array);
        sink.putBytes(array, 0, array.length);
    }
}
