package dev.unmask.packager.sdar;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.unmask.format.GraphSignature;
import dev.unmask.format.ModelPackage;
import dev.unmask.format.PackageManifest;
import dev.unmask.packager.Progress;
import dev.unmask.packager.arch.GraphOptions;
import dev.unmask.packager.onnx.WeightFormat;
import dev.unmask.packager.pack.ConvertRequest;
import dev.unmask.packager.pack.PackageWriter;
import dev.unmask.testing.RandomSdar;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The exact cache the block-causal graph exists for, checked on the graph itself in ONNX Runtime: with
 * {@code past_key.i}/{@code past_value.i} = the {@code present_*} of the earlier blocks from one full-canvas forward,
 * a forward over the later blocks alone (their {@code position_ids}, the mask over past + fresh keys) gives the full
 * forward's logits at 1e-4, whether the past is one block or two, and whatever the masked block holds. This is what
 * lets the engine decode SDAR with a cache token for token as without one.
 */
class SdarCachedForwardTest {

    static final int M = RandomSdar.MASK;
    static final long[] IDS = {0, 17, 250, 1200, 99, 300, 45, 8, M, 77, M, M};
    static final double TOLERANCE = 1e-4;

    @TempDir
    static Path tmp;

    private static Path pkg;
    private static int layers, kvDim, vocab;

    @BeforeAll
    static void convert() {
        Path checkpoint = RandomSdar.write(tmp.resolve("random-sdar"), 21);
        pkg = tmp.resolve("pkg");
        new PackageWriter(s -> {}, Progress.NONE)
                .convert(ConvertRequest.of(
                        checkpoint, pkg, GraphOptions.of(WeightFormat.FP32).withFullLogits(true)));
        PackageManifest m = ModelPackage.open(pkg).manifest();
        assertNotNull(m.graph().kvCache(), "a format 3 graph with a cache");
        layers = m.graph().kvCache().layers();
        kvDim = m.graph().kvCache().kvDim();
        vocab = m.architecture().vocabSize();
    }

    @Test
    void aBlockAfterCachedEarlierBlocksHasTheFullForwardsLogits() throws OrtException {
        try (OrtSession session = OrtEnvironment.getEnvironment()
                .createSession(pkg.resolve("model.onnx").toString(), new OrtSession.SessionOptions())) {
            Forward full = run(session, IDS, 0, new float[layers][0], new float[layers][0]);
            for (int cachedBlocks = 1; cachedBlocks <= 2; cachedBlocks++) {
                int past = 4 * cachedBlocks;
                float[][] keys = new float[layers][], values = new float[layers][];
                for (int i = 0; i < layers; i++) {
                    keys[i] = Arrays.copyOf(full.presentKeys[i], past * kvDim);
                    values[i] = Arrays.copyOf(full.presentValues[i], past * kvDim);
                }
                Forward cached = run(session, Arrays.copyOfRange(IDS, past, IDS.length), past, keys, values);
                double worst = 0;
                for (int p = past; p < IDS.length; p++) {
                    for (int v = 0; v < vocab; v++) {
                        worst = Math.max(
                                worst, Math.abs(full.logits[p * vocab + v] - cached.logits[(p - past) * vocab + v]));
                    }
                }
                System.out.printf(
                        "random SDAR, %d cached blocks: worst |logit difference| %.2g%n", cachedBlocks, worst);
                assertTrue(worst < TOLERANCE, cachedBlocks + " cached blocks: worst logit difference " + worst);
                for (int i = 0; i < layers; i++) { // the fresh tokens' keys are the full forward's keys
                    for (int e = 0; e < (IDS.length - past) * kvDim; e++) {
                        assertEquals(full.presentKeys[i][past * kvDim + e], cached.presentKeys[i][e], TOLERANCE);
                    }
                }
            }
        }
    }

    /**
     * The cached keys are really read: the same later blocks over the cache of a canvas whose first block differs
     * predict differently (and exactly as that canvas's own full forward does).
     */
    @Test
    void theCachedPastIsWhatTheLaterBlocksSee() throws OrtException {
        long[] other = IDS.clone();
        other[1] = 3000;
        try (OrtSession session = OrtEnvironment.getEnvironment()
                .createSession(pkg.resolve("model.onnx").toString(), new OrtSession.SessionOptions())) {
            Forward full = run(session, IDS, 0, new float[layers][0], new float[layers][0]);
            Forward otherFull = run(session, other, 0, new float[layers][0], new float[layers][0]);
            int past = 4;
            float[][] keys = new float[layers][], values = new float[layers][];
            for (int i = 0; i < layers; i++) {
                keys[i] = Arrays.copyOf(otherFull.presentKeys[i], past * kvDim);
                values[i] = Arrays.copyOf(otherFull.presentValues[i], past * kvDim);
            }
            Forward cached = run(session, Arrays.copyOfRange(IDS, past, IDS.length), past, keys, values);
            double fromOwn = 0, fromOther = 0;
            for (int p = past; p < IDS.length; p++) {
                for (int v = 0; v < vocab; v++) {
                    float c = cached.logits[(p - past) * vocab + v];
                    fromOwn = Math.max(fromOwn, Math.abs(full.logits[p * vocab + v] - c));
                    fromOther = Math.max(fromOther, Math.abs(otherFull.logits[p * vocab + v] - c));
                }
            }
            assertTrue(fromOther < TOLERANCE, "the other canvas's cache gives that canvas's logits: " + fromOther);
            assertTrue(fromOwn > 1e-2, "and not this canvas's: " + fromOwn);
        }
    }

    /** One forward of one row: {@code ids} at canvas positions {@code offset …}, after {@code offset} cached keys. */
    private static Forward run(OrtSession session, long[] ids, int offset, float[][] pastKeys, float[][] pastValues)
            throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        int s = ids.length;
        long[] positions = new long[s], heads = new long[s], mask = new long[offset + s];
        for (int j = 0; j < s; j++) {
            positions[j] = offset + j;
            heads[j] = j;
        }
        Arrays.fill(mask, 1L);
        Map<String, OnnxTensor> inputs = new HashMap<>();
        try {
            inputs.put(GraphSignature.INPUT_IDS, OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[] {1, s}));
            inputs.put(
                    GraphSignature.ATTENTION_MASK,
                    OnnxTensor.createTensor(env, LongBuffer.wrap(mask), new long[] {1, offset + s}));
            inputs.put(
                    GraphSignature.POSITION_IDS,
                    OnnxTensor.createTensor(env, LongBuffer.wrap(positions), new long[] {1, s}));
            inputs.put(
                    GraphSignature.HEAD_POSITIONS,
                    OnnxTensor.createTensor(env, LongBuffer.wrap(heads), new long[] {1, s}));
            for (int i = 0; i < layers; i++) {
                inputs.put(
                        GraphSignature.pastKey(i),
                        OnnxTensor.createTensor(env, FloatBuffer.wrap(pastKeys[i]), new long[] {1, offset, kvDim}));
                inputs.put(
                        GraphSignature.pastValue(i),
                        OnnxTensor.createTensor(env, FloatBuffer.wrap(pastValues[i]), new long[] {1, offset, kvDim}));
            }
            try (OrtSession.Result r = session.run(inputs)) {
                Forward f = new Forward();
                f.logits = floats(r, GraphSignature.LOGITS);
                f.presentKeys = new float[layers][];
                f.presentValues = new float[layers][];
                for (int i = 0; i < layers; i++) {
                    f.presentKeys[i] = floats(r, GraphSignature.presentKey(i));
                    f.presentValues[i] = floats(r, GraphSignature.presentValue(i));
                }
                return f;
            }
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
    }

    private static float[] floats(OrtSession.Result r, String name) {
        FloatBuffer b = ((OnnxTensor) r.get(name).orElseThrow()).getFloatBuffer();
        float[] out = new float[b.remaining()];
        b.get(out);
        return out;
    }

    private static final class Forward {
        float[] logits;
        float[][] presentKeys, presentValues;
    }
}
