package dev.unmask.openai;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unmask.engine.decode.Remasking;
import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * The request fields a diffusion model adds to OpenAI's, all optional; absent ones take the package's defaults. Read
 * here for their types; their values are checked once, by the engine's planner, with messages in the API's words.
 *
 * <pre>{@code
 * {"model": "tiny-llada", "prompt": "def add(a, b):", "max_tokens": 64,
 *  "steps": 32, "block_length": 32, "remasking": "low_confidence", "confidence_threshold": 0.9,
 *  "cfg_scale": 0, "seed": 7, "diffusing": true}
 * }</pre>
 *
 * @param steps               denoising steps (forward passes) over all blocks, a multiple of the number of blocks
 * @param blockLength         tokens per semi-autoregressive block; blocks are resolved left to right
 * @param remasking           which positions each step commits: {@code low_confidence} (default) or {@code random}
 * @param confidenceThreshold Fast-dLLM parallel decoding: commit every position at least this sure, in (0, 1]
 * @param cfgScale            classifier-free guidance scale, 0 = off; needs a package with full logits
 * @param diffusing           stream the intermediate drafts as the text denoises (with {@code stream: true})
 */
public record DiffusionControls(
        Integer steps,
        Integer blockLength,
        Remasking remasking,
        Double confidenceThreshold,
        Double cfgScale,
        boolean diffusing) {

    public static final DiffusionControls NONE = new DiffusionControls(null, null, null, null, null, false);

    static DiffusionControls read(JsonNode body) {
        Integer steps = Fields.integer(body, "steps", "\"steps\": 32");
        Integer blockLength = Fields.integer(body, "block_length", "\"block_length\": 32");
        String remaskingName = Fields.string(body, "remasking", "\"remasking\": \"low_confidence\"");
        Remasking remasking = null;
        if (remaskingName != null) {
            remasking = Arrays.stream(Remasking.values())
                    .filter(r -> r.id().equals(remaskingName))
                    .findFirst()
                    .orElseThrow(() -> ApiException.invalid(
                            "remasking",
                            "'remasking' must be one of "
                                    + Arrays.stream(Remasking.values())
                                            .map(r -> "\"" + r.id() + "\"")
                                            .collect(Collectors.joining(", "))
                                    + ", e.g. \"remasking\": \"low_confidence\"; got \"" + remaskingName + "\""));
        }
        Double threshold = Fields.number(body, "confidence_threshold", "\"confidence_threshold\": 0.9");
        Double cfgScale = Fields.number(body, "cfg_scale", "\"cfg_scale\": 1.5");
        Boolean diffusing = Fields.bool(body, "diffusing", "\"diffusing\": true");
        return new DiffusionControls(
                steps, blockLength, remasking, threshold, cfgScale, Boolean.TRUE.equals(diffusing));
    }
}
