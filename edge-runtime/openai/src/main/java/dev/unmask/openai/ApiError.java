package dev.unmask.openai;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * The error object OpenAI sends, {@code {"error": {"message", "type", "param", "code"}}}; {@code param} and
 * {@code code} are null where they do not apply (and still sent, as OpenAI does).
 */
public record ApiError(Body error) {

    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record Body(String message, String type, String param, String code) {}

    public static ApiError of(String message, String type, String param, String code) {
        return new ApiError(new Body(message, type, param, code));
    }
}
