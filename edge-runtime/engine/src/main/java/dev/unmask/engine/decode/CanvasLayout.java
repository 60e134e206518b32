package dev.unmask.engine.decode;

import java.util.Arrays;

/**
 * The starting canvas of a generation: fixed tokens, and the masked region {@code [genStart, genStart+genLength)}
 * that the blocks cover. Tokens inside the region that are not the mask id stay fixed (constrained generation);
 * a fixed suffix may follow the region (infilling).
 *
 * @param tokens    [sequence] the whole canvas, mask ids where the model is to write
 * @param genStart  first position of the region
 * @param genLength length of the region
 */
public record CanvasLayout(long[] tokens, int genStart, int genLength) {

    public CanvasLayout {
        tokens = tokens.clone();
        if (genStart < 0 || genLength < 1 || genStart + genLength > tokens.length) {
            throw new IllegalArgumentException("The generated region [" + genStart + ", " + (genStart + genLength)
                    + ") does not lie inside a canvas of " + tokens.length + " tokens");
        }
    }

    /** {@code prompt} followed by {@code genLength} masks: LLaDA's {@code generate()}. */
    public static CanvasLayout continuation(long[] prompt, int genLength, long maskId) {
        long[] tokens = Arrays.copyOf(prompt, prompt.length + genLength);
        Arrays.fill(tokens, prompt.length, tokens.length, maskId);
        return new CanvasLayout(tokens, prompt.length, genLength);
    }

    /** {@code prefix}, {@code middleLength} masks, {@code suffix}: fill in the middle. */
    public static CanvasLayout infill(long[] prefix, long[] suffix, int middleLength, long maskId) {
        long[] tokens = new long[prefix.length + middleLength + suffix.length];
        System.arraycopy(prefix, 0, tokens, 0, prefix.length);
        Arrays.fill(tokens, prefix.length, prefix.length + middleLength, maskId);
        System.arraycopy(suffix, 0, tokens, prefix.length + middleLength, suffix.length);
        return new CanvasLayout(tokens, prefix.length, middleLength);
    }

    /**
     * A text whose {@code <|mdm_mask|>} placeholders mark what to write: the region runs from the first mask to
     * the last, and every token between them that is not a mask stays fixed.
     */
    public static CanvasLayout ofPlaceholders(long[] tokens, long maskId) {
        int first = -1;
        int last = -1;
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] == maskId) {
                if (first < 0) {
                    first = i;
                }
                last = i;
            }
        }
        if (first < 0) {
            throw new IllegalArgumentException(
                    "The text has no <|mdm_mask|> placeholder: put one mask token where each "
                            + "token is to be written, e.g. \"def add(a, b):\\n    return <|mdm_mask|><|mdm_mask|><|mdm_mask|>\"");
        }
        return new CanvasLayout(tokens, first, last - first + 1);
    }

    /** [sequence] a copy of the canvas: a layout is a plan's, and every run of it denoises its own copy. */
    @Override
    public long[] tokens() {
        return tokens.clone();
    }

    public int length() {
        return tokens.length;
    }

    /** true when nothing follows the region (a continuation rather than an infill). */
    public boolean regionEndsCanvas() {
        return genStart + genLength == tokens.length;
    }

    public int maskedCount(long maskId) {
        int n = 0;
        for (int i = genStart; i < genStart + genLength; i++) {
            if (tokens[i] == maskId) {
                n++;
            }
        }
        return n;
    }
}
