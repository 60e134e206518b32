package dev.unmask.openai;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unmask.engine.decode.TokenLogprob;
import dev.unmask.engine.request.GenerationRequest;
import dev.unmask.engine.request.JsonSkeleton;
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
 * @param n            how many choices to generate, 1 to {@link #MAX_CHOICES}: batch rows of one request, choice
 *                     {@code i} seeded with {@code seed + i}
 * @param logprobs     null = no log-probabilities; else report them with this many candidates per token (chat's
 *                     {@code top_logprobs} under {@code logprobs: true}, completions' {@code logprobs: N})
 * @param responseSchema {@code response_format.json_schema.schema}: structured output; null for text
 */
public record GenerationParams(
        Integer maxTokens,
        Double temperature,
        Double topP,
        List<String> stop,
        Long seed,
        boolean stream,
        boolean includeUsage,
        DiffusionControls diffusion,
        int n,
        Integer logprobs,
        JsonNode responseSchema) {

    public static final int MAX_STOP_SEQUENCES = 4;

    /**
     * The most choices one request may ask for: each is a row of the batch, so a request cannot take more than a
     * batch's worth of the server (and the server's {@code max-batch} may bound it further).
     */
    public static final int MAX_CHOICES = 8;

    /** OpenAI's bound on {@code top_logprobs}; a package's head (its {@code top_k}) may bound it further. */
    public static final int MAX_TOP_LOGPROBS = TokenLogprob.MAX_ALTERNATIVES;

    public GenerationParams {
        stop = stop == null ? List.of() : List.copyOf(stop);
        diffusion = diffusion == null ? DiffusionControls.NONE : diffusion;
        if (n < 1 || n > MAX_CHOICES) {
            throw new IllegalArgumentException("n must be 1 to " + MAX_CHOICES + ", e.g. 1; got " + n);
        }
    }

    /** One choice, no log-probabilities, a text answer (no {@code response_format}). */
    public GenerationParams(
            Integer maxTokens,
            Double temperature,
            Double topP,
            List<String> stop,
            Long seed,
            boolean stream,
            boolean includeUsage,
            DiffusionControls diffusion) {
        this(maxTokens, temperature, topP, stop, seed, stream, includeUsage, diffusion, 1, null, null);
    }

    /** The seed of choice {@code index}: {@code seed + index}, so that choice 0 is the answer of the same request with n = 1. */
    static long choiceSeed(long seed, int index) {
        return seed + index;
    }

    private static final String SCHEMA_EXAMPLE = "\"response_format\": {\"type\": \"json_schema\", \"json_schema\": "
            + "{\"name\": \"person\", \"schema\": " + JsonSkeleton.EXAMPLE + "}}";

    /**
     * {@code response_format}: {@code text} (or absent) is a text answer; {@code json_schema} gives its
     * {@code json_schema.schema} for the engine to check and lay out; {@code json_object} is refused, because a
     * diffusion canvas needs the answer's skeleton before the first step and JSON mode names none (any generic one
     * would be keys the client never asked for). OpenAI's shape: {@code {"type": "json_schema", "json_schema":
     * {"name", "description", "schema", "strict"}}} (openai-python {@code ResponseFormatJSONSchema}); {@code name}
     * and {@code strict} are read and not needed: the answer always follows the schema.
     */
    static JsonNode responseSchema(JsonNode body) {
        JsonNode format = body.get("response_format");
        if (format == null || format.isNull()) {
            return null;
        }
        if (!format.isObject()) {
            throw Fields.wrongType("response_format", "an object", SCHEMA_EXAMPLE, format);
        }
        String type = format.path("type").asText("");
        switch (type) {
            case "text" -> {
                return null;
            }
            case "json_schema" -> {
                JsonNode spec = format.get("json_schema");
                if (spec == null || !spec.isObject()) {
                    throw ApiException.invalid(
                            "response_format",
                            "'response_format' of type json_schema needs a 'json_schema' object, e.g. "
                                    + SCHEMA_EXAMPLE);
                }
                Fields.string(spec, "name", "\"name\": \"person\"");
                Fields.bool(spec, "strict", "\"strict\": true");
                JsonNode schema = spec.get("schema");
                if (schema == null || !schema.isObject()) {
                    throw ApiException.invalid(
                            "response_format",
                            "'response_format.json_schema.schema' must be a JSON Schema object, e.g. " + SCHEMA_EXAMPLE
                                    + "; got " + Fields.describe(schema));
                }
                return schema;
            }
            case "json_object" ->
                throw ApiException.invalid(
                        "response_format",
                        "unsupported_parameter",
                        "\"response_format\": {\"type\": \"json_object\"} is not supported: this server writes "
                                + "structured output into a skeleton fixed from a schema before decoding, and JSON mode "
                                + "gives none; send a schema instead, e.g. " + SCHEMA_EXAMPLE);
            default ->
                throw ApiException.invalid(
                        "response_format",
                        "'response_format.type' must be text or json_schema, e.g. " + SCHEMA_EXAMPLE + "; got "
                                + Fields.describe(format.get("type")));
        }
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
        Integer n = Fields.integer(body, "n", "\"n\": 2");
        if (n != null && (n < 1 || n > MAX_CHOICES)) {
            throw ApiException.invalid(
                    "n",
                    "'n' must be between 1 and " + MAX_CHOICES + " (each choice is a row of one batch), e.g. \"n\": 2;"
                            + " got " + n + ": send several requests for more");
        }
        return new GenerationParams(
                maxTokens,
                temperature,
                topP,
                stop,
                seed,
                stream,
                includeUsage,
                diffusion,
                n == null ? 1 : n,
                chat ? chatLogprobs(body) : completionLogprobs(body),
                responseSchema(body));
    }

    /** Chat: {@code logprobs: true} turns them on, {@code top_logprobs} (0 to 20) asks for candidates, only with it. */
    private static Integer chatLogprobs(JsonNode body) {
        boolean on = Boolean.TRUE.equals(Fields.bool(body, "logprobs", "\"logprobs\": true"));
        Integer top = Fields.integer(body, "top_logprobs", "\"top_logprobs\": 3");
        if (top != null && !on) {
            throw ApiException.invalid(
                    "top_logprobs",
                    "'top_logprobs' needs \"logprobs\": true, e.g. \"logprobs\": true, \"top_logprobs\": 3");
        }
        if (top != null && (top < 0 || top > MAX_TOP_LOGPROBS)) {
            throw ApiException.invalid(
                    "top_logprobs",
                    "'top_logprobs' must be between 0 and " + MAX_TOP_LOGPROBS + ", e.g. \"top_logprobs\": 3; got "
                            + top);
        }
        return on ? (top == null ? 0 : top) : null;
    }

    /** Completions: {@code logprobs: N} (0 to 20) reports them with N candidates per token. */
    private static Integer completionLogprobs(JsonNode body) {
        JsonNode v = body.get("logprobs");
        if (v != null && v.isBoolean()) {
            throw Fields.wrongType(
                    "logprobs",
                    "an integer (the candidates per token; chat's endpoint takes \"logprobs\": true)",
                    "\"logprobs\": 3",
                    v);
        }
        Integer top = Fields.integer(body, "logprobs", "\"logprobs\": 3");
        if (top != null && (top < 0 || top > MAX_TOP_LOGPROBS)) {
            throw ApiException.invalid(
                    "logprobs",
                    "'logprobs' must be between 0 and " + MAX_TOP_LOGPROBS + ", e.g. \"logprobs\": 3; got " + top);
        }
        return top;
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
                .cache(diffusion.cache())
                .cacheRefresh(diffusion.cacheRefresh())
                .stop(stop)
                .seed(seed)
                .responseSchema(responseSchema)
                .build();
    }
}
