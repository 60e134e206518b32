package dev.unmask.openai;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * One position of a {@link Draft}'s region: {@code {"text": " def", "committed_at_step": 3}}, or
 * {@code {"text": null, "committed_at_step": null}} while it is still masked. Both fields are always written, so a
 * client tells a mask from an end-of-text token ({@code "text": ""}) without guessing.
 *
 * @param text            the position's token decoded alone; {@code ""} for an end-of-text token; null while masked
 * @param committedAtStep the 0-based step of the whole run (block 1's steps follow block 0's) that committed it, the
 *                        step of the draft it first appears in; null while masked
 */
@JsonInclude(JsonInclude.Include.ALWAYS)
public record DraftToken(String text, Integer committedAtStep) {

    public static final DraftToken MASKED = new DraftToken(null, null);

    public DraftToken {
        if ((text == null) != (committedAtStep == null)) {
            throw new IllegalArgumentException("a draft token is committed (text and step, e.g. new DraftToken(\" def\""
                    + ", 3)) or masked (DraftToken.MASKED), not half of each: " + text + ", " + committedAtStep);
        }
    }
}
