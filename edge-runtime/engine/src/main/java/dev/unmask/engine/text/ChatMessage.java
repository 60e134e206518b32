package dev.unmask.engine.text;

import java.util.Map;
import java.util.Objects;

/** One turn of a conversation, as Hugging Face chat templates see it: {@code {"role": ..., "content": ...}}. */
public record ChatMessage(String role, String content) {

    public ChatMessage {
        Objects.requireNonNull(role, "a chat message needs a role, e.g. new ChatMessage(\"user\", \"Hello\")");
        Objects.requireNonNull(content, "a chat message needs content, e.g. new ChatMessage(\"user\", \"Hello\")");
    }

    public static ChatMessage user(String content) {
        return new ChatMessage("user", content);
    }

    public static ChatMessage system(String content) {
        return new ChatMessage("system", content);
    }

    public static ChatMessage assistant(String content) {
        return new ChatMessage("assistant", content);
    }

    /** The map a template indexes with {@code message['role']} and {@code message.content}. */
    Map<String, Object> asTemplateValue() {
        return Map.of("role", role, "content", content);
    }
}
