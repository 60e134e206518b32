package dev.unmask.openai;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * OpenAI fields this server cannot honour and that would change the answer if silently ignored. Sent with a value
 * that asks for the feature, they are a 400 saying what to send instead; sent with their neutral value (e.g.
 * {@code "best_of": 1}, {@code "echo": false}, {@code "presence_penalty": 0}) they are accepted. ({@code n},
 * {@code logprobs} and {@code top_logprobs} are honoured: {@link GenerationParams}.) Fields that only
 * label a request ({@code user}, {@code metadata}, {@code store}, ...) are ignored.
 */
final class Unsupported {

    private Unsupported() {}

    static void check(JsonNode body, boolean chat) {
        Integer bestOf = Fields.integer(body, "best_of", "\"best_of\": 1");
        if (bestOf != null && bestOf != 1) {
            throw ApiException.invalid(
                    "best_of", "unsupported_parameter", "Only \"best_of\": 1 is supported: leave best_of out");
        }
        if (Boolean.TRUE.equals(Fields.bool(body, "echo", "\"echo\": false"))) {
            throw ApiException.invalid(
                    "echo",
                    "unsupported_parameter",
                    "\"echo\": true is not supported: leave echo out " + "and prepend the prompt yourself");
        }
        for (String field : new String[] {"tools", "functions"}) {
            JsonNode v = body.get(field);
            if (v != null && !v.isNull() && !(v.isArray() && v.isEmpty())) {
                throw ApiException.invalid(
                        field,
                        "unsupported_parameter",
                        "'" + field + "' (tool calling) is not supported " + "by this server: leave " + field
                                + " out and describe the tool in the prompt");
            }
        }
        JsonNode toolChoice = body.get("tool_choice");
        if (toolChoice != null
                && !toolChoice.isNull()
                && !(toolChoice.isTextual() && toolChoice.textValue().equals("none"))) {
            throw ApiException.invalid(
                    "tool_choice",
                    "unsupported_parameter",
                    "'tool_choice' is not supported: leave it out or send \"none\"");
        }
        // response_format: read by GenerationParams.responseSchema (text and json_schema honoured)
        JsonNode logitBias = body.get("logit_bias");
        if (logitBias != null && !logitBias.isNull() && !(logitBias.isObject() && logitBias.isEmpty())) {
            throw ApiException.invalid(
                    "logit_bias", "unsupported_parameter", "'logit_bias' is not supported: leave it out");
        }
        for (String field : new String[] {"presence_penalty", "frequency_penalty"}) {
            Double v = Fields.number(body, field, "\"" + field + "\": 0");
            if (v != null && v != 0) {
                throw ApiException.invalid(
                        field,
                        "unsupported_parameter",
                        "'" + field + "' is not supported (a diffusion model "
                                + "writes all positions at once, so there is no history to penalise): send \"" + field
                                + "\": 0 or leave it out");
            }
        }
        JsonNode functionCall = body.get("function_call"); // the deprecated spelling of tool_choice
        if (functionCall != null
                && !functionCall.isNull()
                && !(functionCall.isTextual() && functionCall.textValue().equals("none"))) {
            throw ApiException.invalid(
                    "function_call",
                    "unsupported_parameter",
                    "'function_call' (tool calling) is not supported: leave it out or send \"none\"");
        }
        for (String field : new String[] {"audio", "modalities", "prediction", "web_search_options"}) {
            if (chat && Fields.given(body, field)) {
                throw ApiException.invalid(
                        field, "unsupported_parameter", "'" + field + "' is not supported: leave it out");
            }
        }
    }
}
