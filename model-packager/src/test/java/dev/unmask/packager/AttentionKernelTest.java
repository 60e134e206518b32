package dev.unmask.packager;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.unmask.format.GraphSignature;
import dev.unmask.packager.arch.AttentionKernel;
import dev.unmask.packager.arch.GraphOptions;
import dev.unmask.packager.onnx.WeightFormat;
import dev.unmask.packager.pack.ConvertRequest;
import dev.unmask.packager.pack.PackageWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code convert --attention mha} writes the layers' attention as {@code com.microsoft.MultiHeadAttention} over K/V
 * repeated to every query head (the kernel ONNX Runtime 1.23's CUDA provider has), and the default ({@code onnx}) as
 * ONNX {@code Attention}: two operators, one prediction.
 */
class AttentionKernelTest {

    @TempDir
    Path tmp;

    @Test
    void theMultiHeadKernelRepeatsKeysAndValuesAndPredictsWhatTheOnnxKernelPredicts() throws Exception {
        Path checkpoint = RandomLlada.write(tmp.resolve("random-llada"), 7);
        Path onnx = convert(checkpoint, AttentionKernel.ONNX);
        Path mha = convert(checkpoint, AttentionKernel.MULTI_HEAD);

        List<NodeProto> nodes = ModelProto.parseFrom(Files.readAllBytes(mha.resolve("model.onnx")))
                .getGraph()
                .getNodeList();
        assertEquals(
                RandomLlada.LAYERS,
                nodes.stream()
                        .filter(n -> n.getOpType().equals("MultiHeadAttention"))
                        .count());
        assertEquals(
                0, nodes.stream().filter(n -> n.getOpType().equals("Attention")).count());
        assertEquals(
                2L * RandomLlada.LAYERS,
                nodes.stream()
                        .filter(n ->
                                n.getOpType().equals("Expand") && n.getName().startsWith("/layers."))
                        .count(),
                "K and V repeated per layer");

        float[] expected = logits(onnx);
        float[] got = logits(mha);
        double worst = 0;
        for (int row = 0; row < 2; row++) {
            for (int p = 0; p < GroupedQueryAttentionTest.LENGTH; p++) {
                if (GroupedQueryAttentionTest.MASK[row][p] == 0) {
                    continue; // a padded query's prediction is never read
                }
                for (int v = 0; v < RandomLlada.VOCAB; v++) {
                    int i = (row * GroupedQueryAttentionTest.LENGTH + p) * RandomLlada.VOCAB + v;
                    worst = Math.max(worst, Math.abs(expected[i] - got[i]));
                }
            }
        }
        assertTrue(worst < 1e-4, "the two kernels' logits differ by " + worst);
    }

    @Test
    void anUnknownKernelIsRefusedWithTheNamesThatWork() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AttentionKernel.parse("flash"));
        assertTrue(e.getMessage().contains("onnx, mha"), e.getMessage());
        assertEquals(AttentionKernel.MULTI_HEAD, AttentionKernel.parse(" MHA "));
    }

    private Path convert(Path checkpoint, AttentionKernel kernel) {
        Path out = tmp.resolve("pkg-" + kernel.cliName());
        new PackageWriter(s -> {}, Progress.NONE)
                .convert(ConvertRequest.of(
                        checkpoint,
                        out,
                        GraphOptions.of(WeightFormat.FP32).withFullLogits(true).withAttention(kernel)));
        return out;
    }

    /** The full forward's logits over both padded rows of the canvas, the head at every position: [2, L, V]. */
    private static float[] logits(Path pkg) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        int length = GroupedQueryAttentionTest.LENGTH;
        long[] positions = CachedForwardTest.range(0, length);
        Map<String, OnnxTensor> in = new HashMap<>();
        List<OnnxTensor> owned = new ArrayList<>();
        try (OrtSession session = env.createSession(pkg.resolve("model.onnx").toString())) {
            GroupedQueryAttentionTest.put(
                    in,
                    owned,
                    GraphSignature.INPUT_IDS,
                    OnnxTensor.createTensor(env, GroupedQueryAttentionTest.CANVAS));
            GroupedQueryAttentionTest.put(
                    in,
                    owned,
                    GraphSignature.ATTENTION_MASK,
                    OnnxTensor.createTensor(env, GroupedQueryAttentionTest.MASK));
            GroupedQueryAttentionTest.put(
                    in, owned, GraphSignature.POSITION_IDS, OnnxTensor.createTensor(env, new long[][] {
                        positions, positions
                    }));
            GroupedQueryAttentionTest.put(
                    in, owned, GraphSignature.HEAD_POSITIONS, OnnxTensor.createTensor(env, new long[][] {
                        positions, positions
                    }));
            for (int layer = 0; layer < RandomLlada.LAYERS; layer++) {
                GroupedQueryAttentionTest.put(in, owned, GraphSignature.pastKey(layer), pastOfNone(env));
                GroupedQueryAttentionTest.put(in, owned, GraphSignature.pastValue(layer), pastOfNone(env));
            }
            try (OrtSession.Result r = session.run(in, Set.of(GraphSignature.LOGITS))) {
                return CachedForwardTest.floats(r, GraphSignature.LOGITS);
            }
        } finally {
            owned.forEach(OnnxTensor::close);
        }
    }

    private static OnnxTensor pastOfNone(OrtEnvironment env) throws Exception {
        return OnnxTensor.createTensor(
                env, java.nio.FloatBuffer.allocate(0), new long[] {2, 0, GroupedQueryAttentionTest.KV_DIM});
    }
}
