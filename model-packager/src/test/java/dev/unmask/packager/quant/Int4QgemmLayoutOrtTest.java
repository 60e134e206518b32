package dev.unmask.packager.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.unmask.packager.arch.GraphBuilder;
import dev.unmask.packager.onnx.ExternalDataWriter;
import dev.unmask.packager.onnx.OnnxGraph;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code int4:qgemm}'s current layout (native {@code INT4} codes, {@code Cast} · scales, {@code QuantizeLinear}) is
 * only faster to load than the first one (nibble unpacking and requantizing by ~17 nodes per projection,
 * {@link FirstInt4QgemmLayout}), never different: both are folded by ONNX Runtime itself (the session's real
 * constant folding, ALL_OPT as the engine opens packages) and must hand {@code DynamicQuantizeMatMul} the same int8
 * codes, the same per-channel scales and so the same product, bit for bit; and those codes are the documented
 * formula {@code round_half_even(((c − 8) · scale) / cscale)}, computed here in Java.
 */
class Int4QgemmLayoutOrtTest {

    private static final int M = 3; // rows of activations
    private static final int N = 7; // output features, odd on purpose
    private static final int ZERO_ROW = 4; // a row of zeros: scale 0, codes 0, not NaN

    @TempDir
    Path dir;

    static Stream<Arguments> layouts() {
        List<Arguments> cases = new ArrayList<>();
        for (int block : new int[] {32, 64, 128}) {
            for (int k : new int[] {256, 200, 17}) { // a multiple of every block, and two that are not (padding)
                cases.add(Arguments.of(block, k));
            }
        }
        return cases.stream();
    }

    /** What ORT folded B and the scales into, and the product. */
    record Folded(byte[] codes, float[] channelScales, float[] y) {}

    @ParameterizedTest(name = "block={0} K={1}")
    @MethodSource("layouts")
    void theSignedInt4LayoutFoldsIntoTheFirstLayoutsInt8CodesScalesAndProduct(int block, int k) throws Exception {
        QuantScheme scheme = QuantScheme.parse("int4:block=" + block + ":qgemm");
        float[] w = BlockQuantizerTest.randomWeights(N, k, 1000L * block + k);
        java.util.Arrays.fill(w, ZERO_ROW * k, (ZERO_ROW + 1) * k, 0f);
        float[] a = new float[M * k];
        Random random = new Random(k);
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) random.nextGaussian();
        }

        Folded first = fold(
                "first",
                k,
                a,
                graph -> FirstInt4QgemmLayout.linearFromBlocks(
                        graph,
                        "proj",
                        "A",
                        QuantizedWeights.write(
                                graph.data(),
                                graph::addInitializer,
                                "w",
                                N,
                                k,
                                FloatRowSource.of(w, k),
                                scheme,
                                ScaleType.FLOAT32)));
        Folded now = fold(
                "now",
                k,
                a,
                graph -> ChannelInt8Weights.linearFromSignedInt4(
                        graph,
                        "proj",
                        "A",
                        QuantizedWeights.writeSignedInt4(
                                graph.data(), graph::addInitializer, "w", N, k, FloatRowSource.of(w, k), scheme)));

        assertArrayEquals(first.codes(), now.codes(), "int8 codes [K, N]");
        assertArrayEquals(first.channelScales(), now.channelScales(), "per-channel scales [N]");
        assertArrayEquals(first.y(), now.y(), "A · Bᵀ");

        // the formula, from MatMulNBits' own codes and block scales
        QuantizedLinear q = BlockQuantizer.quantize("w", N, k, FloatRowSource.of(w, k), scheme);
        float[] channelScales = ChannelInt8Weights.channelScales(q);
        byte[] expected = new byte[k * N];
        for (int n = 0; n < N; n++) {
            for (int col = 0; col < k; col++) {
                float dequantized = (q.code(n, col) - 8) * q.scale(n, col / block);
                expected[col * N + n] = (byte) Math.rint(dequantized / channelScales[n]);
            }
        }
        assertArrayEquals(expected, now.codes(), "round_half_even(((c - 8) * scale) / cscale)");
        assertEquals(Float.MIN_NORMAL, now.channelScales()[ZERO_ROW], "a zero row keeps a positive scale");
    }

    /** A one-projection model built by {@code linear}, with B and the scales as extra outputs, run once in ORT. */
    private Folded fold(String name, int k, float[] a, Function<OnnxGraph, String> linear) throws Exception {
        Path folder = Files.createDirectories(dir.resolve(name));
        OnnxGraph graph;
        try (ExternalDataWriter data = new ExternalDataWriter(
                folder.resolve(ExternalDataWriter.DATA_FILE), ExternalDataWriter.DEFAULT_THRESHOLD_BYTES)) {
            graph = new OnnxGraph(name, data);
            graph.input("A", DataType.FLOAT, M, k);
            String y = linear.apply(graph);
            NodeProto matMul = graph.proto().getNodeList().stream()
                    .filter(n -> n.getOpType().equals(ChannelInt8Weights.OP_TYPE))
                    .findFirst()
                    .orElseThrow();
            graph.proto().addNode(identity(y, "Y"));
            graph.output("Y", DataType.FLOAT, M, N);
            graph.proto().addNode(identity(matMul.getInput(1), "B"));
            graph.output("B", DataType.INT8, k, N);
            graph.proto().addNode(identity(matMul.getInput(2), "S"));
            graph.output("S", DataType.FLOAT, N);
        }
        ModelProto model = ModelProto.newBuilder()
                .setIrVersion(GraphBuilder.IR_VERSION)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(GraphBuilder.OPSET))
                .addOpsetImport(MatMulNBits.opsetImport())
                .setGraph(graph.proto())
                .build();
        Path file = folder.resolve("model.onnx");
        Files.write(file, model.toByteArray());
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT); // as the engine: folds
            try (OrtSession session = env.createSession(file.toString(), options);
                    OnnxTensor input = OnnxTensor.createTensor(env, FloatBuffer.wrap(a), new long[] {M, k});
                    OrtSession.Result result = session.run(Map.of("A", input))) {
                ByteBuffer codes = ((OnnxTensor) result.get("B").orElseThrow()).getByteBuffer();
                byte[] b = new byte[codes.remaining()];
                codes.get(b);
                return new Folded(b, floats((OnnxTensor) result.get("S").orElseThrow()), floats((OnnxTensor)
                        result.get("Y").orElseThrow()));
            }
        }
    }

    private static float[] floats(OnnxTensor t) {
        FloatBuffer buffer = t.getFloatBuffer();
        float[] values = new float[buffer.remaining()];
        buffer.get(values);
        return values;
    }

    private static NodeProto identity(String input, String output) {
        return NodeProto.newBuilder()
                .setOpType("Identity")
                .setName("out_" + output)
                .addInput(input)
                .addOutput(output)
                .build();
    }
}
