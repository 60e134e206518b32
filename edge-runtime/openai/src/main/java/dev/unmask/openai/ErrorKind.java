package dev.unmask.openai;

/**
 * The kinds of error the API answers with, each carrying its HTTP status and OpenAI's {@code error.type}. Clients
 * (the official SDKs) pick their exception from the status and retry 429 and 5xx only.
 */
public enum ErrorKind {
    /** malformed JSON, a wrong type, a value out of range, an unsupported field: do not retry as is */
    INVALID_REQUEST(400, "invalid_request_error"),
    /** a missing or wrong API key */
    AUTHENTICATION(401, "invalid_request_error"),
    /** a foreign {@code Host} or {@code Origin}: a web page the user did not allow tried to use a local server */
    FORBIDDEN(403, "invalid_request_error"),
    /** an unknown model or path */
    NOT_FOUND(404, "invalid_request_error"),
    /** a method the path does not take */
    METHOD_NOT_ALLOWED(405, "invalid_request_error"),
    /** a body larger than the server takes */
    PAYLOAD_TOO_LARGE(413, "invalid_request_error"),
    /** a POST whose body is not declared {@code application/json} */
    UNSUPPORTED_MEDIA_TYPE(415, "invalid_request_error"),
    /** the queue is full: retry after {@code Retry-After} seconds */
    RATE_LIMITED(429, "rate_limit_error"),
    /** a fault of the server */
    SERVER(500, "server_error"),
    /** the model is not loaded yet, or the server is shutting down: retry after {@code Retry-After} seconds */
    UNAVAILABLE(503, "server_error");

    private final int httpStatus;
    private final String type;

    ErrorKind(int httpStatus, String type) {
        this.httpStatus = httpStatus;
        this.type = type;
    }

    public int httpStatus() {
        return httpStatus;
    }

    /** OpenAI's {@code error.type}. */
    public String type() {
        return type;
    }
}
