package dev.unmask.openai;

import java.nio.charset.StandardCharsets;

/**
 * Server-sent events exactly as OpenAI sends them: each event is {@code data: <json>\n\n}; the stream ends with
 * {@code data: [DONE]\n\n}; an error after the stream began is {@code data: {"error": {...}}\n\n}.
 */
public final class Sse {

    public static final String CONTENT_TYPE = "text/event-stream";
    public static final String DONE = "data: [DONE]\n\n";

    private Sse() {}

    /** One event holding {@code payload} as compact JSON (JSON has no raw newlines, so one data line suffices). */
    public static String event(Object payload) {
        return "data: " + Json.write(payload) + "\n\n";
    }

    public static byte[] bytes(String event) {
        return event.getBytes(StandardCharsets.UTF_8);
    }
}
