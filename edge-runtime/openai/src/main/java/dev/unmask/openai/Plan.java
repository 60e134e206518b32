package dev.unmask.openai;

import dev.unmask.engine.decode.CanvasLayout;
import dev.unmask.engine.decode.DecodingOptions;
import dev.unmask.engine.decode.ModelTraits;
import dev.unmask.engine.decode.Remasking;

/**
 * A checked request as the engine takes it: the starting canvas and the decoding options, made from the request's
 * fields, the package's defaults and the server's limits. Every rule that depends on the prompt or the model lives
 * here, with messages in the API's terms (field names as sent, an example of a value that fits).
 *
 * @param layout       the canvas to denoise
 * @param options      the decoding options; {@code genLength} is {@code max_tokens} rounded up to whole blocks
 * @param promptTokens tokens the model was given (prefix and suffix of an infill)
 */
public record Plan(CanvasLayout layout, DecodingOptions options, int promptTokens) {

    /**
     * @param prefix   [tokens] the prompt's tokens (BOS included) or the infill's prefix
     * @param suffix   [tokens] the infill's suffix; null for a continuation
     * @param defaults the package's generation defaults
     */
    public static Plan of(long[] prefix, long[] suffix, GenerationParams p, DecodingOptions defaults,
                          ModelTraits traits, ServingLimits limits) {
        DiffusionControls d = p.diffusion();
        int fixed = prefix.length + (suffix == null ? 0 : suffix.length);
        int context = limits.maxCanvasTokens() == 0 ? traits.maxSequenceLength()
                : Math.min(limits.maxCanvasTokens(), traits.maxSequenceLength());

        int maxTokens = p.maxTokens() != null ? p.maxTokens() : Math.min(defaults.genLength(), limits.maxTokens());
        if (maxTokens > limits.maxTokens()) {
            throw ApiException.invalid("max_tokens", "'max_tokens' must be between 1 and " + limits.maxTokens()
                    + " on this server, e.g. \"max_tokens\": " + Math.min(64, limits.maxTokens()) + "; got " + maxTokens);
        }
        int blockLength;
        if (d.blockLength() != null) {
            blockLength = d.blockLength();
            if (blockLength > limits.maxTokens()) {
                throw ApiException.invalid("block_length", "'block_length' must be between 1 and " + limits.maxTokens()
                        + ", e.g. \"block_length\": " + Math.min(32, limits.maxTokens()) + "; got " + blockLength);
            }
        } else if (maxTokens % defaults.blockLength() == 0 || (suffix == null && maxTokens > defaults.blockLength())) {
            blockLength = defaults.blockLength();
        } else {
            blockLength = maxTokens; // one block: the region is exactly max_tokens long
        }
        int genLength = roundUp(maxTokens, blockLength);
        int blocks = genLength / blockLength;

        if (fixed >= context) {
            throw ApiException.invalid(suffix == null ? "messages" : "prompt", "context_length_exceeded",
                    "This model's maximum context length is " + context + " tokens, and the prompt alone is " + fixed
                            + " tokens: shorten the prompt" + (suffix == null ? "" : " or the suffix") + " to at most "
                            + (context - 1) + " tokens, leaving room for max_tokens");
        }
        if (fixed + genLength > context) {
            int room = context - fixed;
            String rounding = genLength == maxTokens ? "" : " (max_tokens " + maxTokens + " rounded up to whole blocks of "
                    + blockLength + ")";
            throw ApiException.invalid("max_tokens", "context_length_exceeded", "This model's maximum context length is "
                    + context + " tokens. The prompt is " + fixed + " tokens and the completion " + genLength + " tokens"
                    + rounding + ", " + (fixed + genLength) + " in all: send \"max_tokens\": " + room
                    + (room % blockLength == 0 || d.blockLength() == null ? "" : " with \"block_length\": " + room)
                    + " or less, or shorten the prompt");
        }

        int maxSteps = Math.min(genLength, limits.maxSteps());
        int steps;
        if (d.steps() != null) {
            steps = d.steps();
            if (steps < blocks || steps > maxSteps) {
                throw ApiException.invalid("steps", "'steps' must be between " + blocks + " (one per block: "
                        + genLength + " tokens / block_length " + blockLength + ") and " + maxSteps
                        + (maxSteps == genLength ? " (one token per step)" : " (this server's limit)")
                        + ", e.g. \"steps\": " + Math.max(blocks, maxSteps / blocks * blocks) + "; got " + steps);
            }
            if (steps % blocks != 0) {
                throw ApiException.invalid("steps", "'steps' " + steps + " must be a multiple of the number of blocks "
                        + blocks + " (" + genLength + " tokens / block_length " + blockLength + "), e.g. \"steps\": "
                        + Math.max(blocks, steps / blocks * blocks));
            }
        } else {
            // the package's pace (tokens per step), whole steps per block
            double perToken = (double) defaults.steps() / defaults.genLength();
            int perBlock = (int) Math.max(1, Math.min(blockLength, Math.round(perToken * blockLength)));
            steps = Math.max(blocks, Math.min(maxSteps / blocks * blocks, perBlock * blocks));
        }

        double cfgScale = d.cfgScale() != null ? d.cfgScale() : defaults.cfgScale();
        if (cfgScale > 0 && !traits.fullLogits()) {
            throw ApiException.invalid("cfg_scale", "'cfg_scale' needs a package with the full logits, and this one "
                    + "has only the top-" + traits.headTopK() + " head: send \"cfg_scale\": 0, or serve a package "
                    + "converted with --full-logits");
        }
        double temperature = p.temperature() != null ? p.temperature() : defaults.temperature();
        DecodingOptions.Builder b = defaults.toBuilder()
                .genLength(genLength).blockLength(blockLength).steps(steps)
                .temperature(temperature)
                .topP(p.topP() != null ? p.topP() : 1.0)
                .remasking(d.remasking() != null ? d.remasking() : defaults.remasking())
                .cfgScale(cfgScale)
                .maxTokens(maxTokens < genLength ? maxTokens : 0)
                .stopSequences(p.stop())
                .earlyExit(true)
                .seed(p.seed() != null ? p.seed() : temperature > 0 || d.remasking() == Remasking.RANDOM
                        ? java.util.concurrent.ThreadLocalRandom.current().nextLong() : 0L);
        if (d.confidenceThreshold() != null) {
            b.threshold(d.confidenceThreshold());
        }
        DecodingOptions options;
        try {
            options = b.build();
        } catch (IllegalArgumentException e) {
            throw ApiException.invalid(null, e.getMessage());
        }
        long mask = traits.maskId();
        CanvasLayout layout = suffix == null
                ? CanvasLayout.continuation(prefix, genLength, mask)
                : CanvasLayout.infill(prefix, suffix, genLength, mask);
        return new Plan(layout, options, fixed);
    }

    private static int roundUp(int value, int multiple) {
        return (value + multiple - 1) / multiple * multiple;
    }
}
