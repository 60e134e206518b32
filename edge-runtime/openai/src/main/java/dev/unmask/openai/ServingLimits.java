package dev.unmask.openai;

import dev.unmask.engine.request.Limits;

/**
 * What one request may ask of the server, on top of what the model allows.
 *
 * @param maxTokens       the largest {@code max_tokens} (generated tokens per request)
 * @param maxSteps        the largest {@code steps} (forward passes per request)
 * @param maxCanvasTokens the longest canvas (prompt plus generated region) in tokens; 0 = the model's
 *                        {@code max_sequence_length}
 */
public record ServingLimits(int maxTokens, int maxSteps, int maxCanvasTokens) {

    public ServingLimits {
        if (maxTokens < 1) {
            throw new IllegalArgumentException("maxTokens must be at least 1, e.g. 256; got " + maxTokens);
        }
        if (maxSteps < 1) {
            throw new IllegalArgumentException("maxSteps must be at least 1, e.g. 256; got " + maxSteps);
        }
        if (maxCanvasTokens < 0) {
            throw new IllegalArgumentException(
                    "maxCanvasTokens must be 0 (the model's) or positive, e.g. 512; got " + maxCanvasTokens);
        }
    }

    public static ServingLimits defaults() {
        return new ServingLimits(512, 512, 0);
    }

    /** The same limits as the engine's planner takes them ({@code max_tokens} bounds the length to generate). */
    public Limits planning() {
        return new Limits(maxTokens, maxSteps, maxCanvasTokens);
    }
}
