package dev.unmask.openai;

import dev.unmask.engine.request.InvalidRequestException;
import dev.unmask.engine.request.Phrasing;
import dev.unmask.engine.request.RequestField;
import dev.unmask.engine.request.Violation;

/**
 * The API's names for the engine's request fields: the one table that turns the planner's violations into 400s
 * whose {@code param} and message use the fields as a client sends them.
 */
final class ApiFields implements Phrasing {

    static final ApiFields CHAT = new ApiFields(true);
    static final ApiFields COMPLETION = new ApiFields(false);

    private final boolean chat;

    private ApiFields(boolean chat) {
        this.chat = chat;
    }

    /** The request field behind {@code field}, as sent. */
    String param(RequestField field) {
        return switch (field) {
            case PROMPT -> chat ? "messages" : "prompt";
            case LENGTH, MAX_TOKENS -> "max_tokens";
            case BLOCK_LENGTH -> "block_length";
            case STEPS -> "steps";
            case TEMPERATURE -> "temperature";
            case TOP_K -> "top_k";
            case TOP_P -> "top_p";
            case CFG_SCALE -> "cfg_scale";
            case THRESHOLD -> "confidence_threshold";
            case FACTOR -> "factor";
            case STOP -> "stop";
            case REMASKING -> "remasking";
            case CONFIDENCE -> "confidence";
            case ALG -> "alg";
            case ALG_TEMP -> "alg_temp";
            case EPS -> "eps";
            case RESPONSE_SCHEMA -> "response_format";
            case CACHE -> "cache";
            case CACHE_REFRESH -> "cache_refresh";
        };
    }

    @Override
    public String name(RequestField field) {
        return "'" + param(field) + "'";
    }

    @Override
    public String example(RequestField field, String value) {
        if (field == RequestField.RESPONSE_SCHEMA) {
            return "\"response_format\": {\"type\": \"json_schema\", \"json_schema\": {\"name\": \"person\", "
                    + "\"schema\": " + value + "}}";
        }
        return "\"" + param(field) + "\": " + (field == RequestField.CACHE ? "\"" + value + "\"" : value);
    }

    /** A 400 about the first violation's field, with every violation in the message. */
    ApiException toApi(InvalidRequestException e) {
        Violation first = e.violations().get(0);
        String code = first.kind() == Violation.Kind.CONTEXT_LENGTH ? "context_length_exceeded" : "invalid_value";
        // the violations ride along as the cause, for a surface that names the fields its own way
        // (OpenAiService.generate)
        return new ApiException(
                ErrorKind.INVALID_REQUEST, e.phrased(this).getMessage(), param(first.field()), code, 0, e);
    }
}
