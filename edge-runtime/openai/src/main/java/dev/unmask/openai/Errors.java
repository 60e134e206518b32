package dev.unmask.openai;

import dev.unmask.failure.Failure;
import java.util.Collection;
import java.util.UUID;
import java.util.concurrent.CancellationException;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The one place where failures become API errors (status, OpenAI type and code, message), for both servers: by the
 * failure's kind ({@link Failure#of}), never by its message.
 */
public final class Errors {

    private static final Logger LOG = Logger.getLogger(Errors.class.getName());

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
            // the client sent nothing wrong: logged with its stack, under an id the answer carries
            case BAD_INPUT, BAD_PACKAGE, IO, QUALITY_GATE, RUNTIME, INTERNAL -> internal(e, newRequestId());
        };
    }

    /**
     * A 500: logs {@code failure} with its stack under {@code requestId} and returns the answer that carries the
     * same id (in the message and the {@code X-Request-Id} header), so that a user's report leads to the stack. The
     * one path of every 500 of both servers; {@link #toApi} takes it for failures of the server's own.
     *
     * @param requestId the server's id of the request, e.g. from {@link #newRequestId()}
     */
    public static ApiException internal(Throwable failure, String requestId) {
        Throwable e = Failure.unwrap(failure);
        LOG.log(
                Level.SEVERE,
                "Request " + requestId + " failed with a 500: " + e.getClass().getName() + ": " + e.getMessage(),
                e);
        return new ApiException(
                ErrorKind.SERVER,
                "The server failed (" + e.getClass().getSimpleName() + ": " + e.getMessage() + "). This is a bug: "
                        + "retry, and report it with the request id " + requestId + " if it happens again",
                null,
                "internal_error",
                0,
                e,
                requestId);
    }

    /**
     * A server-side {@link ApiException} that no one logged yet (e.g. a model whose package did not load): logged
     * with its stack under {@code requestId}, which the returned answer names in its message and header. Faults of
     * the server's own code are logged by {@link #internal} already.
     */
    public static ApiException logged(ApiException e, String requestId) {
        Throwable cause = e.getCause() == null ? e : e.getCause();
        LOG.log(
                Level.SEVERE,
                "Request " + requestId + " failed with a " + e.httpStatus() + ": " + e.getMessage(),
                cause);
        return new ApiException(
                e.kind(),
                e.getMessage() + " (request id " + requestId + ")",
                e.param(),
                e.code(),
                e.retryAfterSeconds(),
                cause,
                requestId);
    }

    /** A fresh request id in OpenAI's form, {@code req_} and 32 hex digits. */
    public static String newRequestId() {
        return "req_" + UUID.randomUUID().toString().replace("-", "");
    }

    /**
     * A 413 for a body larger than {@code limitBytes}, in OpenAI's shape (a server refuses it before reading it, so
     * it costs nothing).
     */
    public static ApiException payloadTooLarge(long limitBytes) {
        return new ApiException(
                ErrorKind.PAYLOAD_TOO_LARGE,
                "The request body is larger than this server takes, " + limitBytes + " bytes: send a shorter prompt "
                        + "(no prompt longer than the model's context fits anyway)",
                null,
                "request_too_large",
                0,
                null);
    }

    /**
     * A 429 for a server whose every model's queue is full, refused before the request was read: the same answer
     * as a {@link QueueFullException}'s, without a count, so that a server can write it from bytes it made once.
     */
    public static ApiException overloaded(int retryAfterSeconds) {
        return new ApiException(
                ErrorKind.RATE_LIMITED,
                "The server is busy: its queue is full. Retry after " + retryAfterSeconds
                        + " s (Retry-After header), or send fewer concurrent requests",
                null,
                "queue_full",
                retryAfterSeconds,
                null);
    }

    /** A 403 for a web page whose origin the server does not allow (CORS), as the functions answer it. */
    public static ApiException foreignOrigin(String origin) {
        return new ApiException(
                ErrorKind.FORBIDDEN,
                "The web page at " + origin + " may not use this server: to let a web app you trust call it, set "
                        + "UNMASK_ALLOWED_ORIGINS=" + origin + " (comma-separated origins) where the server runs",
                null,
                "forbidden_origin",
                0,
                null);
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
