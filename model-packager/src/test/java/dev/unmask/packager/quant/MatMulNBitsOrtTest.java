package dev.unmask.packager.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.unmask.packager.checkpoint.Half;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The proof that the Java packing is what ONNX Runtime reads: a one-node MatMulNBits model with the packed
 * constants, run by ORT's CPU kernel at accuracy_level 0, equals {@code A · dequant(B)ᵀ} computed here from
 * the raw initializer bytes by the operator's documented formula.
 */
class MatMulNBitsOrtTest {

    private static final int M = 3; // rows of activations
    private static final int N = 7; // output features, odd on purpose
    private static final double RELATIVE_TOLERANCE = 1e-4;

    @TempDir
    Path dir;

    static Stream<Arguments> schemes() {
        List<Arguments> cases = new ArrayList<>();
        for (QuantBits bits : QuantBits.values()) {
            for (int blockSize : new int[] {32, 64, 128}) {
                for (Symmetry symmetry : Symmetry.values()) {
                    for (int k : new int[] {256, 200, 17}) { // a multiple of every block, and two that are not
                        cases.add(Arguments.of(new QuantScheme(bits, blockSize, symmetry, AccuracyLevel.UNSET), k));
                    }
                }
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} K={1}")
    @MethodSource("schemes")
    void ortMatchesDequantizeThenMultiply(QuantScheme scheme, int k) throws Exception {
        // a String's hash, not the record's: an enum's hashCode (inside the record's) changes from one JVM run to the
        // next
        float[] w = BlockQuantizerTest.randomWeights(
                N, k, 31L * k + scheme.toString().hashCode());
        QuantizedLinear q = BlockQuantizer.quantize("proj.weight", N, k, FloatRowSource.of(w, k), scheme);
        float[] a = activations(M, k, 17);

        float[] dequantized = dequantizeFromInitializers(q.initializers(), scheme, N, k, ScaleType.FLOAT32);
        float[] actual = runOneNodeModel(q, a, k, false);

        assertMatchesReference(a, dequantized, actual, k);
        BlockQuantizerTest.assertWithinQuantizationError(w, q, 0f);
        float[] row = new float[k];
        for (int r = 0; r < N; r++) {
            q.dequantizeRow(r, row);
            assertArrayEquals(
                    java.util.Arrays.copyOfRange(dequantized, r * k, (r + 1) * k),
                    row,
                    "QuantizedLinear.dequantizeRow agrees with the operator formula, row " + r);
        }
    }

    @Test
    void float16ScalesRunInAFloat16Graph() throws Exception {
        int k = 200;
        QuantScheme scheme = QuantScheme.parse("int4:block=64:asym:acc=0");
        float[] w = BlockQuantizerTest.randomWeights(N, k, 99);
        QuantizedLinear q =
                BlockQuantizer.quantize("proj.weight", N, k, FloatRowSource.of(w, k), scheme, ScaleType.FLOAT16);
        float[] a = activations(M, k, 5);
        for (int i = 0; i < a.length; i++) {
            a[i] = Half.toFloat(Half.fromFloat(a[i])); // what the Cast to float16 will see
        }
        float[] dequantized = dequantizeFromInitializers(q.initializers(), scheme, N, k, ScaleType.FLOAT16);
        float[] actual = runOneNodeModel(q, a, k, true);
        // float16 accumulation and output rounding: about 1e-3 relative
        assertMatchesReference(a, dequantized, actual, k, 2e-3);
    }

    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.ValueSource(
            strings = {"int4:block=32:acc=int8", "int8:block=32:acc=int8", "int4:block=128:asym:acc=int8"})
    void int8AccuracyLevelStaysCloseToTheExactResult(String text) throws Exception {
        int k = 256;
        QuantScheme scheme = QuantScheme.parse(text);
        float[] w = BlockQuantizerTest.randomWeights(N, k, 4);
        QuantizedLinear q = BlockQuantizer.quantize("proj.weight", N, k, FloatRowSource.of(w, k), scheme);
        float[] a = activations(M, k, 8);
        float[] dequantized = dequantizeFromInitializers(q.initializers(), scheme, N, k, ScaleType.FLOAT32);
        // int8 activations: ~1/255 of each block's range per element
        assertMatchesReference(a, dequantized, runOneNodeModel(q, a, k, false), k, 2e-2);
    }

    /** Builds {@code Y = MatMulNBits(A)} (wrapped in Casts to and from float16 when asked), runs it in ORT. */
    private float[] runOneNodeModel(QuantizedLinear q, float[] a, int k, boolean float16Graph)
            throws IOException, OrtException {
        GraphProto.Builder graph = GraphProto.newBuilder()
                .setName("matmulnbits_check")
                .addInput(floatValue("A", M, k))
                .addOutput(floatValue("Y", M, N))
                .addAllInitializer(q.initializers());
        if (float16Graph) {
            graph.addNode(cast("A", "A16", TensorProto.DataType.FLOAT16))
                    .addNode(q.node("matmul", "A16", "Y16"))
                    .addNode(cast("Y16", "Y", TensorProto.DataType.FLOAT));
        } else {
            graph.addNode(q.node("matmul", "A", "Y"));
        }
        ModelProto model = ModelProto.newBuilder()
                .setIrVersion(10)
                .setProducerName("unmask-packager-test")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(21))
                .addOpsetImport(MatMulNBits.opsetImport())
                .setGraph(graph)
                .build();
        Path file = dir.resolve("matmulnbits.onnx");
        Files.write(file, model.toByteArray());

        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions();
                OrtSession session = env.createSession(file.toString(), options);
                OnnxTensor input = OnnxTensor.createTensor(env, FloatBuffer.wrap(a), new long[] {M, k});
                OrtSession.Result result = session.run(java.util.Map.of("A", input))) {
            OnnxTensor y = (OnnxTensor) result.get(0);
            assertArrayEquals(new long[] {M, N}, y.getInfo().getShape());
            FloatBuffer out = y.getFloatBuffer();
            float[] values = new float[out.remaining()];
            out.get(values);
            return values;
        }
    }

    /**
     * Reads B, scales and zero points back from the raw initializer bytes by the contrib-op documentation:
     * {@code B[n, b, i * bits / 8]}, low nibble first; zero points {@code [n, b * bits / 8]}, low nibble first,
     * default {@code 2^(bits - 1)}; {@code w = (q - zp) * scale}.
     */
    static float[] dequantizeFromInitializers(
            List<TensorProto> init, QuantScheme scheme, int n, int k, ScaleType scaleType) {
        int bits = scheme.bits().bits();
        int bs = scheme.blockSize();
        int kBlocks = (k + bs - 1) / bs;
        int blob = bs * bits / 8;
        byte[] b = init.get(0).getRawData().toByteArray();
        ByteBuffer scales = init.get(1).getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        byte[] zp = init.size() > 2 ? init.get(2).getRawData().toByteArray() : null;
        int zpPerRow = (kBlocks * bits + 7) / 8;
        assertEquals((long) n * kBlocks * blob, b.length);
        assertEquals((long) n * kBlocks * scaleType.bytes(), scales.remaining());

        float[] w = new float[n * k];
        for (int row = 0; row < n; row++) {
            for (int col = 0; col < k; col++) {
                int block = col / bs;
                int i = col % bs;
                int q;
                int zeroPoint;
                if (bits == 4) {
                    int packed = b[(row * kBlocks + block) * blob + i / 2] & 0xff;
                    q = i % 2 == 0 ? packed & 0x0f : packed >>> 4;
                    zeroPoint = zp == null
                            ? 8
                            : block % 2 == 0
                                    ? zp[row * zpPerRow + block / 2] & 0x0f
                                    : (zp[row * zpPerRow + block / 2] & 0xff) >>> 4;
                } else {
                    q = b[(row * kBlocks + block) * blob + i] & 0xff;
                    zeroPoint = zp == null ? 128 : zp[row * zpPerRow + block] & 0xff;
                }
                int s = row * kBlocks + block;
                float scale =
                        scaleType == ScaleType.FLOAT32 ? scales.getFloat(s * 4) : Half.toFloat(scales.getShort(s * 2));
                w[row * k + col] = (q - zeroPoint) * scale;
            }
        }
        return w;
    }

    private static void assertMatchesReference(float[] a, float[] w, float[] actual, int k) {
        assertMatchesReference(a, w, actual, k, RELATIVE_TOLERANCE);
    }

    /** |y - Σ a·w| ≤ tolerance · Σ |a·w| for every output, the reference in double precision. */
    private static void assertMatchesReference(float[] a, float[] w, float[] actual, int k, double tolerance) {
        assertEquals(M * N, actual.length);
        for (int m = 0; m < M; m++) {
            for (int n = 0; n < N; n++) {
                double sum = 0;
                double magnitude = 0;
                for (int i = 0; i < k; i++) {
                    double product = (double) a[m * k + i] * w[n * k + i];
                    sum += product;
                    magnitude += Math.abs(product);
                }
                double error = Math.abs(actual[m * N + n] - sum);
                // plus the float32 output's own rounding, which no accumulation order avoids
                assertTrue(
                        error <= tolerance * magnitude + 1e-7 + Math.ulp((float) sum),
                        "Y[" + m + ", " + n + "] = " + actual[m * N + n] + ", reference " + sum + ", error " + error
                                + " over " + tolerance + " x " + magnitude);
            }
        }
    }

    private static float[] activations(int m, int k, long seed) {
        Random random = new Random(seed);
        float[] a = new float[m * k];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) random.nextGaussian();
        }
        return a;
    }

    private static ValueInfoProto floatValue(String name, long... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (long d : dims) {
            shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return ValueInfoProto.newBuilder()
                .setName(name)
                .setType(TypeProto.newBuilder()
                        .setTensorType(TypeProto.Tensor.newBuilder()
                                .setElemType(TensorProto.DataType.FLOAT_VALUE)
                                .setShape(shape)))
                .build();
    }

    private static NodeProto cast(String input, String output, TensorProto.DataType to) {
        return NodeProto.newBuilder()
                .setOpType("Cast")
                .setName("cast_" + output)
                .addInput(input)
                .addOutput(output)
                .addAttribute(AttributeProto.newBuilder()
                        .setName("to")
                        .setType(AttributeProto.AttributeType.INT)
                        .setI(to.getNumber()))
                .build();
    }
}
