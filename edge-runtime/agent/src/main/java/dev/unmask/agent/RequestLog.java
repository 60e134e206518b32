package dev.unmask.agent;

import dev.unmask.engine.Generation;

/**
 * {@code unmask serve}'s one line per request, as Ollama's and llama.cpp's servers print one, through the
 * {@value #LOGGER} logger (INFO; on stderr as {@code unmask: POST /v1/completions model=tiny-llada tokens=16
 * steps=8 412 ms status=200}): method, path, model, the answer's tokens and denoising steps, the time from the request's
 * head to its last byte, and the HTTP status. Fields a request does not have (a model listing has no model, a refused
 * request no answer) are {@code -}.
 */
final class RequestLog {

    static final String LOGGER = "unmask.requests";

    /** The status of a request whose client left before the answer was written (as nginx's 499). */
    static final int CLIENT_GONE = 499;

    private static final System.Logger LOG = System.getLogger(LOGGER);

    /** Held, not looked up: JUL keeps loggers weakly, and a collected one forgets the level set on it. */
    private static final java.util.logging.Logger JUL = java.util.logging.Logger.getLogger(LOGGER);

    private RequestLog() {}

    /**
     * Keeps these lines on while the root logger is quieted to warnings ({@link ModelOptions#quietLogs}, which
     * {@code unmask serve} calls so that the engine's own load line does not repeat the server's).
     */
    static void keepAtInfo() {
        JUL.setLevel(java.util.logging.Level.INFO);
    }

    static void log(String method, String path, String model, Generation g, long millis, int status) {
        if (!LOG.isLoggable(System.Logger.Level.INFO)) {
            return;
        }
        LOG.log(System.Logger.Level.INFO, line(method, path, model, g, millis, status));
    }

    static String line(String method, String path, String model, Generation g, long millis, int status) {
        return method + " " + path + " model=" + (model == null ? "-" : model)
                + " tokens=" + (g == null ? "-" : String.valueOf(g.tokens().length))
                + " steps=" + (g == null ? "-" : String.valueOf(g.steps()))
                + " " + millis + " ms status=" + status;
    }
}
