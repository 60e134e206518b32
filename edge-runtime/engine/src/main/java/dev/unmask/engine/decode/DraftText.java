package dev.unmask.engine.decode;

import java.util.Arrays;
import java.util.function.Function;

/**
 * A region of a canvas as text while it is being denoised: committed tokens decoded, every still-masked position
 * shown as a glyph, end-of-text tokens left out. The one renderer behind the API's {@code "diffusing": true} drafts
 * and the terminal's live view ({@code unmask run}).
 *
 * @param text   the region's text, masks shown as the glyph
 * @param masked positions still masked in the region
 */
public record DraftText(String text, int masked) {

    /** Light shade, U+2591: reads as "not yet written" in a terminal and in JSON alike. */
    public static final String MASK_GLYPH = "\u2591";

    /**
     * @param canvas  [sequence] the canvas (mask id where still masked)
     * @param from    first position of the region
     * @param end     one past its last position
     * @param decoder ids to text (special tokens skipped)
     */
    public static DraftText of(long[] canvas, int from, int end, ModelTraits traits, Function<long[], String> decoder) {
        StringBuilder text = new StringBuilder();
        int masked = 0;
        int runStart = from;
        // Decode runs of committed tokens together, so that multi-token characters and merged spaces read right.
        for (int i = from; i <= end; i++) {
            boolean isMask = i < end && canvas[i] == traits.maskId();
            if (i == end || isMask) {
                if (i > runStart) {
                    long[] run = Arrays.stream(Arrays.copyOfRange(canvas, runStart, i)).filter(t -> !traits.isEnd(t)).toArray();
                    text.append(decoder.apply(run));
                }
                if (isMask) {
                    text.append(MASK_GLYPH);
                    masked++;
                }
                runStart = i + 1;
            }
        }
        return new DraftText(text.toString(), masked);
    }
}
