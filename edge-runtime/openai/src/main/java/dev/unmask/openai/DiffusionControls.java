package dev.unmask.openai;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unmask.engine.decode.ConfidenceMeasure;
import dev.unmask.engine.decode.KvCacheMode;
import dev.unmask.engine.decode.Remasking;
import dev.unmask.engine.request.DreamAlg;
import java.util.Arrays;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The request fields a diffusion model adds to OpenAI's, all optional; absent ones take the package's defaults. Read
 * here for their types; their values are checked once, by the engine's planner, with messages in the API's words.
 *
 * <pre>{@code
 * {"model": "tiny-llada", "prompt": "def add(a, b):", "max_tokens": 64,
 *  "steps": 32, "block_length": 32, "remasking": "low_confidence", "confidence_threshold": 0.9,
 *  "cfg_scale": 0, "seed": 7, "diffusing": true, "cache": "dual", "cache_refresh": 8}
 * {"model": "tiny-dream", "prompt": "def add(a, b):", "max_tokens": 64, "alg": "entropy", "alg_temp": 0, "eps": 0.001}
 * }</pre>
 *
 * @param steps               denoising steps (forward passes) over all blocks, a multiple of the number of blocks
 * @param blockLength         tokens per semi-autoregressive block; blocks are resolved left to right
 * @param remasking           which positions each step commits: {@code low_confidence} (default), {@code random} or
 *                            {@code origin} (Dream's)
 * @param confidenceThreshold Fast-dLLM parallel decoding: commit every position at least this sure, in (0, 1]
 * @param cfgScale            classifier-free guidance scale, 0 = off; needs a package with full logits
 * @param diffusing           stream the intermediate drafts as the text denoises (with {@code stream: true})
 * @param confidence          how positions are ranked: {@code probability}, {@code margin} or {@code entropy}
 * @param alg                 Dream's decoding algorithm: {@code origin}, {@code maskgit_plus}, {@code topk_margin},
 *                            {@code entropy} (sets remasking, confidence and Dream's timesteps schedule)
 * @param algTemp             Dream's {@code alg_temp}: above 0 the committed positions are drawn from
 *                            {@code softmax(confidence / alg_temp)}
 * @param eps                 where Dream's timesteps end, in (0, 1)
 * @param cache               the key/value cache: {@code none}, {@code prefix} or {@code dual}; absent = the model
 *                            family's default
 * @param cacheRefresh        also refresh the cache every N steps within a block; 0 = at block starts only
 */
public record DiffusionControls(
        Integer steps,
        Integer blockLength,
        Remasking remasking,
        Double confidenceThreshold,
        Double cfgScale,
        boolean diffusing,
        ConfidenceMeasure confidence,
        DreamAlg alg,
        Double algTemp,
        Double eps,
        KvCacheMode cache,
        Integer cacheRefresh) {

    public static final DiffusionControls NONE = new DiffusionControls(null, null, null, null, null, false);

    /** Without a cache choice: the family's default cache. */
    public DiffusionControls(
            Integer steps,
            Integer blockLength,
            Remasking remasking,
            Double confidenceThreshold,
            Double cfgScale,
            boolean diffusing,
            ConfidenceMeasure confidence,
            DreamAlg alg,
            Double algTemp,
            Double eps) {
        this(
                steps,
                blockLength,
                remasking,
                confidenceThreshold,
                cfgScale,
                diffusing,
                confidence,
                alg,
                algTemp,
                eps,
                null,
                null);
    }

    /** LLaDA's controls, Dream's absent. */
    public DiffusionControls(
            Integer steps,
            Integer blockLength,
            Remasking remasking,
            Double confidenceThreshold,
            Double cfgScale,
            boolean diffusing) {
        this(steps, blockLength, remasking, confidenceThreshold, cfgScale, diffusing, null, null, null, null);
    }

    public static DiffusionControls read(JsonNode body) {
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
        ConfidenceMeasure confidence = named(
                body, "confidence", ConfidenceMeasure.values(), ConfidenceMeasure::id, "\"confidence\": \"entropy\"");
        DreamAlg alg = named(body, "alg", DreamAlg.values(), DreamAlg::id, "\"alg\": \"entropy\"");
        Double algTemp = Fields.number(body, "alg_temp", "\"alg_temp\": 0.5");
        Double eps = Fields.number(body, "eps", "\"eps\": 0.001");
        KvCacheMode cache = named(body, "cache", KvCacheMode.values(), KvCacheMode::wireName, "\"cache\": \"dual\"");
        Integer cacheRefresh = Fields.integer(body, "cache_refresh", "\"cache_refresh\": 8");
        return new DiffusionControls(
                steps,
                blockLength,
                remasking,
                threshold,
                cfgScale,
                Boolean.TRUE.equals(diffusing),
                confidence,
                alg,
                algTemp,
                eps,
                cache,
                cacheRefresh);
    }

    /** A string field that names one of {@code values}, or null when absent. */
    private static <T> T named(JsonNode body, String field, T[] values, Function<T, String> id, String example) {
        String name = Fields.string(body, field, example);
        if (name == null) {
            return null;
        }
        return Arrays.stream(values)
                .filter(v -> id.apply(v).equals(name))
                .findFirst()
                .orElseThrow(() -> ApiException.invalid(
                        field,
                        "'" + field + "' must be one of "
                                + Arrays.stream(values)
                                        .map(v -> "\"" + id.apply(v) + "\"")
                                        .collect(Collectors.joining(", "))
                                + ", e.g. " + example + "; got \"" + name + "\""));
    }
}
