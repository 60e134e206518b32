package dev.unmask.openai;

/**
 * An intermediate state of the generated text, streamed with {@code "diffusing": true} after every denoising step
 * (an extension: OpenAI clients ignore the field). Masked positions read as {@link #MASK_GLYPH}.
 *
 * @param block  0-based block being denoised
 * @param step   0-based step within the block
 * @param text   the whole generated region as it stands, masks shown as {@value #MASK_GLYPH}
 * @param masked positions still masked in the region
 */
public record Draft(int block, int step, String text, int masked) {

    public static final String MASK_GLYPH = dev.unmask.engine.decode.DraftText.MASK_GLYPH;
}
