package dev.unmask.engine.testing;

import dev.unmask.engine.model.CachedForward;
import dev.unmask.engine.model.DenoisingModel;
import dev.unmask.engine.model.HeadOutput;
import dev.unmask.format.PackageManifest;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A two-layer, one-head transformer in plain Java with fixed random weights, implementing both forwards of the
 * {@link DenoisingModel} seam exactly as a format 3 graph defines them: the plain full-canvas forward and the cached
 * one (past keys and values first, attention_mask over [past ‖ window], position_ids, head positions into the window,
 * presents of the window's tokens). Positions enter as an absolute embedding added to the token's, so a key carries
 * its position in any order, as a rotary key does. With {@code blockSize > 0} attention is block-causal, as the
 * graph's attention_bias makes it: a fresh key is visible to a fresh query iff its block is not later; a past key
 * always.
 *
 * <p>The second layer's keys and values depend on the first layer's output, hence on the whole (visible) canvas:
 * a bidirectional cache of them goes stale as the canvas changes, as a real model's does. That is what makes the
 * approximate caches differ from no cache here, and the exactness tests mean something.
 *
 * <p>Sums run in double; the two forwards add the same terms in different orders, so their logits agree to ~1e-12,
 * not bit for bit.
 */
public final class AttentionModel implements DenoisingModel {

    public static final int BOS = ScriptedModel.BOS, EOS = ScriptedModel.EOS, MASK = ScriptedModel.MASK;

    private static final int LAYERS = 2;
    private static final int DIM = 8;

    private final int vocab;
    private final int topK;
    private final int maxSequence;
    private final boolean logitsShift;
    private final int blockSize;
    private final PackageManifest manifest;
    private final float[][] embedding; // [vocab][DIM]
    private final float[][] positional; // [maxSequence][DIM]
    private final float[][][] wq, wk, wv; // [layer][DIM][DIM]
    private final float[][] out; // [vocab][DIM]
    /** Every forward's rows' query lengths, for tests that count what ran. */
    public final List<int[]> windows = new ArrayList<>();

    public int plainForwards;
    public int cachedForwards;

    public AttentionModel(int vocab, boolean logitsShift, int blockSize, long seed) {
        this.vocab = vocab;
        this.topK = 8;
        this.maxSequence = 256;
        this.logitsShift = logitsShift;
        this.blockSize = blockSize;
        SplittableRandom random = new SplittableRandom(seed);
        embedding = matrix(random, vocab, DIM, 1.0);
        positional = matrix(random, maxSequence, DIM, 1.0);
        wq = new float[LAYERS][][];
        wk = new float[LAYERS][][];
        wv = new float[LAYERS][][];
        for (int l = 0; l < LAYERS; l++) {
            wq[l] = matrix(random, DIM, DIM, 1.0);
            wk[l] = matrix(random, DIM, DIM, 1.0);
            wv[l] = matrix(random, DIM, DIM, 1.0);
        }
        out = matrix(random, vocab, DIM, 2.0);
        PackageManifest m = ScriptedModel.manifest(vocab, topK, false, logitsShift, maxSequence);
        PackageManifest.Architecture a = m.architecture();
        this.manifest = new PackageManifest(
                m.format(),
                m.formatVersion(),
                "attention",
                new PackageManifest.Architecture(
                        a.family(),
                        a.modelType(),
                        LAYERS,
                        DIM,
                        1,
                        1,
                        DIM,
                        DIM,
                        vocab,
                        vocab,
                        maxSequence,
                        a.ropeTheta(),
                        a.rmsNormEps(),
                        true,
                        logitsShift,
                        blockSize > 0 ? blockSize : null),
                m.source(),
                m.precision(),
                new PackageManifest.Graph(
                        21, 10, topK, false, List.of(), List.of(), new PackageManifest.KvCache(LAYERS, DIM, "float32")),
                m.specialTokens(),
                m.generationDefaults(),
                m.chatTemplate(),
                Map.of(),
                null,
                null);
    }

    private static float[][] matrix(SplittableRandom random, int rows, int cols, double scale) {
        float[][] w = new float[rows][cols];
        for (float[] row : w) {
            for (int c = 0; c < cols; c++) {
                row[c] = (float) ((random.nextDouble() * 2 - 1) * scale);
            }
        }
        return w;
    }

    @Override
    public HeadOutput forward(long[][] inputIds, long[][] attentionMask, long[][] headPositions) {
        plainForwards++;
        List<CachedForward.Row> rows = new ArrayList<>();
        for (int b = 0; b < inputIds.length; b++) {
            int real = 0;
            while (real < attentionMask[b].length && attentionMask[b][real] == 1) {
                real++;
            }
            rows.add(CachedForward.Row.full(Arrays.copyOf(inputIds[b], real), headPositions[b], List.of()));
        }
        return run(rows, false);
    }

    @Override
    public HeadOutput forward(CachedForward forward) {
        cachedForwards++;
        return run(forward.rows(), true);
    }

    @Override
    public boolean supportsCache() {
        return true;
    }

    private HeadOutput run(List<CachedForward.Row> rows, boolean cached) {
        int batch = rows.size();
        int positions = 0;
        int[] lengths = new int[batch];
        for (int b = 0; b < batch; b++) {
            positions = Math.max(positions, rows.get(b).headPositions().length);
            lengths[b] = rows.get(b).inputIds().length;
        }
        windows.add(lengths);
        float[][] logits = new float[batch * positions][];
        for (int b = 0; b < batch; b++) {
            CachedForward.Row row = rows.get(b);
            double[][] hidden = row(row);
            long[] heads = row.headPositions();
            for (int j = 0; j < positions; j++) {
                int p = (int) heads[Math.min(j, heads.length - 1)];
                int h = logitsShift ? Math.max(p - 1, 0) : p; // SamplingHead's shift, inside the window
                logits[b * positions + j] = logits(hidden[h]);
            }
        }
        return head(logits, batch, positions);
    }

    /** The window's last hidden states [S][DIM]; writes the presents the row keeps. */
    private double[][] row(CachedForward.Row row) {
        int s = row.inputIds().length;
        int p = row.past().length();
        double[][] x = new double[s][DIM];
        for (int i = 0; i < s; i++) {
            for (int d = 0; d < DIM; d++) {
                x[i][d] = embedding[(int) row.inputIds()[i]][d] + positional[(int) row.positionIds()[i]][d];
            }
        }
        for (int l = 0; l < LAYERS; l++) {
            float[][] k = new float[p + s][];
            float[][] v = new float[p + s][];
            for (int i = 0; i < p; i++) {
                k[i] = read(row.past().cache().keys(l, p), i);
                v[i] = read(row.past().cache().values(l, p), i);
            }
            for (int i = 0; i < s; i++) {
                k[p + i] = project(wk[l], x[i]);
                v[p + i] = project(wv[l], x[i]);
            }
            for (CachedForward.Keep keep : row.keep()) {
                for (int i = 0; i < keep.length(); i++) {
                    keep.into().put(l, false, keep.at() + i, FloatBuffer.wrap(k[p + keep.from() + i]), 1);
                    keep.into().put(l, true, keep.at() + i, FloatBuffer.wrap(v[p + keep.from() + i]), 1);
                }
            }
            double[][] next = new double[s][];
            for (int q = 0; q < s; q++) {
                float[] query = project(wq[l], x[q]);
                long qPos = row.positionIds()[q];
                double[] score = new double[p + s];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < p + s; j++) {
                    boolean visible = j < p || visible(row.positionIds()[j - p], qPos);
                    score[j] = visible ? dot(query, k[j]) / Math.sqrt(DIM) : Double.NEGATIVE_INFINITY;
                    max = Math.max(max, score[j]);
                }
                double sum = 0;
                for (int j = 0; j < p + s; j++) {
                    score[j] = score[j] == Double.NEGATIVE_INFINITY ? 0 : Math.exp(score[j] - max);
                    sum += score[j];
                }
                double[] o = x[q].clone(); // residual
                for (int j = 0; j < p + s; j++) {
                    for (int d = 0; d < DIM; d++) {
                        o[d] += score[j] / sum * v[j][d];
                    }
                }
                next[q] = o;
            }
            x = next;
        }
        return x;
    }

    private boolean visible(long keyPosition, long queryPosition) {
        return blockSize == 0 || keyPosition / blockSize <= queryPosition / blockSize;
    }

    private static float[] read(FloatBuffer view, int position) {
        float[] r = new float[DIM];
        view.duplicate().position(position * DIM).get(r);
        return r;
    }

    private static float[] project(float[][] w, double[] x) {
        float[] r = new float[DIM];
        for (int o = 0; o < DIM; o++) {
            double acc = 0;
            for (int d = 0; d < DIM; d++) {
                acc += w[o][d] * x[d];
            }
            r[o] = (float) (acc / Math.sqrt(DIM));
        }
        return r;
    }

    private static double dot(float[] a, float[] b) {
        double acc = 0;
        for (int d = 0; d < a.length; d++) {
            acc += (double) a[d] * b[d];
        }
        return acc;
    }

    private float[] logits(double[] h) {
        float[] l = new float[vocab];
        for (int t = 0; t < vocab; t++) {
            double acc = 0;
            for (int d = 0; d < DIM; d++) {
                acc += out[t][d] * h[d];
            }
            l[t] = (float) acc;
        }
        l[MASK] = -1e4f; // a model never predicts the mask
        return l;
    }

    private HeadOutput head(float[][] logits, int batch, int positions) {
        long[] ids = new long[batch * positions * topK];
        float[] top = new float[batch * positions * topK];
        float[] lse = new float[batch * positions];
        float[] entropy = new float[batch * positions];
        for (int at = 0; at < batch * positions; at++) {
            float[] l = logits[at];
            double max = Double.NEGATIVE_INFINITY;
            for (float v : l) {
                max = Math.max(max, v);
            }
            double sum = 0;
            for (float v : l) {
                sum += Math.exp(v - max);
            }
            double logSum = max + Math.log(sum);
            double h = 0;
            for (float v : l) {
                h -= Math.exp(v - logSum) * (v - logSum);
            }
            lse[at] = (float) logSum;
            entropy[at] = (float) h;
            Integer[] order = new Integer[vocab];
            for (int t = 0; t < vocab; t++) {
                order[t] = t;
            }
            Arrays.sort(order, (x, y) -> Float.compare(l[y], l[x]));
            for (int r = 0; r < topK; r++) {
                ids[at * topK + r] = order[r];
                top[at * topK + r] = l[order[r]];
            }
        }
        return new HeadOutput(batch, positions, topK, ids, top, lse, entropy, null, 0);
    }

    @Override
    public PackageManifest manifest() {
        return manifest;
    }

    @Override
    public void close() {}
}
