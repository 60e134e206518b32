package dev.unmask.packager;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.unmask.format.GraphSignature;
import dev.unmask.packager.arch.GraphOptions;
import dev.unmask.packager.onnx.WeightFormat;
import dev.unmask.packager.pack.ConvertRequest;
import dev.unmask.packager.pack.PackageWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The body's grouped-query attention runs without repeating K and V (docs/package-format.md, "How unmask-pack builds
 * the graph"): one ONNX {@code Attention} per layer with {@code q_num_heads = H} and {@code kv_num_heads = Hkv}, and
 * the head computes logsumexp from the softmax it already has. Both are exact rewrites, so a batched, cached, padded
 * forward still predicts what a plain double-precision forward of the whole canvas predicts ({@link
 * RandomLlada#forward}, which repeats each kv head for its query heads, as train.py does).
 */
class GroupedQueryAttentionTest {

    @TempDir
    static Path tmp;

    static OrtEnvironment env;
    static Path checkpoint;
    static Path pkg;
    static OrtSession session;

    static final int KV_DIM = RandomLlada.KV_HEADS * RandomLlada.HD;

    // two rows of one batch; row 1 has 3 padded positions at its end (mask 0), as a shorter request padded to the
    // batch's length
    static final long[][] CANVAS = {
        {0, 17, 3, 3, 200, 45, 3, 99, 3, 3, 120, 7},
        {0, 5, 3, 88, 3, 3, 140, 3, 61, 1, 1, 1}
    };
    static final long[][] MASK = {
        {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
        {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0}
    };
    static final int LENGTH = 12;

    @BeforeAll
    static void convert() throws OrtException {
        env = OrtEnvironment.getEnvironment();
        checkpoint = RandomLlada.write(tmp.resolve("random-llada"), 7);
        pkg = tmp.resolve("pkg");
        new PackageWriter(s -> {}, Progress.NONE)
                .convert(ConvertRequest.of(
                        checkpoint, pkg, GraphOptions.of(WeightFormat.FP32).withFullLogits(true)));
        session = env.createSession(pkg.resolve("model.onnx").toString(), new OrtSession.SessionOptions());
    }

    @AfterAll
    static void close() throws OrtException {
        session.close();
    }

    @Test
    void aGroupedQueryGraphNeitherRepeatsKeysAndValuesNorReducesLogSumExp() throws IOException {
        ModelProto model = ModelProto.parseFrom(Files.readAllBytes(pkg.resolve("model.onnx")));
        List<NodeProto> nodes = model.getGraph().getNodeList();
        Set<String> ops = nodes.stream().map(NodeProto::getOpType).collect(Collectors.toSet());
        assertFalse(ops.contains("ReduceLogSumExp"), "logsumexp from the softmax: " + ops);
        assertFalse(ops.contains("MultiHeadAttention"), "one ONNX Attention per layer: " + ops);
        List<String> perLayerExpands = nodes.stream()
                .filter(n -> n.getOpType().equals("Expand") && n.getName().startsWith("/layers."))
                .map(NodeProto::getName)
                .toList();
        assertEquals(List.of(), perLayerExpands, "no kv repeat");
        List<NodeProto> attention =
                nodes.stream().filter(n -> n.getOpType().equals("Attention")).toList();
        assertEquals(RandomLlada.LAYERS, attention.size());
        for (NodeProto n : attention) {
            assertEquals(RandomLlada.HEADS, attribute(n, "q_num_heads"), n.getName());
            assertEquals(
                    RandomLlada.KV_HEADS, attribute(n, "kv_num_heads"), "K and V with Hkv heads in " + n.getName());
            assertEquals(0, attribute(n, "is_causal"), "bidirectional " + n.getName());
        }
        assertTrue(
                model.getOpsetImportList().stream().anyMatch(o -> o.getDomain().isEmpty() && o.getVersion() >= 23),
                "Attention needs opset 23");
    }

    static long attribute(NodeProto n, String name) {
        return n.getAttributeList().stream()
                .filter(a -> a.getName().equals(name))
                .mapToLong(AttributeProto::getI)
                .findFirst()
                .orElseThrow(() -> new AssertionError(n.getName() + " has no " + name));
    }

    @Test
    void aBatchedCachedPaddedWindowPredictsWhatTheReferencePredicts() throws OrtException {
        // pasts of 0, 8, 9 and 11 keys: the whole canvas, a middle block, a first block, one token
        int[][] windows = {{0, 12}, {4, 8}, {0, 3}, {5, 6}};
        float[][] presents = fullForwardPresents();
        double[][][] expected = new double[2][][];
        for (int row = 0; row < 2; row++) {
            expected[row] = RandomLlada.forward(checkpoint, CANVAS[row], MASK[row], CachedForwardTest.range(0, LENGTH));
        }
        double worst = 0;
        for (int[] w : windows) {
            float[] logits = window(presents, w[0], w[1]); // [2, W, V]
            int width = w[1] - w[0];
            for (int row = 0; row < 2; row++) {
                for (int j = 0; j < width; j++) {
                    int position = w[0] + j;
                    if (MASK[row][position] == 0) {
                        continue; // a padded query's prediction is never read
                    }
                    for (int v = 0; v < RandomLlada.VOCAB; v++) {
                        double got = logits[(row * width + j) * RandomLlada.VOCAB + v];
                        double error = Math.abs(expected[row][position][v] - got);
                        worst = Math.max(worst, error);
                        assertTrue(
                                error < 1e-3,
                                "row " + row + " position " + position + " (past " + (LENGTH - width) + ") logit " + v
                                        + ": " + got + " against " + expected[row][position][v]);
                    }
                }
            }
        }
        System.out.printf("GQA attention, batch 2, cached windows: worst |logit error| %.2g%n", worst);
    }

    /** The presents of a full forward of both rows: [2·layers][2 · LENGTH · kv_dim], key then value per layer. */
    static float[][] fullForwardPresents() throws OrtException {
        Map<String, OnnxTensor> in = new HashMap<>();
        List<OnnxTensor> owned = new ArrayList<>();
        try {
            put(in, owned, GraphSignature.INPUT_IDS, OnnxTensor.createTensor(env, CANVAS));
            put(in, owned, GraphSignature.ATTENTION_MASK, OnnxTensor.createTensor(env, MASK));
            long[] positions = CachedForwardTest.range(0, LENGTH);
            put(in, owned, GraphSignature.POSITION_IDS, OnnxTensor.createTensor(env, new long[][] {positions, positions
            }));
            put(in, owned, GraphSignature.HEAD_POSITIONS, OnnxTensor.createTensor(env, new long[][] {{0}, {0}}));
            for (int layer = 0; layer < RandomLlada.LAYERS; layer++) {
                put(in, owned, GraphSignature.pastKey(layer), past(new float[0], 0));
                put(in, owned, GraphSignature.pastValue(layer), past(new float[0], 0));
            }
            Set<String> wanted = new HashSet<>();
            for (int layer = 0; layer < RandomLlada.LAYERS; layer++) {
                wanted.add(GraphSignature.presentKey(layer));
                wanted.add(GraphSignature.presentValue(layer));
            }
            try (OrtSession.Result r = session.run(in, wanted)) {
                float[][] kv = new float[2 * RandomLlada.LAYERS][];
                for (int layer = 0; layer < RandomLlada.LAYERS; layer++) {
                    kv[2 * layer] = CachedForwardTest.floats(r, GraphSignature.presentKey(layer));
                    kv[2 * layer + 1] = CachedForwardTest.floats(r, GraphSignature.presentValue(layer));
                }
                return kv;
            }
        } finally {
            owned.forEach(OnnxTensor::close);
        }
    }

    /**
     * Both rows' window {@code [from, to)}, the full forward's keys and values of every other position as the past
     * (canvas order; the padded positions of row 1 stay in its past with mask 0), the head at every window position:
     * the logits, {@code [2, W, V]}.
     */
    static float[] window(float[][] presents, int from, int to) throws OrtException {
        int width = to - from;
        int pastLength = LENGTH - width;
        long[][] ids = new long[2][width];
        long[][] positions = new long[2][];
        long[][] heads = new long[2][];
        long[][] mask = new long[2][pastLength + width];
        for (int row = 0; row < 2; row++) {
            System.arraycopy(CANVAS[row], from, ids[row], 0, width);
            positions[row] = CachedForwardTest.range(from, to);
            heads[row] = CachedForwardTest.range(0, width);
            int k = 0;
            for (int p = 0; p < LENGTH; p++) {
                if (p < from || p >= to) {
                    mask[row][k++] = MASK[row][p];
                }
            }
            System.arraycopy(MASK[row], from, mask[row], pastLength, width);
        }
        Map<String, OnnxTensor> in = new HashMap<>();
        List<OnnxTensor> owned = new ArrayList<>();
        try {
            put(in, owned, GraphSignature.INPUT_IDS, OnnxTensor.createTensor(env, ids));
            put(in, owned, GraphSignature.ATTENTION_MASK, OnnxTensor.createTensor(env, mask));
            put(in, owned, GraphSignature.POSITION_IDS, OnnxTensor.createTensor(env, positions));
            put(in, owned, GraphSignature.HEAD_POSITIONS, OnnxTensor.createTensor(env, heads));
            for (int layer = 0; layer < RandomLlada.LAYERS; layer++) {
                put(
                        in,
                        owned,
                        GraphSignature.pastKey(layer),
                        past(pastRows(presents[2 * layer], from, to), pastLength));
                put(
                        in,
                        owned,
                        GraphSignature.pastValue(layer),
                        past(pastRows(presents[2 * layer + 1], from, to), pastLength));
            }
            try (OrtSession.Result r = session.run(in, Set.of(GraphSignature.LOGITS))) {
                return CachedForwardTest.floats(r, GraphSignature.LOGITS);
            }
        } finally {
            owned.forEach(OnnxTensor::close);
        }
    }

    /** Every position outside {@code [from, to)} of both rows of a present {@code [2, LENGTH, kv_dim]}, in order. */
    static float[] pastRows(float[] present, int from, int to) {
        int pastLength = LENGTH - (to - from);
        float[] out = new float[2 * pastLength * KV_DIM];
        int k = 0;
        for (int row = 0; row < 2; row++) {
            for (int p = 0; p < LENGTH; p++) {
                if (p < from || p >= to) {
                    System.arraycopy(present, (row * LENGTH + p) * KV_DIM, out, k * KV_DIM, KV_DIM);
                    k++;
                }
            }
        }
        return out;
    }

    /** {@code [2, P, kv_dim]}, P possibly 0: a direct buffer, as the engine passes it. */
    static OnnxTensor past(float[] values, int pastLength) throws OrtException {
        FloatBuffer buf = ByteBuffer.allocateDirect(Math.max(values.length, 1) * Float.BYTES)
                .order(ByteOrder.nativeOrder())
                .asFloatBuffer();
        buf.put(values);
        buf.flip();
        return OnnxTensor.createTensor(env, buf, new long[] {2, pastLength, KV_DIM});
    }

    static void put(Map<String, OnnxTensor> in, List<OnnxTensor> owned, String name, OnnxTensor t) {
        owned.add(t);
        in.put(name, t);
    }
}
