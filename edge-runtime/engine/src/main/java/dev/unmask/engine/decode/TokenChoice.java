package dev.unmask.engine.decode;

import dev.unmask.engine.model.HeadOutput;
import java.util.Arrays;
import java.util.random.RandomGenerator;

/**
 * Chooses the token for one masked position from the model's head and says how sure the model is about it.
 *
 * <p>Without full logits the choice is among the head's {@code top_k} candidates: exact for greedy decoding
 * and for confidences (logits and log-sum-exp come from the graph), an approximation of sampling at temperature
 * above 0 that ignores tokens outside the top-k. With the {@code logits} output (and always with classifier-free
 * guidance) sampling runs over the whole vocabulary.
 *
 * <p>Sampling is Gumbel-max on float64 noise, {@code argmax(logit / T - log(-log u))}, which is the argmax of
 * LLaDA's {@code exp(logits) / (-log u)^T} and a draw from {@code softmax(logits / T)}. {@code top_k} keeps the k
 * most likely tokens; {@code top_p} keeps the smallest set of most likely tokens whose probability (before
 * temperature) reaches p.
 */
final class TokenChoice {

    private final DecodingOptions options;
    private final RandomGenerator random;

    long token;
    double confidence;

    TokenChoice(DecodingOptions options, RandomGenerator random) {
        this.options = options;
        this.random = random;
    }

    /** Reads position {@code j} of row {@code row} (and {@code row + 1}, the unconditional row, under CFG). */
    void choose(HeadOutput out, int row, int j) {
        choose(out, row, j, null);
    }

    /**
     * As {@link #choose(HeadOutput, int, int)}, choosing only among the tokens {@code admissible} admits (null: any).
     * With full logits the choice is over the admitted part of the vocabulary, exactly. From the head alone it is
     * the best admitted candidate of the top-k (sampled among the admitted ones that top-k and top-p keep, else
     * among all k), and when the head holds none, the position's deterministic {@link
     * StructuredCanvas.Admissible#fallback()} with a confidence below any real one, so that it commits last.
     */
    void choose(HeadOutput out, int row, int j, StructuredCanvas.Admissible admissible) {
        if (options.cfgScale() > 0) {
            chooseFromLogits(restrict(guidedLogits(out, row, j), admissible));
        } else if (out.hasLogits() && (options.temperature() > 0 || admissible != null)) {
            float[] logits = Arrays.copyOfRange(
                    out.logits(),
                    (row * out.positions() + j) * out.vocab(),
                    (row * out.positions() + j + 1) * out.vocab());
            chooseFromLogits(restrict(logits, admissible));
        } else if (admissible != null) {
            chooseAdmissibleFromHead(out, row, j, admissible);
        } else {
            chooseFromHead(out, row, j);
        }
    }

    /**
     * The confidence of a fallback token: below every measure's real values (a probability or margin is at least -1,
     * a negative entropy at least minus the log of any vocabulary), so a position the head had nothing for waits
     * for the others.
     */
    static final double FALLBACK_CONFIDENCE = -1e3;

    /** A logit far below any real one but finite, so that softmax and entropy sums stay free of NaN. */
    private static final float EXCLUDED_LOGIT = -1e30f;

    private static float[] restrict(float[] logits, StructuredCanvas.Admissible admissible) {
        if (admissible != null) {
            for (int v = 0; v < logits.length; v++) {
                if (!admissible.admits(v)) {
                    logits[v] = EXCLUDED_LOGIT;
                }
            }
        }
        return logits;
    }

    private void chooseAdmissibleFromHead(HeadOutput out, int row, int j, StructuredCanvas.Admissible admissible) {
        int k = out.topK();
        double lse = out.logsumexp(row, j);
        int n = keep(k, rank -> out.topkLogit(row, j, rank), lse);
        int chosen = pickAdmissible(out, row, j, n, admissible);
        if (chosen < 0 && n < k) {
            chosen = pickAdmissible(out, row, j, k, admissible);
        }
        if (chosen < 0) {
            token = admissible.fallback();
            confidence = FALLBACK_CONFIDENCE;
            return;
        }
        token = out.topkId(row, j, chosen);
        double p = Math.exp(out.topkLogit(row, j, chosen) - lse);
        confidence = switch (options.confidence()) {
            case PROBABILITY -> p;
            case MARGIN -> {
                double next = 0; // the next admitted candidate: the margin among the tokens this position may take
                for (int r = chosen + 1; r < k; r++) {
                    if (admissible.admits(out.topkId(row, j, r))) {
                        next = Math.exp(out.topkLogit(row, j, r) - lse);
                        break;
                    }
                }
                yield p - next;
            }
            case NEGATIVE_ENTROPY -> -out.entropy(row, j);
        };
    }

    /** The rank of the admitted candidate among the first {@code n} (Gumbel-max above temperature 0), or -1. */
    private int pickAdmissible(HeadOutput out, int row, int j, int n, StructuredCanvas.Admissible admissible) {
        int chosen = -1;
        double best = Double.NEGATIVE_INFINITY;
        for (int r = 0; r < n; r++) {
            if (!admissible.admits(out.topkId(row, j, r))) {
                continue;
            }
            if (options.temperature() <= 0) {
                return r;
            }
            double score = out.topkLogit(row, j, r) / options.temperature() + gumbel();
            if (score > best) {
                best = score;
                chosen = r;
            }
        }
        return chosen;
    }

    private void chooseFromHead(HeadOutput out, int row, int j) {
        int k = out.topK();
        double lse = out.logsumexp(row, j);
        int n = keep(k, rank -> out.topkLogit(row, j, rank), lse);
        int chosen = 0;
        if (options.temperature() > 0 && n > 1) {
            double best = Double.NEGATIVE_INFINITY;
            for (int r = 0; r < n; r++) {
                double score = out.topkLogit(row, j, r) / options.temperature() + gumbel();
                if (score > best) {
                    best = score;
                    chosen = r;
                }
            }
        }
        token = out.topkId(row, j, chosen);
        confidence = switch (options.confidence()) {
            case PROBABILITY -> Math.exp(out.topkLogit(row, j, chosen) - lse);
            case MARGIN ->
                Math.exp(out.topkLogit(row, j, 0) - lse) - (k > 1 ? Math.exp(out.topkLogit(row, j, 1) - lse) : 0);
            case NEGATIVE_ENTROPY -> -out.entropy(row, j);
        };
    }

    private void chooseFromLogits(float[] logits) {
        int vocab = logits.length;
        double max = Double.NEGATIVE_INFINITY;
        int argmax = 0;
        for (int v = 0; v < vocab; v++) {
            if (logits[v] > max) {
                max = logits[v];
                argmax = v;
            }
        }
        double sum = 0;
        for (float l : logits) {
            sum += Math.exp(l - max);
        }
        double lse = max + Math.log(sum);
        boolean ranked = options.topK() > 0 || options.topP() < 1;
        int[] order = ranked ? descending(logits) : null;
        int n = ranked ? keep(vocab, rank -> logits[order[rank]], lse) : vocab;
        int chosen = argmax;
        if (options.temperature() > 0) {
            double best = Double.NEGATIVE_INFINITY;
            for (int r = 0; r < n; r++) {
                int v = order == null ? r : order[r];
                double score = logits[v] / options.temperature() + gumbel();
                if (score > best) {
                    best = score;
                    chosen = v;
                }
            }
        }
        token = chosen;
        confidence = switch (options.confidence()) {
            case PROBABILITY -> Math.exp(logits[chosen] - lse);
            case MARGIN -> Math.exp(max - lse) - Math.exp(secondLargest(logits, argmax) - lse);
            case NEGATIVE_ENTROPY -> {
                double h = 0;
                for (float l : logits) {
                    double lp = l - lse;
                    h -= Math.exp(lp) * lp;
                }
                yield -h;
            }
        };
    }

    private static double secondLargest(float[] logits, int argmax) {
        double second = Double.NEGATIVE_INFINITY;
        for (int v = 0; v < logits.length; v++) {
            if (v != argmax && logits[v] > second) {
                second = logits[v];
            }
        }
        return second;
    }

    /** How many of the best candidates survive top-k and top-p (at least one). */
    private int keep(int available, java.util.function.IntToDoubleFunction logitOfRank, double lse) {
        int n = available;
        if (options.topK() > 0) {
            n = Math.min(n, options.topK());
        }
        if (options.topP() < 1) {
            double mass = 0;
            for (int r = 0; r < n; r++) {
                mass += Math.exp(logitOfRank.applyAsDouble(r) - lse);
                if (mass >= options.topP()) {
                    n = r + 1;
                    break;
                }
            }
        }
        return Math.max(1, n);
    }

    /** CFG: {@code un + (scale + 1) * (cond - un)}, LLaDA's formula, from the conditional and unconditional rows. */
    private float[] guidedLogits(HeadOutput out, int row, int j) {
        int vocab = out.vocab();
        float[] all = out.logits();
        int cond = (row * out.positions() + j) * vocab;
        int uncond = ((row + 1) * out.positions() + j) * vocab;
        float scale = (float) (options.cfgScale() + 1);
        float[] guided = new float[vocab];
        for (int v = 0; v < vocab; v++) {
            guided[v] = all[uncond + v] + scale * (all[cond + v] - all[uncond + v]);
        }
        return guided;
    }

    private double gumbel() {
        double u = random.nextDouble();
        if (u <= 0) {
            u = Double.MIN_VALUE;
        }
        return -Math.log(-Math.log(u));
    }

    /** Token ids by descending logit (ties: lower id first), via one primitive sort of (logit, id) keys. */
    private static int[] descending(float[] logits) {
        long[] keys = new long[logits.length];
        for (int v = 0; v < logits.length; v++) {
            int bits = Float.floatToIntBits(logits[v]);
            int ascending = bits ^ ((bits >> 31) & 0x7fffffff); // orders like the float value, as a signed int
            keys[v] = ((long) ~ascending << 32) | v; // ~ turns ascending into descending
        }
        Arrays.sort(keys);
        int[] order = new int[keys.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = (int) keys[i];
        }
        return order;
    }
}
