package dev.unmask.packager.quant;

import dev.unmask.packager.checkpoint.Half;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * Blockwise round-to-nearest quantization of one linear weight into the exact inputs of
 * {@code com.microsoft::MatMulNBits}, following ORT's own {@code MatMulNBitsQuantizer} (default RTN
 * algorithm, MLAS {@code BlockwiseQuantizer}) number for number:
 *
 * <ul>
 *   <li>Blocks run along K inside one output row n; K is padded up to {@code k_blocks * block_size}.</li>
 *   <li>Symmetric: {@code m} = the block's element of largest magnitude, sign kept;
 *       {@code scale = -m / 2^(bits-1)}; zero point {@code 2^(bits-1)} (implicit, no tensor). The scale is
 *       negative when {@code m > 0}: {@code m} then maps to code 0, the wider half of the code range.</li>
 *   <li>Asymmetric: {@code min = min(block, 0)}, {@code max = max(block, 0)},
 *       {@code scale = (max - min) / (2^bits - 1)}, {@code zp = clamp(round(-min / scale), 0, 2^bits - 1)}.</li>
 *   <li>Codes: {@code q = clamp(round(v * (1 / scale) + zp), 0, 2^bits - 1)}, round half away from zero,
 *       with the scale as stored (so float16 scales are rounded before the codes are computed);
 *       a zero scale gives {@code q = zp}.</li>
 *   <li>Padding elements (K up to the block) are quantized zeros, i.e. code {@code zp}: they dequantize to 0.</li>
 * </ul>
 *
 * With {@link ScaleType#FLOAT16} the weights themselves are first rounded to float16, as ORT sees them in
 * an fp16 graph.
 */
public final class BlockQuantizer {

    private BlockQuantizer() {}

    /** The packed rows of {@code B}, handed out one output row at a time while a weight is quantized. */
    @FunctionalInterface
    public interface PackedRowSink {
        /** Row {@code n} of B: {@code bytes[0 .. length)}, {@code length = k_blocks * block_size * bits / 8}; the array is reused. */
        void accept(int n, byte[] bytes, int length);
    }

    /** Quantizes with float32 scales (an fp32-compute graph). */
    public static QuantizedLinear quantize(String name, int n, int k, FloatRowSource weight, QuantScheme scheme) {
        return quantize(name, n, k, weight, scheme, ScaleType.FLOAT32);
    }

    /**
     * Quantizes weight {@code name}, HF layout {@code [n = out, k = in]}, reading it row by row, and keeps every
     * output in the heap (about {@code n * k * bits / 8} bytes).
     *
     * @throws IllegalArgumentException on bad shapes, or a NaN/infinite weight (named by tensor, row and column)
     */
    public static QuantizedLinear quantize(
            String name, int n, int k, FloatRowSource weight, QuantScheme scheme, ScaleType scaleType) {
        checkShape(name, n, k, scheme);
        int rowBytes = scheme.kBlocks(k) * scheme.bits().blobBytes(scheme.blockSize());
        byte[] packed = new byte[Math.multiplyExact(n, rowBytes)]; // [N, k_blocks, blob]
        QuantizedLinear streamed = quantizeStreaming(
                name,
                n,
                k,
                weight,
                scheme,
                scaleType,
                (row, bytes, length) -> System.arraycopy(bytes, 0, packed, row * rowBytes, length));
        return streamed.withPacked(packed);
    }

    /**
     * Quantizes like {@link #quantize} but hands each packed row of {@code B} to {@code packedRows} as soon as it
     * is made, so that only one row of the weight is ever in the heap; the result holds the scales and zero
     * points (1/4 to 1/8 of B's size) and not B ({@link QuantizedLinear#hasPackedInMemory()} is false).
     */
    public static QuantizedLinear quantizeStreaming(
            String name,
            int n,
            int k,
            FloatRowSource weight,
            QuantScheme scheme,
            ScaleType scaleType,
            PackedRowSink packedRows) {
        checkShape(name, n, k, scheme);
        Objects.requireNonNull(weight, "weight rows of " + name);
        Objects.requireNonNull(scaleType, "scale type for " + name);
        Objects.requireNonNull(packedRows, "sink for the packed rows of " + name);
        QuantBits bits = scheme.bits();
        int blockSize = scheme.blockSize();
        int kBlocks = scheme.kBlocks(k);
        int blobBytes = bits.blobBytes(blockSize);
        int zpBytesPerRow = bits.zeroPointBytesPerRow(kBlocks);

        byte[] packedRow = new byte[kBlocks * blobBytes]; // [k_blocks, blob] of one row
        ByteBuffer scales = ByteBuffer.allocate(Math.multiplyExact(n * kBlocks, scaleType.bytes()))
                .order(ByteOrder.LITTLE_ENDIAN); // [N, k_blocks]
        byte[] zeroPoints = scheme.symmetry().hasZeroPoints()
                ? new byte[Math.multiplyExact(n, zpBytesPerRow)]
                : null; // [N, ceil(k_blocks * bits / 8)]

        float[] row = new float[k];
        int codesPerByte = bits.codesPerByte();
        int maxCode = bits.maxCode();
        int midCode = bits.midCode();
        for (int r = 0; r < n; r++) {
            weight.readRow(r, row);
            for (int i = 0; i < k; i++) {
                float v = row[i];
                if (!Float.isFinite(v)) {
                    throw new IllegalArgumentException("Weight '" + name + "' has " + v + " at [" + r + ", " + i
                            + "]; quantization needs finite weights: check the checkpoint file for corruption");
                }
                if (scaleType == ScaleType.FLOAT16) {
                    row[i] = scaleType.round(v);
                }
            }
            for (int b = 0; b < kBlocks; b++) {
                int start = b * blockSize;
                int end = Math.min(start + blockSize, k);
                float min = Float.MAX_VALUE;
                float max = -Float.MAX_VALUE;
                for (int i = start; i < end; i++) {
                    float v = row[i];
                    if (v < min) {
                        min = v;
                    }
                    if (v > max) {
                        max = v;
                    }
                }

                float rawScale;
                int zeroPoint;
                if (scheme.symmetry() == Symmetry.SYMMETRIC) {
                    float m = Math.abs(max) > Math.abs(min) ? max : min;
                    rawScale = -m / midCode;
                    zeroPoint = midCode;
                } else {
                    min = Math.min(min, 0f);
                    max = Math.max(max, 0f);
                    rawScale = (max - min) / maxCode;
                    float zeroPointFloat = rawScale != 0f ? 0f - min / rawScale : min;
                    zeroPoint = zeroPointFloat < 0f
                            ? 0
                            : zeroPointFloat > maxCode ? maxCode : (int) roundHalfAwayFromZero(zeroPointFloat);
                    int zpIndex = r * zpBytesPerRow + b / codesPerByte;
                    zeroPoints[zpIndex] |= (byte) (zeroPoint << ((b % codesPerByte) * bits.bits()));
                }

                float scale = scaleType.round(rawScale);
                int scaleIndex = r * kBlocks + b;
                if (scaleType == ScaleType.FLOAT32) {
                    scales.putFloat(scaleIndex * 4, scale);
                } else {
                    scales.putShort(scaleIndex * 2, Half.fromFloat(scale));
                }

                float reciprocal = scale != 0f ? 1.0f / scale : 0f;
                int blobBase = b * blobBytes;
                if (codesPerByte == 2) {
                    for (int i = 0; i < blockSize; i += 2) {
                        int low = code(start + i < end ? row[start + i] : 0f, reciprocal, zeroPoint, maxCode);
                        int high = code(start + i + 1 < end ? row[start + i + 1] : 0f, reciprocal, zeroPoint, maxCode);
                        packedRow[blobBase + (i >> 1)] = (byte) (low | high << 4); // first element, low nibble
                    }
                } else {
                    for (int i = 0; i < blockSize; i++) {
                        packedRow[blobBase + i] =
                                (byte) code(start + i < end ? row[start + i] : 0f, reciprocal, zeroPoint, maxCode);
                    }
                }
            }
            packedRows.accept(r, packedRow, packedRow.length);
        }
        return new QuantizedLinear(name, n, k, scheme, scaleType, null, scales.array(), zeroPoints);
    }

    private static void checkShape(String name, int n, int k, QuantScheme scheme) {
        Objects.requireNonNull(name, "weight name");
        Objects.requireNonNull(scheme, "quantization scheme for " + name);
        if (n < 1 || k < 1) {
            throw new IllegalArgumentException("Cannot quantize '" + name + "' with shape [N=" + n + ", K=" + k
                    + "]: both must be at least 1 (an nn.Linear weight [out_features, in_features], e.g. [704, 256])");
        }
        long packedBytes = (long) n * scheme.kBlocks(k) * scheme.bits().blobBytes(scheme.blockSize());
        if (packedBytes > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("Weight '" + name + "' [N=" + n + ", K=" + k + "] packs to "
                    + packedBytes + " bytes, over the 2 GiB a single tensor may hold; split it along N");
        }
    }

    /**
     * {@code clamp(roundf(v * reciprocal + zeroPoint), 0, maxCode)}. Below 0.5 the C expression rounds to 0 or
     * less and clamps to 0; from 0.5 up, {@code roundf(x) = floor(x + 0.5)}, exact in double.
     */
    static int code(float v, float reciprocal, int zeroPoint, int maxCode) {
        float x = v * reciprocal + zeroPoint;
        if (!(x >= 0.5f)) {
            return 0;
        }
        long rounded = (long) (x + 0.5d);
        return rounded > maxCode ? maxCode : (int) rounded;
    }

    /** C {@code roundf}: to nearest, ties away from zero (Java's {@code Math.round} ties toward +infinity). */
    static float roundHalfAwayFromZero(float x) {
        return (float) Math.copySign(Math.floor(Math.abs((double) x) + 0.5), x);
    }
}
