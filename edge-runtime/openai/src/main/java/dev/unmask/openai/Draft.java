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
 * @param committedAtStep [region] for each position of the region, the run's step (1-based, counted over all blocks)
 *     that committed it; 0 for a token fixed before the first step; null while it is still masked. A view colours
 *     the canvas by it (the web playground); sent as {@code "committed_at_step"}
 */
public record Draft(
        int block,
        int step,
        String text,
        int masked,
        @JsonInclude(JsonInclude.Include.NON_NULL) List<Integer> committedAtStep) {

    public static final String MASK_GLYPH = dev.unmask.engine.decode.DraftText.MASK_GLYPH;

    /** A draft without the commit steps (the field is then left out). */
    public Draft(int block, int step, String text, int masked) {
        this(block, step, text, masked, null);
    }
}
