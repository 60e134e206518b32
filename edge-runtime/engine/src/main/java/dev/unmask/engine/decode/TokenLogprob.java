package dev.unmask.engine.decode;

import dev.unmask.engine.model.HeadOutput;
import java.util.ArrayList;
import java.util.List;

/**
 * How likely the model found a committed token, read at the step that committed it: {@code logit - logsumexp} of the
 * model's own distribution at that position (temperature 1, before top-k/top-p; the conditional canvas under CFG),
 * given the canvas as it stood then. This is not a left-to-right chain-rule probability: positions are committed out
 * of order, each conditioned on a canvas with masks in it, so the sum over an answer is not its log-likelihood.
 *
 * @param token   the committed token id
 * @param logprob its log-probability, finite and at most 0; {@link #UNLIKELY} when the token lies outside the head's
 *                top-k and the package has no full logits to read it from
 * @param top     the head's most likely tokens at that position, best first (at most {@link #MAX_ALTERNATIVES})
 */
public record TokenLogprob(long token, double logprob, List<Alternative> top) {

    /** OpenAI's bound on {@code top_logprobs}; the head's top-k may be smaller. */
    public static final int MAX_ALTERNATIVES = 20;

    /** OpenAI's value for "outside the reported candidates, very unlikely" (openai-python's TopLogprob docs). */
    public static final double UNLIKELY = -9999.0;

    public TokenLogprob {
        top = List.copyOf(top);
    }

    /** One candidate of a position: a token and its log-probability. */
    public record Alternative(long token, double logprob) {}

    /**
     * Reads {@code token}'s log-probability and the candidates at head position {@code j} of {@code row}. A token that
     * sampling over the full logits took from outside the top-k is read from the logits (their log-sum-exp is the
     * head's).
     */
    static TokenLogprob of(HeadOutput out, int row, int j, long token) {
        int k = Math.min(out.topK(), MAX_ALTERNATIVES);
        List<Alternative> top = new ArrayList<>(k);
        double logprob = Double.NaN;
        for (int r = 0; r < out.topK(); r++) {
            long id = out.topkId(row, j, r);
            double lp = Math.min(0, out.logProb(row, j, r)); // float rounding can put the best a hair above 0
            if (r < k) {
                top.add(new Alternative(id, lp));
            }
            if (id == token && Double.isNaN(logprob)) {
                logprob = lp;
            }
        }
        if (Double.isNaN(logprob)) {
            logprob = out.hasLogits()
                    ? Math.min(
                            0,
                            (double) out.logits()[(row * out.positions() + j) * out.vocab() + (int) token]
                                    - out.logsumexp(row, j))
                    : UNLIKELY;
        }
        return new TokenLogprob(token, logprob, top);
    }

    /** The entry for {@code other} at this position: its candidate's log-probability, or {@link #UNLIKELY}. */
    public TokenLogprob as(long other) {
        if (other == token) {
            return this;
        }
        for (Alternative a : top) {
            if (a.token() == other) {
                return new TokenLogprob(other, a.logprob(), top);
            }
        }
        return new TokenLogprob(other, UNLIKELY, top);
    }
}
