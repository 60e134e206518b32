package dev.unmask.openai;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * An intermediate state of the generated text, streamed with {@code "diffusing": true} after every denoising step
 * (an extension: OpenAI clients ignore the field). Masked positions read as {@link #MASK_GLYPH}.
 *
 * @param block           0-based block being denoised
 * @param step            0-based step within the block
 * @param text            the whole generated region as it stands, masks shown as {@value #MASK_GLYPH}
 * @param masked          positions still masked in the region
 * @param committedAtStep [region] for each position of the region, the run's step (1-based, counted over all blocks)
 *                        that committed it; 0 for a token fixed before the first step; null while it is still masked.
 *                        A view colours the canvas by it (the web playground); sent as {@code "committed_at_step"}
 * @param tokens          [region] each position's token decoded alone, {@code ""} for an end-of-text token, null
 *                        while masked: the cells of the playground's canvas
 */
public record Draft(
        int block,
        int step,
        String text,
        int masked,
        @JsonInclude(JsonInclude.Include.NON_NULL) List<Integer> committedAtStep,
        @JsonInclude(JsonInclude.Include.NON_NULL) List<String> tokens) {

    public static final String MASK_GLYPH = dev.unmask.engine.decode.DraftText.MASK_GLYPH;

    public Draft {
        committedAtStep = committedAtStep == null ? null : nullable(committedAtStep);
        tokens = tokens == null ? null : nullable(tokens);
        if (committedAtStep != null && tokens != null && committedAtStep.size() != tokens.size()) {
            throw new IllegalArgumentException("a draft has one commit step and one token per position, e.g. "
                    + "committed_at_step [1, null] with tokens [\"def\", null]; got " + committedAtStep.size() + " and "
                    + tokens.size());
        }
    }

    /** A draft without the tokens (the field is then left out). */
    public Draft(int block, int step, String text, int masked, List<Integer> committedAtStep) {
        this(block, step, text, masked, committedAtStep, null);
    }

    /** A draft without the per-position fields (they are then left out). */
    public Draft(int block, int step, String text, int masked) {
        this(block, step, text, masked, null, null);
    }

    /** An unmodifiable copy that keeps nulls (List.copyOf refuses them: here they are the masks). */
    private static <T> List<T> nullable(List<T> values) {
        return Collections.unmodifiableList(new ArrayList<>(values));
    }
}
