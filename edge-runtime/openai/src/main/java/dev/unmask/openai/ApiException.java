package dev.unmask.openai;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A request the API answers with an error. Thrown at the edge, where the request is read and checked; the HTTP
 * layer writes {@link #httpStatus()}, {@link #body()} and, for 429 and 503, a {@code Retry-After} header.
 *
 * @param kind              status and OpenAI type
 * @param param             the request field at fault, e.g. {@code "max_tokens"}; null when none
 * @param code              OpenAI's machine-readable code, e.g. {@code "context_length_exceeded"}; null when none
 * @param retryAfterSeconds for 429 and 503: when to try again; 0 otherwise
 */
public final class ApiException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final ErrorKind kind;
    private final String param;
    private final String code;
    private final int retryAfterSeconds;
    private final String requestId;

    public ApiException(
            ErrorKind kind, String message, String param, String code, int retryAfterSeconds, Throwable cause) {
        this(kind, message, param, code, retryAfterSeconds, cause, null);
    }

    ApiException(
            ErrorKind kind,
            String message,
            String param,
            String code,
            int retryAfterSeconds,
            Throwable cause,
            String requestId) {
        super(Objects.requireNonNull(message, "message"), cause);
        this.kind = Objects.requireNonNull(kind, "kind");
        this.param = param;
        this.code = code;
        this.retryAfterSeconds = retryAfterSeconds;
        this.requestId = requestId;
    }

    /** A 400 about {@code param}; the message says what to send instead. */
    public static ApiException invalid(String param, String message) {
        return new ApiException(ErrorKind.INVALID_REQUEST, message, param, "invalid_value", 0, null);
    }

    /** A 400 with a specific OpenAI code, e.g. {@code "context_length_exceeded"}. */
    public static ApiException invalid(String param, String code, String message) {
        return new ApiException(ErrorKind.INVALID_REQUEST, message, param, code, 0, null);
    }

    public ErrorKind kind() {
        return kind;
    }

    public int httpStatus() {
        return kind.httpStatus();
    }

    public String param() {
        return param;
    }

    public String code() {
        return code;
    }

    /**
     * The id a 500 was logged under ({@link Errors#internal}), also in its message and its {@code X-Request-Id}
     * header, so that a user's report finds the stack in the log; null for other errors.
     */
    public String requestId() {
        return requestId;
    }

    /** Seconds for the {@code Retry-After} header; 0 = send none. */
    public int retryAfterSeconds() {
        return retryAfterSeconds;
    }

    /**
     * The headers the answer carries besides its body, for both servers to write alike: {@code Retry-After} when
     * {@link #retryAfterSeconds()} is set, {@code WWW-Authenticate: Bearer} on a 401, {@code X-Request-Id} on a
     * logged 500.
     */
    public Map<String, String> headers() {
        Map<String, String> headers = new LinkedHashMap<>();
        if (retryAfterSeconds > 0) {
            headers.put("Retry-After", Integer.toString(retryAfterSeconds));
        }
        if (kind == ErrorKind.AUTHENTICATION) {
            headers.put("WWW-Authenticate", "Bearer");
        }
        if (requestId != null) {
            headers.put("X-Request-Id", requestId);
        }
        return headers;
    }

    /** The JSON body, {@code {"error": {...}}}. */
    public ApiError body() {
        return ApiError.of(getMessage(), kind.type(), param, code);
    }
}
