package dev.unmask.packager.quant;

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
import ai.onnxruntime.OrtSession;
import com.google.protobuf.ByteString;
import dev.unmask.packager.checkpoint.Half;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model exported elsewhere: an fp32 weight stored as {@code float_data}, then an fp16 sub-graph whose fp16 weight
 * feeds MatMul directly, and an activation-by-activation MatMul. Quantizing turns exactly the two weight MatMuls into
 * MatMulNBits (float32 scales for the first, float16 for the second) and the result still computes the same function.
 */
class OnnxModelQuantizerTest {

    private static final int M = 4;
    private static final int K = 200;
    private static final int H = 48;
    private static final int N = 5;

    @TempDir
    Path tmp;

    @Test
    void weightMatMulsBecomeMatMulNBitsAndTheModelStillComputesTheSameFunction() throws Exception {
        Random random = new Random(3);
        float[] w1 = gaussian(random, K * H, 0.05f); // stored [K, H] = Wᵀ
        float[] w2 = gaussian(random, H * N, 0.2f); // stored [H, N], fp16
        Path original = tmp.resolve("in/model.onnx");
        Files.createDirectories(original.getParent());
        Files.write(original, model(w1, w2).toByteArray());
        Path outDir = Files.createDirectories(tmp.resolve("out"));

        OnnxModelQuantizer.Result result =
                new OnnxModelQuantizer(QuantScheme.parse("int8:acc=0"), HeadPrecision.SAME).quantize(original, outDir);

        assertEquals(2, result.quantized());
        ModelProto q = ModelProto.parseFrom(Files.readAllBytes(outDir.resolve("model.onnx")));
        List<NodeProto> nbits = q.getGraph().getNodeList().stream()
                .filter(n -> n.getOpType().equals("MatMulNBits"))
                .toList();
        assertEquals(2, nbits.size());
        assertEquals(
                1,
                q.getGraph().getNodeList().stream()
                        .filter(n -> n.getOpType().equals("MatMul"))
                        .count(),
                "the activation x activation MatMul is left alone");
        Map<String, Integer> scaleTypes = new java.util.HashMap<>();
        for (TensorProto t : q.getGraph().getInitializerList()) {
            scaleTypes.put(t.getName(), t.getDataType());
        }
        assertEquals(TensorProto.DataType.FLOAT_VALUE, scaleTypes.get("w1_scales"));
        assertEquals(TensorProto.DataType.FLOAT16_VALUE, scaleTypes.get("w2_scales"), "fp16 graph, fp16 scales");
        assertTrue(!scaleTypes.containsKey("w1") && !scaleTypes.containsKey("w2"), "float weights dropped");

        float[] a = gaussian(random, M * K, 1f);
        float[] expected = run(original, a);
        float[] actual = run(outDir.resolve("model.onnx"), a);
        double worst = 0;
        double scale = 0;
        for (int i = 0; i < expected.length; i++) {
            worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
            scale = Math.max(scale, Math.abs(expected[i]));
        }
        assertTrue(worst <= 0.02 * scale, "int8 weights move the output by " + worst + " of " + scale);
    }

    /**
     * The head is the MatMul reading the value the graph records as the sampling head's input, wherever it is in the
     * graph; without that record, the last weight MatMul (an exported LM's lm_head).
     */
    @Test
    void theHeadIsTheMatMulTheGraphRecordsElseTheLastWeightMatMul() throws Exception {
        Random random = new Random(5);
        ModelProto plain = model(gaussian(random, K * H, 0.05f), gaussian(random, H * N, 0.2f));
        ModelProto recorded = plain.toBuilder()
                .addMetadataProps(dev.unmask.packager.onnx.GraphMetadata.entry(
                        dev.unmask.packager.onnx.GraphMetadata.SAMPLING_HEAD_INPUT, "A"))
                .build();

        assertEquals(List.of("mm1"), floatMatMulsLeftWithAFloatHead(recorded, "recorded"), "the recorded head reads A");
        assertEquals(
                List.of("mm2"), floatMatMulsLeftWithAFloatHead(plain, "plain"), "no record: the last weight MatMul");
    }

    private List<String> floatMatMulsLeftWithAFloatHead(ModelProto model, String name) throws Exception {
        Path in = Files.createDirectories(tmp.resolve(name + "-in")).resolve("model.onnx");
        Files.write(in, model.toByteArray());
        Path out = Files.createDirectories(tmp.resolve(name + "-out"));
        new OnnxModelQuantizer(QuantScheme.parse("int8:acc=0"), HeadPrecision.FLOAT).quantize(in, out);
        return ModelProto.parseFrom(Files.readAllBytes(out.resolve("model.onnx"))).getGraph().getNodeList().stream()
                .filter(n -> n.getOpType().equals("MatMul") && !n.getName().equals("gram"))
                .map(NodeProto::getName)
                .toList();
    }

    /** Y = (Cast16(A · W1) · W2_fp16) · (Cast16(A · W1) · W2_fp16)ᵀ, as float32. */
    private static ModelProto model(float[] w1, float[] w2) {
        TensorProto.Builder t1 = TensorProto.newBuilder()
                .setName("w1")
                .setDataType(TensorProto.DataType.FLOAT_VALUE)
                .addDims(K)
                .addDims(H);
        for (float v : w1) {
            t1.addFloatData(v);
        }
        ByteBuffer half = ByteBuffer.allocate(w2.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : w2) {
            half.putShort(Half.fromFloat(v));
        }
        TensorProto t2 = TensorProto.newBuilder()
                .setName("w2")
                .setDataType(TensorProto.DataType.FLOAT16_VALUE)
                .addDims(H)
                .addDims(N)
                .setRawData(ByteString.copyFrom(half.array()))
                .build();
        GraphProto graph = GraphProto.newBuilder()
                .setName("exported")
                .addInput(value("A", TensorProto.DataType.FLOAT, M, K))
                .addOutput(value("Y", TensorProto.DataType.FLOAT, M, M))
                .addInitializer(t1)
                .addInitializer(t2)
                .addNode(node("MatMul", "mm1", List.of("A", "w1"), "h"))
                .addNode(cast("h", "h16", TensorProto.DataType.FLOAT16))
                .addNode(node("MatMul", "mm2", List.of("h16", "w2"), "z16"))
                .addNode(node("Transpose", "t", List.of("z16"), "z16t"))
                .addNode(node("MatMul", "gram", List.of("z16", "z16t"), "y16"))
                .addNode(cast("y16", "Y", TensorProto.DataType.FLOAT))
                .build();
        return ModelProto.newBuilder()
                .setIrVersion(8)
                .setGraph(graph)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17))
                .build();
    }

    private static float[] run(Path model, float[] a) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions();
                OrtSession session = env.createSession(model.toString(), options);
                OnnxTensor input = OnnxTensor.createTensor(env, FloatBuffer.wrap(a), new long[] {M, K});
                OrtSession.Result result = session.run(Map.of("A", input))) {
            FloatBuffer out = ((OnnxTensor) result.get(0)).getFloatBuffer();
            float[] values = new float[out.remaining()];
            out.get(values);
            return values;
        }
    }

    private static float[] gaussian(Random random, int count, float std) {
        float[] v = new float[count];
        for (int i = 0; i < count; i++) {
            v[i] = (float) random.nextGaussian() * std;
        }
        return v;
    }

    private static NodeProto node(String op, String name, List<String> inputs, String output) {
        return NodeProto.newBuilder()
                .setOpType(op)
                .setName(name)
                .addAllInput(inputs)
                .addOutput(output)
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

    private static ValueInfoProto value(String name, TensorProto.DataType type, long... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (long d : dims) {
            shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return ValueInfoProto.newBuilder()
                .setName(name)
                .setType(TypeProto.newBuilder()
                        .setTensorType(TypeProto.Tensor.newBuilder()
                                .setElemType(type.getNumber())
                                .setShape(shape)))
                .build();
    }
}
