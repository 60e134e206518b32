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

    /**
     * {@code int4:qgemm}'s initializers: the codes of int4 MatMulNBits ({@link #write}, the same blocks, scales and
     * rounding) stored as ONNX's native signed {@code INT4} {@code <weight>_Q4S [N, k_blocks, block]} holding
     * {@code code − 8} (a nibble's {@code code ^ 8}: the same bytes as MatMulNBits' B with every byte {@code ^ 0x88}),
     * and {@code <weight>_scales} float32 {@code [N, k_blocks, 1]} (broadcast over a block), so that a plain
     * {@code Cast} to float and a {@code Mul} give exactly MatMulNBits' dequantized weights. Symmetric only.
     */
    static QuantizedLinear writeSignedInt4(
            ExternalDataWriter data,
            Consumer<TensorProto> add,
            String weight,
            int n,
            int k,
            FloatRowSource rows,
            QuantScheme scheme) {
        if (scheme.bits() != QuantBits.INT4 || scheme.symmetry() != Symmetry.SYMMETRIC) {
            throw new IllegalArgumentException("signed int4 codes need a symmetric int4 scheme, e.g. int4:qgemm");
        }
        int kBlocks = scheme.kBlocks(k);
        long[] codesShape = {n, kBlocks, scheme.blockSize()};
        QuantizedLinear[] result = new QuantizedLinear[1];
        add.accept(data.write(
                weight + SIGNED_INT4_SUFFIX,
                DataType.INT4,
                codesShape,
                sink -> result[0] = BlockQuantizer.quantizeStreaming(
                        weight, n, k, rows, scheme, ScaleType.FLOAT32, (row, bytes, length) -> {
                            byte[] signed = new byte[length];
                            for (int i = 0; i < length; i++) {
                                signed[i] = (byte) (bytes[i] ^ 0x88); // both nibbles: code - 8 in two's complement
                            }
                            sink.putBytes(signed, 0, length);
                        })));
        QuantizedLinear q = result[0];
        add.accept(data.write(
                q.scalesName(), DataType.FLOAT, new long[] {n, kBlocks, 1}, sink -> putAll(sink, q.scaleBytes())));
        return q;
    }

    /** The signed int4 codes of {@code int4:qgemm}, {@code <weight>_Q4S}. */
    static final String SIGNED_INT4_SUFFIX = "_Q4S";

    private static void putAll(TensorBytes sink, ByteBuffer bytes) {
        byte[] array = new byte[bytes.remaining()];
        bytes.duplicate().get(array);
        sink.putBytes(array, 0, array.length);
    }
}
