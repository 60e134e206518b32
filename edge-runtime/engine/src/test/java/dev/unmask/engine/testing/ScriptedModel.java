package dev.unmask.engine.testing;

import dev.unmask.engine.model.DenoisingModel;
import dev.unmask.engine.model.HeadOutput;
import dev.unmask.format.PackageManifest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A pure-Java stand-in for a package's graph, for testing the samplers' bookkeeping on logits we choose: the logits
 * at a position are whatever {@link Logits} says for the row's real tokens. The head (top-k, log-sum-exp, entropy,
 * optional full logits) is computed from them exactly as the graph defines it, the logit shift included: with
 * {@code logitsShift} the head of position p reads the logits of {@code max(p - 1, 0)}, as {@code SamplingHead} does
 * in a Dream graph. The ONNX graph itself is tested against the fixtures in the parity test.
 */
public final class ScriptedModel implements DenoisingModel {

    /** Special ids as in tiny-llada: BOS 0, EOS/pad 1, EOT 2, mask 3. */
    public static final int BOS = 0, EOS = 1, EOT = 2, MASK = 3;

    @FunctionalInterface
    public interface Logits {
        /** @param canvas the row's real tokens (padding removed); @return [vocab] logits for {@code position} */
        float[] at(long[] canvas, int position);
    }

    private final PackageManifest manifest;
    private final Logits logits;
    private final int vocab;
    private final int topK;
    private final boolean fullLogits;
    private final boolean logitsShift;
    public final List<long[][]> inputs = new ArrayList<>();
    public final List<long[][]> headPositions = new ArrayList<>();
    public boolean closed;

    public ScriptedModel(
            int vocab, int topK, boolean fullLogits, boolean logitsShift, int maxSequenceLength, Logits logits) {
        this.vocab = vocab;
        this.topK = topK;
        this.fullLogits = fullLogits;
        this.logitsShift = logitsShift;
        this.logits = logits;
        this.manifest = manifest(vocab, topK, fullLogits, logitsShift, maxSequenceLength);
    }

    /** vocab 64, head top-8, no full logits, no shift, 512 positions. */
    public static ScriptedModel of(Logits logits) {
        return new ScriptedModel(64, 8, false, false, 512, logits);
    }

    /** Logits that prefer {@code token} with the given logit and are 0 elsewhere, plus a runner-up one lower. */
    public static float[] prefer(int vocab, int token, float logit) {
        float[] l = new float[vocab];
        l[token] = logit;
        l[(token + 1) % vocab] = logit - 1;
        return l;
    }

    /** Logits that put {@code token} far above every other (probability ~1). */
    public static float[] sharp(int vocab, int token) {
        float[] l = new float[vocab];
        l[token] = 30;
        return l;
    }

    @Override
    public HeadOutput forward(long[][] inputIds, long[][] attentionMask, long[][] positions) {
        inputs.add(inputIds);
        headPositions.add(positions);
        int batch = inputIds.length;
        int p = positions[0].length;
        long[] ids = new long[batch * p * topK];
        float[] topLogits = new float[batch * p * topK];
        float[] lse = new float[batch * p];
        float[] entropy = new float[batch * p];
        float[] all = fullLogits ? new float[batch * p * vocab] : null;
        for (int b = 0; b < batch; b++) {
            int real = 0;
            while (real < attentionMask[b].length && attentionMask[b][real] == 1) {
                real++;
            }
            long[] canvas = Arrays.copyOf(inputIds[b], real);
            for (int j = 0; j < p; j++) {
                int position = (int) positions[b][j];
                float[] l = logits.at(canvas, logitsShift ? Math.max(position - 1, 0) : position);
                int at = b * p + j;
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
                for (int v = 0; v < vocab; v++) {
                    order[v] = v;
                }
                Arrays.sort(order, (x, y) -> Float.compare(l[y], l[x]));
                for (int r = 0; r < topK; r++) {
                    ids[at * topK + r] = order[r];
                    topLogits[at * topK + r] = l[order[r]];
                }
                if (all != null) {
                    System.arraycopy(l, 0, all, at * vocab, vocab);
                }
            }
        }
        return new HeadOutput(batch, p, topK, ids, topLogits, lse, entropy, all, all == null ? 0 : vocab);
    }

    @Override
    public PackageManifest manifest() {
        return manifest;
    }

    @Override
    public void close() {
        closed = true;
    }

    public static PackageManifest manifest(
            int vocab, int topK, boolean fullLogits, boolean logitsShift, int maxSequenceLength) {
        return new PackageManifest(
                PackageManifest.FORMAT,
                PackageManifest.CURRENT_FORMAT_VERSION,
                "scripted",
                new PackageManifest.Architecture(
                        "llada",
                        "llada",
                        1,
                        8,
                        1,
                        1,
                        8,
                        8,
                        vocab,
                        vocab,
                        maxSequenceLength,
                        10000,
                        1e-5,
                        true,
                        logitsShift),
                null,
                new PackageManifest.Precision("fp32", "none"),
                new PackageManifest.Graph(21, 10, topK, fullLogits, List.of(), List.of()),
                new PackageManifest.SpecialTokens(MASK, EOS, EOT, BOS, EOS),
                new PackageManifest.GenerationDefaults(8, 8, 4, 0.0, "low_confidence", 0.0),
                null,
                Map.of(),
                null,
                null);
    }
}
