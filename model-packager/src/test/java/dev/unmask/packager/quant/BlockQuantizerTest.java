package dev.unmask.packager.quant;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.TensorProto;
import dev.unmask.packager.checkpoint.Half;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class BlockQuantizerTest {

    private static final QuantScheme INT4_SYM = QuantScheme.parse("int4:block=32:sym:acc=0");
    private static final QuantScheme INT4_ASYM = QuantScheme.parse("int4:block=32:asym:acc=0");
    private static final QuantScheme INT8_SYM = QuantScheme.parse("int8:block=32:sym:acc=0");

    @Test
    void int4CodesArePackedAlongKWithTheFirstElementInTheLowNibble() {
        // w[k] = k % 16 - 8: the largest magnitude is -8, so scale = 8 / 8 = 1 and code = w + 8 = k % 16
        float[] w = new float[32];
        for (int k = 0; k < 32; k++) {
            w[k] = k % 16 - 8;
        }
        QuantizedLinear q = BlockQuantizer.quantize("w", 1, 32, FloatRowSource.of(w, 32), INT4_SYM);

        byte[] expected = new byte[16];
        for (int i = 0; i < 16; i++) {
            int first = (2 * i) % 16;
            expected[i] = (byte) (first | (first + 1) << 4); // 0x10, 0x32, ..., 0xFE, 0x10, ...
        }
        assertArrayEquals(expected, bytes(q.packedBytes()));
        assertEquals(1f, q.scale(0, 0));
        assertFalse(q.hasZeroPoints());
    }

    @Test
    void symmetricScaleKeepsTheSignOfTheLargestMagnitudeSoItMapsToCodeZero() {
        float[] w = new float[32];
        w[0] = 4f; // largest magnitude, positive: scale = -4 / 8 = -0.5
        w[1] = -3.9f; // opposite sign: -3.9 / -0.5 + 8 = 15.8, saturates at 15
        w[2] = 1f; // 1 / -0.5 + 8 = 6
        QuantizedLinear q = BlockQuantizer.quantize("w", 1, 32, FloatRowSource.of(w, 32), INT4_SYM);
        assertAll(
                () -> assertEquals(-0.5f, q.scale(0, 0)),
                () -> assertEquals(0, q.code(0, 0)),
                () -> assertEquals(15, q.code(0, 1)),
                () -> assertEquals(6, q.code(0, 2)),
                () -> assertEquals(8, q.code(0, 3)));
    }

    @Test
    void equalMagnitudesOfBothSignsPickTheNegativeOneAsOrtDoes() {
        float[] w = new float[32];
        w[0] = 4f;
        w[1] = -4f; // |max| > |min| is false, so m = min = -4 and scale = +0.5
        QuantizedLinear q = BlockQuantizer.quantize("w", 1, 32, FloatRowSource.of(w, 32), INT4_SYM);
        assertEquals(0.5f, q.scale(0, 0));
        assertEquals(15, q.code(0, 0));
        assertEquals(0, q.code(0, 1));
    }

    @Test
    void int8SymmetricUsesScaleLargestMagnitudeOver128AndImplicitZeroPoint128() {
        float[] w = new float[32];
        for (int k = 0; k < 32; k++) {
            w[k] = -128 + 8 * k; // -128 .. 120, largest magnitude -128: scale = 1, code = w + 128
        }
        QuantizedLinear q = BlockQuantizer.quantize("w", 1, 32, FloatRowSource.of(w, 32), INT8_SYM);
        assertEquals(1f, q.scale(0, 0));
        for (int k = 0; k < 32; k++) {
            assertEquals(8 * k, q.code(0, k));
        }
        assertArrayEquals(new long[] {1, 1, 32}, q.packedShape());
    }

    @Test
    void asymmetricZeroPointsArePackedOnePerBlockLowNibbleFirst() {
        // block 0 spans [0, 15]: min 0, scale 1, zp 0; block 1 spans [-15, 0]: scale 1, zp 15
        float[] w = new float[64];
        for (int k = 0; k < 32; k++) {
            w[k] = k % 16;
            w[32 + k] = -(k % 16);
        }
        QuantizedLinear q = BlockQuantizer.quantize("w", 1, 64, FloatRowSource.of(w, 64), INT4_ASYM);
        assertAll(
                () -> assertArrayEquals(new byte[] {(byte) 0xF0}, bytes(q.zeroPointBytes())),
                () -> assertArrayEquals(new long[] {1, 1}, q.zeroPointsShape()),
                () -> assertEquals(1f, q.scale(0, 0)),
                () -> assertEquals(1f, q.scale(0, 1)),
                () -> assertEquals(7, q.code(0, 7)),
                () -> assertEquals(15 - 7, q.code(0, 32 + 7)));
    }

    @Test
    void asymmetricRangeAlwaysIncludesZero() {
        float[] w = new float[32];
        java.util.Arrays.fill(w, 3f); // min widened to 0: scale 3 / 15 = 0.2, zp 0, code 15
        QuantizedLinear q = BlockQuantizer.quantize("w", 1, 32, FloatRowSource.of(w, 32), INT4_ASYM);
        assertEquals(0.2f, q.scale(0, 0));
        assertEquals(0, q.zeroPoint(0, 0));
        assertEquals(15, q.code(0, 31));
    }

    @Test
    void kIsPaddedUpToTheBlockWithQuantizedZeros() {
        int n = 3;
        int k = 200;
        float[] w = randomWeights(n, k, 7);
        QuantizedLinear q =
                BlockQuantizer.quantize("w", n, k, FloatRowSource.of(w, k), QuantScheme.parse("int4:block=128:asym"));
        assertArrayEquals(new long[] {3, 2, 64}, q.packedShape());
        assertArrayEquals(new long[] {3, 2}, q.scalesShape());
        assertArrayEquals(new long[] {3, 1}, q.zeroPointsShape());
        for (int row = 0; row < n; row++) {
            for (int col = k; col < 256; col++) {
                assertEquals(q.zeroPoint(row, 1), q.code(row, col), "padding at [" + row + ", " + col + "]");
            }
        }
    }

    @Test
    void everyDequantizedWeightIsWithinHalfAStepOfTheOriginal() {
        int n = 5;
        int k = 200;
        float[] w = randomWeights(n, k, 11);
        for (QuantBits bits : QuantBits.values()) {
            for (int blockSize : new int[] {32, 64, 128}) {
                for (Symmetry symmetry : Symmetry.values()) {
                    QuantScheme scheme = new QuantScheme(bits, blockSize, symmetry, AccuracyLevel.UNSET);
                    QuantizedLinear q = BlockQuantizer.quantize("w", n, k, FloatRowSource.of(w, k), scheme);
                    assertWithinQuantizationError(w, q, 0f);
                }
            }
        }
    }

    @Test
    void float16ScalesAreStoredAsHalvesAndStillBoundTheError() {
        int n = 4;
        int k = 96;
        float[] w = randomWeights(n, k, 5);
        QuantizedLinear q = BlockQuantizer.quantize(
                "w", n, k, FloatRowSource.of(w, k), QuantScheme.parse("int4:block=32"), ScaleType.FLOAT16);
        TensorProto scales = q.initializers().get(1);
        assertEquals(TensorProto.DataType.FLOAT16_VALUE, scales.getDataType());
        assertEquals(n * q.kBlocks() * 2, scales.getRawData().size());
        // weights are first rounded to float16, which adds up to 2^-11 relative
        assertWithinQuantizationError(w, q, 0x1p-11f);
    }

    @Test
    void bufferViewsAndBfloat16RowsQuantizeLikeTheArrayTheyHold() {
        int n = 3;
        int k = 64;
        float[] w = randomWeights(n, k, 3);
        ByteBuffer bf16 = ByteBuffer.allocate(n * k * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < w.length; i++) {
            w[i] = Float.intBitsToFloat(Float.floatToIntBits(w[i]) & 0xffff0000); // exactly representable in bf16
            bf16.putShort(i * 2, (short) (Float.floatToIntBits(w[i]) >>> 16));
        }
        byte[] fromArray = bytes(BlockQuantizer.quantize("w", n, k, FloatRowSource.of(w, k), INT4_SYM)
                .packedBytes());
        assertArrayEquals(
                fromArray,
                bytes(BlockQuantizer.quantize("w", n, k, FloatRowSource.of(FloatBuffer.wrap(w), k), INT4_SYM)
                        .packedBytes()));
        assertArrayEquals(
                fromArray,
                bytes(BlockQuantizer.quantize("w", n, k, FloatRowSource.bf16(bf16, k), INT4_SYM)
                        .packedBytes()));
    }

    @Test
    void initializersAndNodeUseOrtQuantizerNamesAndAttributes() {
        float[] w = randomWeights(7, 200, 1);
        QuantizedLinear q = BlockQuantizer.quantize(
                "blocks.0.q_proj.weight",
                7,
                200,
                FloatRowSource.of(w, 200),
                QuantScheme.parse("int8:block=64:asym:acc=int8"));
        List<TensorProto> init = q.initializers();
        assertEquals(
                List.of(
                        "blocks.0.q_proj.weight_Q8",
                        "blocks.0.q_proj.weight_scales",
                        "blocks.0.q_proj.weight_zero_points"),
                init.stream().map(TensorProto::getName).toList());
        assertEquals(List.of(7L, 4L, 64L), init.get(0).getDimsList());
        assertEquals(List.of(7L, 4L), init.get(2).getDimsList());

        var node = q.node("q_proj/MatMulNBits", "x", "q");
        assertEquals("com.microsoft", node.getDomain());
        assertEquals(
                List.of(
                        "x",
                        "blocks.0.q_proj.weight_Q8",
                        "blocks.0.q_proj.weight_scales",
                        "blocks.0.q_proj.weight_zero_points"),
                node.getInputList());
        assertEquals(
                List.of("K=200", "N=7", "bits=8", "block_size=64", "accuracy_level=4"),
                node.getAttributeList().stream()
                        .map(a -> a.getName() + "=" + a.getI())
                        .toList());
        assertEquals(
                q.storedBytes(),
                init.stream().mapToLong(t -> t.getRawData().size()).sum());
    }

    @Test
    void accuracyLevelUnsetIsLeftOutOfTheNodeAsOrtDoes() {
        QuantizedLinear q = BlockQuantizer.quantize("w", 1, 32, FloatRowSource.of(new float[32], 32), INT4_SYM);
        assertTrue(q.node("n", "a", "y").getAttributeList().stream()
                .noneMatch(a -> a.getName().equals("accuracy_level")));
    }

    @Test
    void anAllZeroBlockHasScaleZeroAndDequantizesToZero() {
        QuantizedLinear q = BlockQuantizer.quantize("w", 1, 32, FloatRowSource.of(new float[32], 32), INT4_ASYM);
        float[] row = new float[32];
        q.dequantizeRow(0, row);
        assertArrayEquals(new float[32], row);
        assertEquals(0f, q.scale(0, 0));
    }

    @Test
    void shapesBelowOneAreRejectedWithAnExample() {
        FloatRowSource none = (n, dst) -> {};
        IllegalArgumentException k0 = assertThrows(
                IllegalArgumentException.class,
                () -> BlockQuantizer.quantize("lm_head.weight", 4096, 0, none, INT4_SYM));
        assertTrue(k0.getMessage().contains("lm_head.weight") && k0.getMessage().contains("K=0"), k0.getMessage());
        assertThrows(IllegalArgumentException.class, () -> BlockQuantizer.quantize("w", 0, 32, none, INT4_SYM));
    }

    @Test
    void aNonFiniteWeightIsNamedByTensorRowAndColumn() {
        float[] w = new float[2 * 32];
        w[32 + 5] = Float.NaN;
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> BlockQuantizer.quantize("ff_out.weight", 2, 32, FloatRowSource.of(w, 32), INT4_SYM));
        assertTrue(e.getMessage().contains("ff_out.weight") && e.getMessage().contains("[1, 5]"), e.getMessage());
    }

    @Test
    void roundingIsHalfAwayFromZeroLikeCRoundf() {
        assertAll(
                () -> assertEquals(3f, BlockQuantizer.roundHalfAwayFromZero(2.5f)),
                () -> assertEquals(-3f, BlockQuantizer.roundHalfAwayFromZero(-2.5f)),
                () -> assertEquals(0f, BlockQuantizer.roundHalfAwayFromZero(0.49999997f)),
                () -> assertEquals(2f, BlockQuantizer.roundHalfAwayFromZero(1.5f)));
    }

    @Test
    void codesAreTheCExpressionClampOfRoundfOfVTimesReciprocalPlusZeroPoint() {
        Random random = new Random(2);
        for (int t = 0; t < 200_000; t++) {
            float v = (float) random.nextGaussian() * 3;
            float reciprocal = (float) random.nextGaussian() * 4;
            int maxCode = t % 2 == 0 ? 15 : 255;
            int zeroPoint = random.nextInt(maxCode + 1);
            float c = BlockQuantizer.roundHalfAwayFromZero(v * reciprocal + zeroPoint);
            int expected = (int) Math.max(0f, Math.min(c, (float) maxCode));
            assertEquals(
                    expected,
                    BlockQuantizer.code(v, reciprocal, zeroPoint, maxCode),
                    v + " * " + reciprocal + " + " + zeroPoint);
        }
        assertEquals(1, BlockQuantizer.code(0.5f, 1f, 0, 15), "ties round away from zero");
        assertEquals(0, BlockQuantizer.code(0.49999997f, 1f, 0, 15));
    }

    @Test
    void streamingHandsOutTheSameRowsAndKeepsOnlyScalesAndZeroPoints() {
        int n = 5;
        int k = 200;
        float[] w = randomWeights(n, k, 21);
        QuantScheme scheme = QuantScheme.parse("int4:block=64:asym");
        QuantizedLinear inMemory = BlockQuantizer.quantize("w", n, k, FloatRowSource.of(w, k), scheme);
        java.io.ByteArrayOutputStream rows = new java.io.ByteArrayOutputStream();
        int[] nextRow = {0};
        QuantizedLinear streamed = BlockQuantizer.quantizeStreaming(
                "w", n, k, FloatRowSource.of(w, k), scheme, ScaleType.FLOAT32, (row, bytes, length) -> {
                    assertEquals(nextRow[0]++, row, "rows come in order");
                    assertEquals(4 * 32, length, "k_blocks * block_size * bits / 8");
                    rows.write(bytes, 0, length);
                });
        assertArrayEquals(bytes(inMemory.packedBytes()), rows.toByteArray());
        assertArrayEquals(bytes(inMemory.scaleBytes()), bytes(streamed.scaleBytes()));
        assertArrayEquals(bytes(inMemory.zeroPointBytes()), bytes(streamed.zeroPointBytes()));
        assertEquals(inMemory.storedBytes(), streamed.storedBytes());
        assertFalse(streamed.hasPackedInMemory());
        IllegalStateException e = assertThrows(IllegalStateException.class, streamed::initializers);
        assertTrue(e.getMessage().contains("streamed"), e.getMessage());
    }

    @Test
    void float16ConversionRoundsToNearestEven() {
        assertAll(
                () -> assertEquals((short) 0x3c00, Half.fromFloat(1f)),
                () -> assertEquals((short) 0x7bff, Half.fromFloat(65504f)),
                () -> assertEquals((short) 0x7c00, Half.fromFloat(65520f)),
                () -> assertEquals((short) 0x0001, Half.fromFloat(0x1p-24f)),
                () -> assertEquals((short) 0x0000, Half.fromFloat(0x1p-25f)),
                () -> assertEquals((short) 0x3c00, Half.fromFloat(1f + 0x1p-11f)), // tie to even
                () -> assertEquals((short) 0x3c02, Half.fromFloat(1f + 3 * 0x1p-11f)), // tie to even, up
                () -> assertEquals(0.099975586f, Half.toFloat(Half.fromFloat(0.1f))),
                () -> assertEquals(-2f, Half.toFloat((short) 0xc000)));
    }

    /**
     * |w - dequant(w)| ≤ |scale| / 2 per element; a symmetric block's element of the sign opposite to its
     * largest magnitude may saturate at the top code and is then within one step, while the largest
     * magnitude itself (code 0) comes back exactly.
     */
    static void assertWithinQuantizationError(float[] w, QuantizedLinear q, float inputRounding) {
        float[] row = new float[q.k()];
        int blockSize = q.scheme().blockSize();
        for (int r = 0; r < q.n(); r++) {
            q.dequantizeRow(r, row);
            if (!q.hasZeroPoints()) {
                for (int start = 0; start < q.k(); start += blockSize) {
                    int largest = start;
                    for (int c = start; c < Math.min(start + blockSize, q.k()); c++) {
                        float v = w[r * q.k() + c];
                        float best = w[r * q.k() + largest];
                        if (Math.abs(v) > Math.abs(best) || (Math.abs(v) == Math.abs(best) && v < best)) {
                            largest = c;
                        }
                    }
                    float m = w[r * q.k() + largest];
                    assertTrue(
                            Math.abs(row[largest] - m) <= Math.abs(m) * (1e-6f + 2 * inputRounding),
                            q.scheme() + " [" + r + ", " + largest + "]: the block's largest magnitude " + m
                                    + " came back as " + row[largest]);
                }
            }
            for (int c = 0; c < q.k(); c++) {
                int block = c / q.scheme().blockSize();
                float step = Math.abs(q.scale(r, block));
                boolean saturated =
                        !q.hasZeroPoints() && q.code(r, c) == q.scheme().bits().maxCode();
                float original = w[r * q.k() + c];
                float bound = (saturated ? step : step / 2) * (1 + 1e-5f) + Math.abs(original) * inputRounding + 1e-12f;
                float error = Math.abs(row[c] - original);
                assertTrue(
                        error <= bound,
                        q.scheme() + " [" + r + ", " + c + "]: |" + original + " - " + row[c] + "| = " + error + " > "
                                + bound);
            }
        }
    }

    /** Gaussian weights of a trained linear layer's size (std 0.05) with a few outliers. */
    static float[] randomWeights(int n, int k, long seed) {
        Random random = new Random(seed);
        float[] w = new float[n * k];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (random.nextGaussian() * 0.05);
            if (random.nextInt(50) == 0) {
                w[i] *= 8;
            }
        }
        return w;
    }

    static byte[] bytes(ByteBuffer buffer) {
        ByteBuffer view = buffer.duplicate();
        byte[] out = new byte[view.remaining()];
        view.get(out);
        return out;
    }
}
