package dev.unmask.openai;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unmask.engine.request.GenerationRequest;
import java.util.List;

/**
 * The sampling fields both endpoints share, as sent; null where absent (the server's defaults apply). Read here for
 * their types and OpenAI's own rules (temperature up to 2, at most 4 stop sequences); every other check is the
 * engine planner's, on {@link #request}.
 *
 * @param maxTokens    most tokens to generate ({@code max_tokens}; chat also reads {@code max_completion_tokens})
 * @param temperature  0 = greedy, up to 2
 * @param topP         nucleus sampling, (0, 1]
 * @param stop         up to 4 stop sequences; the text ends before the first one
 * @param seed         the sampler's seed: the same seed gives the same text
 * @param stream       answer as server-sent events
 * @param includeUsage {@code stream_options.include_usage}: a last chunk with the token counts
 * @param diffusion    the diffusion extras
 */
public record GenerationParams(
        Integer maxTokens,
        Double temperature,
        Double topP,
        List<String> stop,
        Long seed,
        boolean stream,
        boolean includeUsage,
        DiffusionControls diffusion) {

    public static final int MAX_STOP_SEQUENCES = 4;

    public GenerationParams {
        stop = stop == null ? List.of() : List.copyOf(stop);
        diffusion = diffusion == null ? DiffusionControls.NONE : diffusion;
    }

    static GenerationParams read(JsonNode body, boolean chat) {
        Integer maxTokens = Fields.integer(body, "max_tokens", "\"max_tokens\": 64");
        if (chat && maxTokens == null) {
            maxTokens = Fields.integer(body, "max_completion_tokens", "\"max_completion_tokens\": 64");
        }
        Double temperature = Fields.number(body, "temperature", "\"temperature\": 0.7");
        if (temperature != null
                && !(temperature >= 0 && temperature <= 2)) { // OpenAI's range, narrower than the engine's
            throw ApiException.invalid(
                    "temperature",
                    "'temperature' must be between 0 (greedy) and 2, e.g. \"temperature\": 0.7; got " + temperature);
        }
        Double topP = Fields.number(body, "top_p", "\"top_p\": 0.95");
        List<String> stop = Fields.stop(body, "stop", MAX_STOP_SEQUENCES);
        Long seed = Fields.longInteger(body, "seed", "\"seed\": 42");
        boolean stream = Boolean.TRUE.equals(Fields.bool(body, "stream", "\"stream\": true"));
        boolean includeUsage = false;
        JsonNode streamOptions = body.get("stream_options");
        if (streamOptions != null && !streamOptions.isNull()) {
            if (!streamOptions.isObject()) {
                throw Fields.wrongType(
                        "stream_options", "an object", "\"stream_options\": {\"include_usage\": true}", streamOptions);
            }
            if (!stream) {
                throw ApiException.invalid(
                        "stream_options",
                        "'stream_options' is only allowed with \"stream\": true: "
                                + "add \"stream\": true or leave stream_options out");
            }
            includeUsage = Boolean.TRUE.equals(
                    Fields.bool(streamOptions, "include_usage", "\"stream_options\": {\"include_usage\": true}"));
        }
        DiffusionControls diffusion = DiffusionControls.read(body);
        if (diffusion.diffusing() && !stream) {
            throw ApiException.invalid(
                    "diffusing",
                    "'diffusing' streams the drafts and needs \"stream\": true: "
                            + "add \"stream\": true or leave diffusing out");
        }
        Unsupported.check(body, chat);
        return new GenerationParams(maxTokens, temperature, topP, stop, seed, stream, includeUsage, diffusion);
    }

    /** The engine's request for {@code prompt} with these fields: {@code max_tokens} is the length to generate. */
    public GenerationRequest request(GenerationRequest.Prompt prompt) {
        return GenerationRequest.builder(prompt)
                .length(maxTokens)
                .blockLength(diffusion.blockLength())
                .steps(diffusion.steps())
                .temperature(temperature)
                .topP(topP)
                .remasking(diffusion.remasking())
                .threshold(diffusion.confidenceThreshold())
                .cfgScale(diffusion.cfgScale())
                .confidence(diffusion.confidence())
                .alg(diffusion.alg())
                .algTemp(diffusion.algTemp())
                .eps(diffusion.eps())
                .stop(stop)
                .seed(seed)
                .build();
    }
}
