package dev.unmask.packager;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.unmask.format.GraphSignature;
import dev.unmask.format.Manifests;
import dev.unmask.format.PackageManifest;
import dev.unmask.packager.arch.GraphOptions;
import dev.unmask.packager.onnx.WeightFormat;
import dev.unmask.packager.pack.ConvertRequest;
import dev.unmask.packager.pack.PackageWriter;
import dev.unmask.testing.Repo;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The format 3 graph's key/value cache, at the level of the graph itself (docs/package-format.md, "The key/value
 * cache"): a forward over a window of the canvas, given the keys and values a full forward returned for every other
 * position as its past, predicts exactly what the full forward predicted, whatever order the past comes in. This is
 * what makes Fast-dLLM's prefix and dual caches expressible with one graph; the engine's caches build on it.
 */
class CachedForwardTest {

    @TempDir
    static Path tmp;

    static OrtEnvironment env;
    static OrtSession llada;
    static OrtSession dream;
    static PackageManifest.KvCache lladaCache;
    static PackageManifest.KvCache dreamCache;

    // [12 prompt tokens | block [12, 20) half masked | 8 masked] with LLaDA's mask id 3
    static final long[] CANVAS = {
        0, 17, 45, 99, 120, 7, 300, 81, 64, 12, 900, 33, 3, 3, 210, 3, 3, 3, 55, 3, 3, 3, 3, 3, 3, 3, 3, 3
    };
    static final int BLOCK_START = 12;
    static final int BLOCK_END = 20;

    @BeforeAll
    static void convert() throws OrtException {
        env = OrtEnvironment.getEnvironment();
        llada = open(Repo.checkpoint(), "llada");
        lladaCache = Manifests.read(tmp.resolve("llada")).graph().kvCache();
        dream = open(Repo.tinyDreamCheckpoint(), "dream");
        dreamCache = Manifests.read(tmp.resolve("dream")).graph().kvCache();
    }

    static OrtSession open(Path checkpoint, String name) throws OrtException {
        Path pkg = tmp.resolve(name);
        new PackageWriter(s -> {}, Progress.NONE)
                .convert(ConvertRequest.of(checkpoint, pkg, GraphOptions.of(WeightFormat.FP32)));
        return env.createSession(pkg.resolve("model.onnx").toString(), new OrtSession.SessionOptions());
    }

    @AfterAll
    static void close() throws OrtException {
        llada.close();
        dream.close();
    }

    @Test
    void theManifestDescribesTheCacheAndTheGraphDeclaresIt() {
        assertEquals(new PackageManifest.KvCache(6, 64, "float32"), lladaCache);
        assertTrue(llada.getInputNames().contains(GraphSignature.pastKey(5)));
        assertTrue(llada.getOutputNames().contains(GraphSignature.presentValue(5)));
        assertEquals(PackageManifest.CURRENT_FORMAT_VERSION, 3);
    }

    @Test
    void aDualCacheWindowPredictsWhatTheFullForwardPredicted() throws OrtException {
        checkWindow(llada, lladaCache, BLOCK_START, BLOCK_END, true);
    }

    @Test
    void aPrefixCacheWindowPredictsWhatTheFullForwardPredicted() throws OrtException {
        checkWindow(llada, lladaCache, BLOCK_START, CANVAS.length, false);
    }

    @Test
    void aLogitsShiftFamilyWindowStartsOneEarlyAndPredictsTheSame() throws OrtException {
        // Dream reads position p's prediction at p - 1: the window starts at the block's start - 1
        checkWindow(dream, dreamCache, BLOCK_START - 1, BLOCK_END, true);
    }

    /**
     * Runs the full canvas, keeps the presents of every position outside {@code [from, to)} as the past (suffix first,
     * then prefix, when {@code shuffled}: order must not matter), runs the window, and compares the head at the block's
     * positions.
     */
    static void checkWindow(OrtSession session, PackageManifest.KvCache cache, int from, int to, boolean shuffled)
            throws OrtException {
        int length = CANVAS.length;
        long[] block = range(BLOCK_START, BLOCK_END);
        Forward full = run(session, cache, CANVAS, range(0, length), block, null, 0, true);

        List<Integer> pastPositions = new ArrayList<>();
        if (shuffled) {
            for (int p = to; p < length; p++) {
                pastPositions.add(p);
            }
        }
        for (int p = 0; p < from; p++) {
            pastPositions.add(p);
        }
        if (!shuffled) {
            for (int p = to; p < length; p++) {
                pastPositions.add(p);
            }
        }
        float[][][] past = new float[2 * cache.layers()][pastPositions.size()][cache.kvDim()]; // [2L][P][kv_dim]
        for (int layer = 0; layer < 2 * cache.layers(); layer++) {
            for (int j = 0; j < pastPositions.size(); j++) {
                System.arraycopy(
                        full.presents[layer], pastPositions.get(j) * cache.kvDim(), past[layer][j], 0, cache.kvDim());
            }
        }
        long[] window = java.util.Arrays.copyOfRange(CANVAS, from, to);
        long[] heads = new long[block.length];
        for (int j = 0; j < block.length; j++) {
            heads[j] = block[j] - from; // indices into the window
        }
        Forward cached = run(session, cache, window, range(from, to), heads, past, pastPositions.size(), false);

        assertArrayEquals(full.topkIds, cached.topkIds, "the same candidates, in the same order");
        for (int i = 0; i < full.topkLogits.length; i++) {
            assertEquals(full.topkLogits[i], cached.topkLogits[i], 1e-4, "top-k logit " + i);
        }
        for (int j = 0; j < block.length; j++) {
            assertEquals(full.logsumexp[j], cached.logsumexp[j], 1e-4, "logsumexp at " + block[j]);
        }
    }

    record Forward(long[] topkIds, float[] topkLogits, float[] logsumexp, float[][] presents) {}

    static Forward run(
            OrtSession session,
            PackageManifest.KvCache cache,
            long[] ids,
            long[] positions,
            long[] heads,
            float[][][] past,
            int pastLength,
            boolean presents)
            throws OrtException {
        Map<String, OnnxTensor> in = new HashMap<>();
        List<OnnxTensor> owned = new ArrayList<>();
        try {
            in.put(GraphSignature.INPUT_IDS, own(owned, OnnxTensor.createTensor(env, new long[][] {ids})));
            long[] mask = new long[pastLength + ids.length];
            java.util.Arrays.fill(mask, 1L);
            in.put(GraphSignature.ATTENTION_MASK, own(owned, OnnxTensor.createTensor(env, new long[][] {mask})));
            in.put(GraphSignature.POSITION_IDS, own(owned, OnnxTensor.createTensor(env, new long[][] {positions})));
            in.put(GraphSignature.HEAD_POSITIONS, own(owned, OnnxTensor.createTensor(env, new long[][] {heads})));
            for (int layer = 0; layer < cache.layers(); layer++) {
                float[][] k = past == null ? new float[0][cache.kvDim()] : past[2 * layer];
                float[][] v = past == null ? new float[0][cache.kvDim()] : past[2 * layer + 1];
                in.put(GraphSignature.pastKey(layer), own(owned, pastTensor(k, cache)));
                in.put(GraphSignature.pastValue(layer), own(owned, pastTensor(v, cache)));
            }
            Set<String> wanted = new HashSet<>(
                    List.of(GraphSignature.TOPK_IDS, GraphSignature.TOPK_LOGITS, GraphSignature.LOGSUMEXP));
            if (presents) {
                for (int layer = 0; layer < cache.layers(); layer++) {
                    wanted.add(GraphSignature.presentKey(layer));
                    wanted.add(GraphSignature.presentValue(layer));
                }
            }
            try (OrtSession.Result r = session.run(in, wanted)) {
                float[][] kv = null;
                if (presents) {
                    kv = new float[2 * cache.layers()][];
                    for (int layer = 0; layer < cache.layers(); layer++) {
                        kv[2 * layer] = floats(r, GraphSignature.presentKey(layer));
                        kv[2 * layer + 1] = floats(r, GraphSignature.presentValue(layer));
                    }
                }
                long[] topkIds = ((OnnxTensor) r.get(GraphSignature.TOPK_IDS).get())
                        .getLongBuffer()
                        .array()
                        .clone();
                return new Forward(
                        topkIds, floats(r, GraphSignature.TOPK_LOGITS), floats(r, GraphSignature.LOGSUMEXP), kv);
            }
        } finally {
            owned.forEach(OnnxTensor::close);
        }
    }

    /** [1, P, kv_dim], P possibly 0: a direct buffer, as the engine passes it. */
    static OnnxTensor pastTensor(float[][] rows, PackageManifest.KvCache cache) throws OrtException {
        java.nio.FloatBuffer buf = java.nio.ByteBuffer.allocateDirect(rows.length * cache.kvDim() * Float.BYTES)
                .order(java.nio.ByteOrder.nativeOrder())
                .asFloatBuffer();
        for (float[] row : rows) {
            buf.put(row);
        }
        buf.flip();
        return OnnxTensor.createTensor(env, buf, new long[] {1, rows.length, cache.kvDim()});
    }

    static float[] floats(OrtSession.Result r, String name) {
        java.nio.FloatBuffer b = ((OnnxTensor) r.get(name).get()).getFloatBuffer();
        float[] out = new float[b.remaining()];
        b.get(out);
        return out;
    }

    static OnnxTensor own(List<OnnxTensor> owned, OnnxTensor t) {
        owned.add(t);
        return t;
    }

    static long[] range(int from, int to) {
        long[] r = new long[to - from];
        for (int i = 0; i < r.length; i++) {
            r[i] = from + i;
        }
        return r;
    }
}
