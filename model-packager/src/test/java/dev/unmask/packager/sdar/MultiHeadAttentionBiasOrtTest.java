package dev.unmask.packager.sdar;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
import dev.unmask.packager.arch.TransformerOps;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The operator question the block-causal graph rests on, asked of ONNX Runtime itself: does the CPU kernel of
 * {@code com.microsoft.MultiHeadAttention} apply a 2-D {@code key_padding_mask [B, T]} and an additive
 * {@code attention_bias [B, 1, S, T]} together, with fewer queries than keys (a cached step: S fresh tokens, T = past +
 * S keys)? One MHA node, checked against softmax(q·kᵀ/√hd + bias) over the unpadded keys computed here. It does (ORT
 * 1.23), so the graph keeps padding in the mask and the block structure in the bias instead of folding both into one.
 */
class MultiHeadAttentionBiasOrtTest {

    static final int B = 2, S = 3, T = 7, H = 2, HD = 4;

    @TempDir
    Path dir;

    @Test
    void keyPaddingMaskAndAttentionBiasApplyTogetherWithFewerQueriesThanKeys() throws Exception {
        Random rnd = new Random(7);
        float[] q = gaussian(rnd, B * S * H * HD), k = gaussian(rnd, B * T * H * HD), v = gaussian(rnd, B * T * H * HD);
        int[] padding = {1, 1, 1, 1, 1, 1, 1, /* row 1: two padded keys, one in the middle */ 1, 0, 1, 1, 1, 0, 1};
        float[] bias = new float[B * S * T];
        for (int i = 0; i < bias.length; i++) { // a mix of masked scores and real additive biases
            bias[i] = rnd.nextInt(3) == 0 ? TransformerOps.MASKED_SCORE : (float) rnd.nextGaussian();
        }
        for (int b = 0; b < B; b++) {
            for (int s = 0; s < S; s++) {
                bias[(b * S + s) * T + s + (T - S)] = 0f; // every query keeps at least its own key
            }
        }
        float[] actual = run(q, k, v, padding, bias);
        float[] expected = reference(q, k, v, padding, bias);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 1e-5, "output " + i);
        }
    }

    private float[] run(float[] q, float[] k, float[] v, int[] padding, float[] bias) throws Exception {
        NodeProto mha = NodeProto.newBuilder()
                .setOpType("MultiHeadAttention")
                .setDomain("com.microsoft")
                .setName("mha")
                .addInput("q")
                .addInput("k")
                .addInput("v")
                .addInput("")
                .addInput("mask")
                .addInput("bias")
                .addOutput("y")
                .addAttribute(intAttr("num_heads", H))
                .addAttribute(intAttr("unidirectional", 0))
                .addAttribute(AttributeProto.newBuilder()
                        .setName("scale")
                        .setType(AttributeProto.AttributeType.FLOAT)
                        .setF((float) (1 / Math.sqrt(HD))))
                .build();
        GraphProto graph = GraphProto.newBuilder()
                .setName("mha_bias_check")
                .addNode(mha)
                .addInput(value("q", TensorProto.DataType.FLOAT, B, S, H * HD))
                .addInput(value("k", TensorProto.DataType.FLOAT, B, T, H * HD))
                .addInput(value("v", TensorProto.DataType.FLOAT, B, T, H * HD))
                .addInput(value("mask", TensorProto.DataType.INT32, B, T))
                .addInput(value("bias", TensorProto.DataType.FLOAT, B, 1, S, T))
                .addOutput(value("y", TensorProto.DataType.FLOAT, B, S, H * HD))
                .build();
        ModelProto model = ModelProto.newBuilder()
                .setIrVersion(10)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(21))
                .addOpsetImport(OperatorSetIdProto.newBuilder()
                        .setDomain("com.microsoft")
                        .setVersion(1))
                .setGraph(graph)
                .build();
        Path file = dir.resolve("mha.onnx");
        Files.write(file, model.toByteArray());
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession session = env.createSession(file.toString(), new OrtSession.SessionOptions());
                OnnxTensor tq = OnnxTensor.createTensor(env, FloatBuffer.wrap(q), new long[] {B, S, H * HD});
                OnnxTensor tk = OnnxTensor.createTensor(env, FloatBuffer.wrap(k), new long[] {B, T, H * HD});
                OnnxTensor tv = OnnxTensor.createTensor(env, FloatBuffer.wrap(v), new long[] {B, T, H * HD});
                OnnxTensor tm = OnnxTensor.createTensor(env, IntBuffer.wrap(padding), new long[] {B, T});
                OnnxTensor tb = OnnxTensor.createTensor(env, FloatBuffer.wrap(bias), new long[] {B, 1, S, T});
                OrtSession.Result r = session.run(Map.of("q", tq, "k", tk, "v", tv, "mask", tm, "bias", tb))) {
            FloatBuffer y = ((OnnxTensor) r.get(0)).getFloatBuffer();
            float[] out = new float[y.remaining()];
            y.get(out);
            return out;
        }
    }

    /** softmax over the unpadded keys of (q·k)/√hd + bias, per head; layout [B, tokens, H·hd]. */
    private static float[] reference(float[] q, float[] k, float[] v, int[] padding, float[] bias) {
        float[] out = new float[B * S * H * HD];
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < H; h++) {
                for (int s = 0; s < S; s++) {
                    double[] w = new double[T];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int t = 0; t < T; t++) {
                        if (padding[b * T + t] == 0) {
                            w[t] = Double.NEGATIVE_INFINITY;
                            continue;
                        }
                        double dot = 0;
                        for (int e = 0; e < HD; e++) {
                            dot += q[((b * S + s) * H + h) * HD + e] * k[((b * T + t) * H + h) * HD + e];
                        }
                        w[t] = dot / Math.sqrt(HD) + bias[(b * S + s) * T + t];
                        max = Math.max(max, w[t]);
                    }
                    double z = 0;
                    for (int t = 0; t < T; t++) {
                        w[t] = Math.exp(w[t] - max);
                        z += w[t];
                    }
                    for (int t = 0; t < T; t++) {
                        for (int e = 0; e < HD; e++) {
                            out[((b * S + s) * H + h) * HD + e] +=
                                    (float) (w[t] / z * v[((b * T + t) * H + h) * HD + e]);
                        }
                    }
                }
            }
        }
        return out;
    }

    private static float[] gaussian(Random rnd, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) rnd.nextGaussian();
        }
        return a;
    }

    private static AttributeProto intAttr(String name, long value) {
        return AttributeProto.newBuilder()
                .setName(name)
                .setType(AttributeProto.AttributeType.INT)
                .setI(value)
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
