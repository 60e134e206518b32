package dev.unmask.engine.decode;

/**
 * A region of a canvas as text while it is being denoised ({@link AnswerText#draft}): committed tokens decoded,
 * every still-masked position shown as a glyph, end-of-text tokens left out. What the API's {@code "diffusing": true}
 * drafts and the terminal's live view ({@code unmask run}) show.
 *
 * @param text   the region's text, masks shown as the glyph
 * @param masked positions still masked in the region
 */
public record DraftText(String text, int masked) {

    /** Light shade, U+2591: reads as "not yet written" in a terminal and in JSON alike. */
    public static final String MASK_GLYPH = "\u2591";
}
