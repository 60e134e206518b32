package dev.unmask.engine;

import dev.unmask.engine.decode.Denoised;
import dev.unmask.engine.decode.FinishReason;
import dev.unmask.engine.decode.TokenLogprob;
import java.util.List;

/**
 * The answer to one request.
 *
 * @param text         the generated text (special tokens left out; cut at the first end-of-text token of a
 *                     continuation and before a stop sequence)
 * @param tokens       the generated token ids behind {@code text}
 * @param promptTokens tokens before the generated region
 * @param reason       why generation ended
 * @param steps        denoising steps (forward passes) taken
 * @param modelNanos   time in the model's forward passes
 * @param samplerNanos time choosing and committing tokens
 * @param denoised     the final canvas and its region, for callers that want every token
 * @param logprobs     [tokens] for each of {@code tokens}, its log-probability at the step that committed it and the
 *                     candidates there ({@link TokenLogprob}); a token the request fixed has log-probability 0 and
 *                     no candidates
 */
public record Generation(
        String text,
        long[] tokens,
        int promptTokens,
        FinishReason reason,
        int steps,
        long modelNanos,
        long samplerNanos,
        Denoised denoised,
        List<TokenLogprob> logprobs) {

    public Generation {
        logprobs = logprobs == null ? List.of() : List.copyOf(logprobs);
    }

    /** Without log-probabilities. */
    public Generation(
            String text,
            long[] tokens,
            int promptTokens,
            FinishReason reason,
            int steps,
            long modelNanos,
            long samplerNanos,
            Denoised denoised) {
        this(text, tokens, promptTokens, reason, steps, modelNanos, samplerNanos, denoised, List.of());
    }

    /** Generated tokens per second of model plus sampler time. */
    public double tokensPerSecond() {
        long nanos = modelNanos + samplerNanos;
        return nanos == 0 ? 0 : tokens.length * 1e9 / nanos;
    }
}
