package dev.unmask.packager.quant;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.protobuf.UnsafeByteOperations;
import dev.unmask.packager.checkpoint.Half;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * One quantized linear weight: the constant inputs {@code B}, {@code scales} and (asymmetric only)
 * {@code zero_points} of a {@code com.microsoft::MatMulNBits} node computing {@code Y = A · Wᵀ} for the HF
 * weight {@code W [N = out, K = in]}. Made by {@link BlockQuantizer}; the arrays are owned, never copied.
 * When B was streamed straight into a package ({@link BlockQuantizer#quantizeStreaming}) only the scales and
 * zero points are held, and the methods that read B throw {@link IllegalStateException}.
 *
 * <p>Initializer names follow ORT's quantizer: {@code <weight>_Q4} / {@code _Q8}, {@code <weight>_scales},
 * {@code <weight>_zero_points}.
 */
public final class QuantizedLinear {

    private final String name;
    private final int n;
    private final int k;
    private final QuantScheme scheme;
    private final ScaleType scaleType;
    private final byte[] packed; // [N, k_blocks, block_size * bits / 8], or null when streamed out
    private final byte[] scales; // [N, k_blocks], little-endian float32 or float16
    private final byte[] zeroPoints; // [N, ceil(k_blocks * bits / 8)], or null when symmetric

    QuantizedLinear(
            String name,
            int n,
            int k,
            QuantScheme scheme,
            ScaleType scaleType,
            byte[] packed,
            byte[] scales,
            byte[] zeroPoints) {
        this.name = Objects.requireNonNull(name);
        this.n = n;
        this.k = k;
        this.scheme = Objects.requireNonNull(scheme);
        this.scaleType = Objects.requireNonNull(scaleType);
        this.packed = packed;
        this.scales = Objects.requireNonNull(scales);
        this.zeroPoints = zeroPoints;
        if (scheme.symmetry().hasZeroPoints() != (zeroPoints != null)) {
            throw new IllegalArgumentException("zero points of '" + name + "' do not match scheme " + scheme);
        }
    }

    QuantizedLinear withPacked(byte[] packedB) {
        return new QuantizedLinear(name, n, k, scheme, scaleType, packedB, scales, zeroPoints);
    }

    /** Whether B is held here (false after {@link BlockQuantizer#quantizeStreaming}). */
    public boolean hasPackedInMemory() {
        return packed != null;
    }

    private byte[] packed() {
        if (packed == null) {
            throw new IllegalStateException("B of '" + name + "' was streamed out by BlockQuantizer.quantizeStreaming"
                    + " and is not held; use BlockQuantizer.quantize to keep it");
        }
        return packed;
    }

    /** The weight's name, e.g. {@code model.transformer.blocks.0.q_proj.weight}. */
    public String name() {
        return name;
    }

    /** Output features (the MatMulNBits {@code N} attribute). */
    public int n() {
        return n;
    }

    /** Input features (the MatMulNBits {@code K} attribute). */
    public int k() {
        return k;
    }

    public QuantScheme scheme() {
        return scheme;
    }

    public ScaleType scaleType() {
        return scaleType;
    }

    public int kBlocks() {
        return scheme.kBlocks(k);
    }

    public String packedName() {
        return name + "_Q" + scheme.bits().bits();
    }

    public String scalesName() {
        return name + "_scales";
    }

    public String zeroPointsName() {
        return name + "_zero_points";
    }

    public boolean hasZeroPoints() {
        return zeroPoints != null;
    }

    /** {@code B}: uint8 {@code [N, k_blocks, block_size * bits / 8]}, read-only view. */
    public ByteBuffer packedBytes() {
        return ByteBuffer.wrap(packed()).asReadOnlyBuffer();
    }

    /** {@code scales}: {@code [N, k_blocks]} little-endian float32 or float16, read-only view. */
    public ByteBuffer scaleBytes() {
        return ByteBuffer.wrap(scales).asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** {@code zero_points}: uint8 {@code [N, ceil(k_blocks * bits / 8)]}, read-only view; empty when symmetric. */
    public ByteBuffer zeroPointBytes() {
        return zeroPoints == null
                ? ByteBuffer.allocate(0).asReadOnlyBuffer()
                : ByteBuffer.wrap(zeroPoints).asReadOnlyBuffer();
    }

    public long[] packedShape() {
        return new long[] {n, kBlocks(), scheme.bits().blobBytes(scheme.blockSize())};
    }

    public long[] scalesShape() {
        return new long[] {n, kBlocks()};
    }

    public long[] zeroPointsShape() {
        return new long[] {n, scheme.bits().zeroPointBytesPerRow(kBlocks())};
    }

    /** Bytes of all initializers together: what this weight costs in the package. */
    public long storedBytes() {
        long packedBytes = (long) n * kBlocks() * scheme.bits().blobBytes(scheme.blockSize());
        return packedBytes + scales.length + (zeroPoints == null ? 0 : zeroPoints.length);
    }

    /** The code of weight {@code [row, col]}, {@code col < k_blocks * block_size}. */
    public int code(int row, int col) {
        QuantBits bits = scheme.bits();
        int blob = bits.blobBytes(scheme.blockSize());
        int b = col / scheme.blockSize();
        int i = col % scheme.blockSize();
        int value = packed()[(row * kBlocks() + b) * blob + i / bits.codesPerByte()] & 0xff;
        return (value >>> ((i % bits.codesPerByte()) * bits.bits())) & bits.maxCode();
    }

    /** The stored scale of block {@code block} of output row {@code row}. */
    public float scale(int row, int block) {
        int index = row * kBlocks() + block;
        ByteBuffer view = ByteBuffer.wrap(scales).order(ByteOrder.LITTLE_ENDIAN);
        return scaleType == ScaleType.FLOAT32 ? view.getFloat(index * 4) : Half.toFloat(view.getShort(index * 2));
    }

    /** The zero point of block {@code block} of output row {@code row} (implicit {@code 2^(bits-1)} when symmetric). */
    public int zeroPoint(int row, int block) {
        QuantBits bits = scheme.bits();
        if (zeroPoints == null) {
            return bits.midCode();
        }
        int perRow = bits.zeroPointBytesPerRow(kBlocks());
        int value = zeroPoints[row * perRow + block / bits.codesPerByte()] & 0xff;
        return (value >>> ((block % bits.codesPerByte()) * bits.bits())) & bits.maxCode();
    }

    /** Writes the dequantized row {@code (q - zp) * scale}, K values, into {@code dst}. */
    public void dequantizeRow(int row, float[] dst) {
        int blockSize = scheme.blockSize();
        for (int block = 0; block < kBlocks(); block++) {
            float scale = scale(row, block);
            int zeroPoint = zeroPoint(row, block);
            for (int col = block * blockSize; col < Math.min(k, (block + 1) * blockSize); col++) {
                dst[col] = (code(row, col) - zeroPoint) * scale;
            }
        }
    }

    /** {@code B}, {@code scales} and, when asymmetric, {@code zero_points}, with raw data (no copy). */
    public List<TensorProto> initializers() {
        List<TensorProto> list = new ArrayList<>(3);
        list.add(tensor(packedName(), TensorProto.DataType.UINT8_VALUE, packedShape(), packed()));
        list.add(tensor(scalesName(), scaleType.onnxType().getNumber(), scalesShape(), scales));
        if (zeroPoints != null) {
            list.add(tensor(zeroPointsName(), TensorProto.DataType.UINT8_VALUE, zeroPointsShape(), zeroPoints));
        }
        return list;
    }

    /** The MatMulNBits node {@code output = input · Wᵀ}; {@code input} is {@code [..., K]}, output {@code [..., N]}. */
    public NodeProto node(String nodeName, String input, String output) {
        return MatMulNBits.node(this, nodeName, input, output);
    }

    /** {@link #node} as a list, named {@code <weight>/MatMulNBits}, for graph builders that splice node lists. */
    public List<NodeProto> nodes(String input, String output) {
        return List.of(node(name + "/MatMulNBits", input, output));
    }

    private static TensorProto tensor(String name, int dataType, long[] shape, byte[] raw) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(dataType);
        for (long d : shape) {
            t.addDims(d);
        }
        return t.setRawData(UnsafeByteOperations.unsafeWrap(raw)).build();
    }

    @Override
    public String toString() {
        return "QuantizedLinear[" + name + " [N=" + n + ", K=" + k + "] " + scheme + " scales=" + scaleType + "]";
    }
}
