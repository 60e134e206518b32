package dev.unmask.engine.request;

/**
 * What a surface lets one request ask for, on top of what the model allows.
 *
 * @param maxLength       the most tokens to generate (and the longest block)
 * @param maxSteps        the most denoising steps (forward passes)
 * @param maxCanvasTokens the longest canvas (prompt plus region); 0 = the model's {@code max_sequence_length}
 */
public record Limits(int maxLength, int maxSteps, int maxCanvasTokens) {

    /** The engine's own bound on a region. */
    public static final int MAX_LENGTH = 1 << 16;

    /** Only what the model allows: the command line's limits. */
    public static final Limits NONE = new Limits(MAX_LENGTH, MAX_LENGTH, 0);

    public Limits {
        if (maxLength < 1 || maxLength > MAX_LENGTH) {
            throw new IllegalArgumentException(
                    "maxLength must be between 1 and " + MAX_LENGTH + ", e.g. 512; got " + maxLength);
        }
        if (maxSteps < 1) {
            throw new IllegalArgumentException("maxSteps must be at least 1, e.g. 512; got " + maxSteps);
        }
        if (maxCanvasTokens < 0) {
            throw new IllegalArgumentException(
                    "maxCanvasTokens must be 0 (the model's) or positive, e.g. 512; got " + maxCanvasTokens);
        }
    }
}
