package dev.unmask.packager.quant;

import dev.unmask.engine.model.DenoisingModel;
import dev.unmask.engine.model.HeadOutput;
import dev.unmask.format.PackageManifest;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Random;

/**
 * What quantization costs, measured the way a masked-diffusion LM is used: each held-out sequence gets a fraction
 * {@code t} of its tokens replaced by the mask id (the same positions for both models, from a seed), and at the masked
 * positions the candidate (quantized) model is compared with the reference: top-1 agreement, mean KL(reference ‖
 * candidate) over the whole vocabulary, and each model's masked-token loss (cross-entropy of the true token).
 * Both packages need the full-logits output ({@code unmask-pack convert --full-logits}).
 */
public final class QualityComparison {

    /**
     * @param maskFraction     t: share of each sequence's tokens masked
     * @param positions        masked positions scored, over all sequences
     * @param top1Agreement    share of positions where both models' most likely token is the same
     * @param meanKlNats       mean KL(reference ‖ candidate) per position, in nats
     * @param referenceLossNats mean cross-entropy of the true token under the reference, nats/token
     * @param candidateLossNats the same under the candidate
     */
    public record Metrics(
            double maskFraction,
            int sequences,
            int positions,
            double top1Agreement,
            double meanKlNats,
            double referenceLossNats,
            double candidateLossNats) {}

    private QualityComparison() {}

    /**
     * Compares {@code candidate} with {@code reference} on {@code sequences} (token ids, no masks) at mask fraction
     * {@code maskFraction} in (0, 1]; masks are drawn from {@code seed}, so runs are repeatable.
     */
    public static Metrics compare(
            DenoisingModel reference,
            DenoisingModel candidate,
            List<long[]> sequences,
            double maskFraction,
            long seed) {
        Objects.requireNonNull(reference, "reference model");
        Objects.requireNonNull(candidate, "candidate model");
        if (!(maskFraction > 0 && maskFraction <= 1)) {
            throw new IllegalArgumentException("mask fraction must be in (0, 1], e.g. 0.5; got " + maskFraction);
        }
        if (sequences.isEmpty()) {
            throw new IllegalArgumentException("no sequences to compare on; pass held-out token ids");
        }
        requireFullLogits(reference, "reference");
        requireFullLogits(candidate, "candidate");
        long mask = reference.manifest().specialTokens().mask();
        if (candidate.manifest().specialTokens().mask() != mask) {
            throw new IllegalArgumentException("the packages disagree on the mask id (" + mask + " vs "
                    + candidate.manifest().specialTokens().mask() + "): they are not the same model");
        }

        int positions = 0;
        int agree = 0;
        double kl = 0;
        double refLoss = 0;
        double candLoss = 0;
        for (int s = 0; s < sequences.size(); s++) {
            long[] truth = sequences.get(s);
            int[] masked = choose(truth.length, maskFraction, new Random(seed * 1_000_003L + s));
            long[] canvas = truth.clone();
            long[] heads = new long[masked.length];
            for (int j = 0; j < masked.length; j++) {
                canvas[masked[j]] = mask;
                heads[j] = masked[j];
            }
            long[] ones = new long[canvas.length];
            Arrays.fill(ones, 1);
            HeadOutput r = reference.forward(new long[][] {canvas}, new long[][] {ones}, new long[][] {heads});
            HeadOutput c = candidate.forward(new long[][] {canvas}, new long[][] {ones}, new long[][] {heads});
            int vocab = r.vocab();
            for (int j = 0; j < masked.length; j++) {
                positions++;
                if (r.topkId(0, j, 0) == c.topkId(0, j, 0)) {
                    agree++;
                }
                double lseR = r.logsumexp(0, j);
                double lseC = c.logsumexp(0, j);
                double sum = 0;
                for (int v = 0; v < vocab; v++) {
                    double lpR = r.logits()[j * vocab + v] - lseR;
                    double lpC = c.logits()[j * vocab + v] - lseC;
                    sum += Math.exp(lpR) * (lpR - lpC);
                }
                kl += Math.max(0, sum);
                int t = (int) truth[masked[j]];
                refLoss += lseR - r.logits()[j * vocab + t];
                candLoss += lseC - c.logits()[j * vocab + t];
            }
        }
        return new Metrics(
                maskFraction,
                sequences.size(),
                positions,
                (double) agree / positions,
                kl / positions,
                refLoss / positions,
                candLoss / positions);
    }

    /** {@code max(1, round(t * length))} distinct positions, sorted, drawn uniformly. */
    static int[] choose(int length, double maskFraction, Random random) {
        int count = (int) Math.max(1, Math.min(length, Math.round(maskFraction * length)));
        int[] order = new int[length];
        for (int i = 0; i < length; i++) {
            order[i] = i;
        }
        for (int i = 0; i < count; i++) {
            int j = i + random.nextInt(length - i);
            int swap = order[i];
            order[i] = order[j];
            order[j] = swap;
        }
        int[] chosen = Arrays.copyOf(order, count);
        Arrays.sort(chosen);
        return chosen;
    }

    private static void requireFullLogits(DenoisingModel model, String role) {
        PackageManifest.Graph graph = model.manifest().graph();
        if (!graph.fullLogits()) {
            throw new IllegalArgumentException(
                    "the " + role + " package '" + model.manifest().name() + "' has no full"
                            + " logits output, which KL and loss need; convert it with --full-logits");
        }
    }
}
