package dev.unmask.openai;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * An intermediate state of the generated text, streamed with {@code "diffusing": true} after every denoising step
 * (an extension: OpenAI clients ignore the field). Masked positions read as {@link #MASK_GLYPH}.
 *
 * @param block  0-based block being denoised
 * @param step   0-based step within the block
 * @param text   the whole generated region as it stands, masks shown as {@value #MASK_GLYPH}
 * @param masked positions still masked in the region
 * @param tokens the region position by position ({@link DraftToken}): what a view that draws the canvas cell by cell
 *               (the web playground) needs; null (and left out of the JSON) where a caller made a draft without it
 */
public record Draft(
        int block,
        int step,
        String text,
        int masked,
        @JsonInclude(JsonInclude.Include.NON_NULL) List<DraftToken> tokens) {

    public static final String MASK_GLYPH = dev.unmask.engine.decode.DraftText.MASK_GLYPH;

    public Draft {
        tokens = tokens == null ? null : List.copyOf(tokens);
    }

    /** A draft without the per-position view. */
    public Draft(int block, int step, String text, int masked) {
        this(block, step, text, masked, null);
    }
}
