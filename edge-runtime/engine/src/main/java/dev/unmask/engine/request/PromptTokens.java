package dev.unmask.engine.request;

/**
 * A request's {@link GenerationRequest.Prompt} as tokens ({@code Engine.encode}): what the planner lays the canvas
 * out from. Arrays are the caller's; the planner copies what it keeps.
 */
public sealed interface PromptTokens {

    /** Tokens the model is given rather than asked for. */
    int fixedTokens();

    /** The prompt's tokens (BOS included, or the rendered chat), then the region. */
    record Continuation(long[] prompt) implements PromptTokens {
        @Override
        public int fixedTokens() {
            return prompt.length;
        }
    }

    /** The prefix's tokens (BOS included), the region, the suffix's tokens. */
    record Infill(long[] prefix, long[] suffix) implements PromptTokens {
        @Override
        public int fixedTokens() {
            return prefix.length + suffix.length;
        }
    }

    /** A whole canvas whose mask ids are the placeholders: the region runs from the first to the last one. */
    record Placeholders(long[] tokens) implements PromptTokens {
        @Override
        public int fixedTokens() {
            return tokens.length;
        }
    }
}
