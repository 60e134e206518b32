package dev.unmask.engine.request;

/**
 * The fields of a {@link GenerationRequest} a {@link Violation} can be about. Each surface names them in its own
 * words through one small table ({@link Phrasing}): the command line as its flags, the OpenAI API as its params.
 */
public enum RequestField {
    /** what to generate: a prompt, messages, a prefix and suffix, a text with placeholders */
    PROMPT("prompt"),
    /** tokens to generate: the region's length */
    LENGTH("gen_length"),
    BLOCK_LENGTH("block_length"),
    STEPS("steps"),
    TEMPERATURE("temperature"),
    TOP_K("top_k"),
    TOP_P("top_p"),
    CFG_SCALE("cfg_scale"),
    THRESHOLD("threshold"),
    FACTOR("factor"),
    /** the stop rule: stop once the first n generated tokens are resolved */
    MAX_TOKENS("max_tokens"),
    STOP("stop"),
    REMASKING("remasking"),
    CONFIDENCE("confidence"),
    /** Dream's decoding algorithm ({@link DreamAlg}) */
    ALG("alg"),
    ALG_TEMP("alg_temp"),
    /** where Dream's timesteps end */
    EPS("eps"),
    /** structured output: the JSON Schema the answer follows */
    RESPONSE_SCHEMA("json_schema"),
    /** the key/value cache: none, prefix or dual */
    CACHE("cache"),
    /** how often the cache is refreshed within a block */
    CACHE_REFRESH("cache_refresh");

    private final String id;

    RequestField(String id) {
        this.id = id;
    }

    /** The engine's own, surface-neutral name, as in a package's {@code generation_defaults}. */
    public String id() {
        return id;
    }
}
