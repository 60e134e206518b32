package dev.unmask.openai;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unmask.engine.decode.Remasking;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * The request fields a diffusion model adds to OpenAI's, all optional; absent ones take the package's defaults.
 *
 * <pre>{@code
 * {"model": "tiny-llada", "prompt": "def add(a, b):", "max_tokens": 64,
 *  "steps": 32, "block_length": 32, "remasking": "low_confidence", "confidence_threshold": 0.9,
 *  "cfg_scale": 0, "seed": 7, "diffusing": true}
 * }</pre>
 *
 * @param steps               denoising steps (forward passes) over all blocks; between the number of blocks and the
 *                            generated length, a multiple of the number of blocks unless a threshold is given
 * @param blockLength         tokens per semi-autoregressive block; blocks are resolved left to right
 * @param remasking           which positions each step commits: {@code low_confidence} (default) or {@code random}
 * @param confidenceThreshold Fast-dLLM parallel decoding: commit every position at least this sure, in (0, 1]
 * @param cfgScale            classifier-free guidance scale, 0 = off; needs a package with full logits
 * @param diffusing           stream the intermediate drafts as the text denoises (with {@code stream: true})
 */
public record DiffusionControls(Integer steps, Integer blockLength, Remasking remasking, Double confidenceThreshold,
                                Double cfgScale, boolean diffusing) {

    public static final DiffusionControls NONE = new DiffusionControls(null, null, null, null, null, false);

    static DiffusionControls read(JsonNode body) {
        Integer steps = Fields.integer(body, "steps", "\"steps\": 32");
        Integer blockLength = Fields.integer(body, "block_length", "\"block_length\": 32");
        String remaskingName = Fields.string(body, "remasking", "\"remasking\": \"low_confidence\"");
        Remasking remasking = null;
        if (remaskingName != null) {
            remasking = Arrays.stream(Remasking.values()).filter(r -> r.id().equals(remaskingName)).findFirst()
                    .orElseThrow(() -> ApiException.invalid("remasking", "'remasking' must be one of "
                            + Arrays.stream(Remasking.values()).map(r -> "\"" + r.id() + "\"").collect(Collectors.joining(", "))
                            + ", e.g. \"remasking\": \"low_confidence\"; got \"" + remaskingName + "\""));
        }
        Double threshold = Fields.number(body, "confidence_threshold", "\"confidence_threshold\": 0.9");
        if (threshold != null && !(threshold > 0 && threshold <= 1)) {
            throw ApiException.invalid("confidence_threshold", "'confidence_threshold' must be in (0, 1], e.g. "
                    + "\"confidence_threshold\": 0.9 (Fast-dLLM's default); got " + threshold);
        }
        Double cfgScale = Fields.number(body, "cfg_scale", "\"cfg_scale\": 1.5");
        if (cfgScale != null && !(cfgScale >= 0 && cfgScale <= 100)) {
            throw ApiException.invalid("cfg_scale", "'cfg_scale' must be between 0 (off) and 100, e.g. \"cfg_scale\": 1.5; got " + cfgScale);
        }
        Boolean diffusing = Fields.bool(body, "diffusing", "\"diffusing\": true");
        if (steps != null && steps < 1) {
            throw ApiException.invalid("steps", "'steps' must be at least 1, e.g. \"steps\": 32; got " + steps);
        }
        if (blockLength != null && blockLength < 1) {
            throw ApiException.invalid("block_length", "'block_length' must be at least 1, e.g. \"block_length\": 32; got " + blockLength);
        }
        return new DiffusionControls(steps, blockLength, remasking, threshold, cfgScale, Boolean.TRUE.equals(diffusing));
    }
}
