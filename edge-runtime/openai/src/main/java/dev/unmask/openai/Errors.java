package dev.unmask.openai;

import dev.unmask.failure.Failure;
import java.util.Collection;
import java.util.concurrent.CancellationException;

/**
 * The one place where failures become API errors (status, OpenAI type and code, message), for both servers: by the
 * failure's kind ({@link Failure#of}), never by its message.
 */
public final class Errors {

    private Errors() {}

    public static ApiException toApi(Throwable t) {
        Throwable e = Failure.unwrap(t);
        if (e instanceof ApiException api) {
            return api;
        }
        if (e instanceof CancellationException) {
            return new ApiException(ErrorKind.SERVER, "The request was cancelled", null, "cancelled", 0, e);
        }
        return switch (Failure.of(e)) {
            // the engine's own checks (canvas, model capabilities): the request cannot work as sent
            case BAD_REQUEST ->
                new ApiException(ErrorKind.INVALID_REQUEST, e.getMessage(), null, "invalid_value", 0, e);
            case MODEL_NOT_FOUND ->
                new ApiException(ErrorKind.NOT_FOUND, e.getMessage(), "model", "model_not_found", 0, e);
            case OVERLOADED ->
                new ApiException(
                        ErrorKind.RATE_LIMITED,
                        e.getMessage(),
                        null,
                        "queue_full",
                        e instanceof QueueFullException full ? full.retryAfterSeconds() : 1,
                        e);
            case SHUTTING_DOWN ->
                new ApiException(
                        ErrorKind.UNAVAILABLE,
                        e.getMessage() + ": retry on another instance",
                        null,
                        "unavailable",
                        5,
                        e);
            // the client sent nothing wrong: whoever runs the server reads the failure in the message
            case BAD_INPUT, BAD_PACKAGE, IO, QUALITY_GATE, RUNTIME, INTERNAL ->
                new ApiException(
                        ErrorKind.SERVER,
                        "The server failed (" + e.getClass().getSimpleName() + ": " + e.getMessage()
                                + "). This is a bug: " + "retry, and report it with the request if it happens again",
                        null,
                        "internal_error",
                        0,
                        e);
        };
    }

    /** A 401 in OpenAI's shape for a missing or wrong key. */
    public static ApiException unauthorized(boolean keySent) {
        return new ApiException(
                ErrorKind.AUTHENTICATION,
                keySent
                        ? "Incorrect API key provided: send one of the server's keys as 'Authorization: Bearer <key>'"
                        : "You didn't provide an API key: send it as 'Authorization: Bearer <key>'",
                null,
                "invalid_api_key",
                0,
                null);
    }

    /** A 404 for a model id no package is served under. */
    public static ApiException unknownModel(String model, Collection<String> served) {
        return new ApiException(
                ErrorKind.NOT_FOUND,
                "The model '" + model + "' does not exist on this server: send " + "one of "
                        + served.stream().map(s -> "\"" + s + "\"").toList() + " (GET /v1/models lists them)",
                "model",
                "model_not_found",
                0,
                null);
    }

    /** A 503 while the model loads. */
    public static ApiException notReady() {
        return new ApiException(
                ErrorKind.UNAVAILABLE,
                "The model is still loading: retry after the Retry-After "
                        + "seconds (GET /q/health/ready turns 200 when it is ready)",
                null,
                "model_loading",
                5,
                null);
    }

    /**
     * A 500 for a model whose package did not load: retrying as is does not help, so no Retry-After, and the message
     * says what failed (not "still loading").
     *
     * @param what the model and its folder, e.g. {@code "model 'tiny' from /srv/tiny"}
     */
    public static ApiException loadFailed(String what, Throwable cause) {
        return new ApiException(
                ErrorKind.SERVER,
                "Could not load " + what + ": " + (cause.getMessage() == null ? cause.toString() : cause.getMessage()),
                "model",
                "model_load_failed",
                0,
                cause);
    }

    /** A 404 for a model installed under {@code model} whose folder is not a readable package. */
    public static ApiException brokenModel(String model, String reason) {
        return new ApiException(
                ErrorKind.NOT_FOUND,
                "The model '" + model + "' is installed but broken, so it is not served: " + reason
                        + ". Reinstall it with 'unmask pull <package> --name " + model + " --force', or remove it "
                        + "with 'unmask rm " + model + "'",
                "model",
                "model_not_found",
                0,
                null);
    }
}
