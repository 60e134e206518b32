package dev.unmask.engine.decode;

import java.util.Arrays;

/**
 * The end state of a {@link DenoisingRun}.
 *
 * @param canvas        [sequence] the final canvas (mask ids remain only where a stop rule ended the run early)
 * @param genStart      first position of the generated region
 * @param genLength     length of the generated region
 * @param reason        why the run ended
 * @param steps         denoising steps taken (model forward passes for this request)
 * @param modelNanos    time spent in the model's forward passes this request took part in
 * @param samplerNanos  time spent choosing and committing tokens
 * @param continuation  true when nothing follows the region (text is then cut at the first end-of-text token)
 */
public record Denoised(
        long[] canvas,
        int genStart,
        int genLength,
        FinishReason reason,
        int steps,
        long modelNanos,
        long samplerNanos,
        boolean continuation) {

    /** [genLength] the generated region as it stands. */
    public long[] region() {
        return Arrays.copyOfRange(canvas, genStart, genStart + genLength);
    }
}
