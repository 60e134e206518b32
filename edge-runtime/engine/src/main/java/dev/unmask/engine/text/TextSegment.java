package dev.unmask.engine.text;

import java.util.Objects;

/**
 * A piece of a prompt to tokenize: text the prompt's author controls (a chat template), whose control tokens count,
 * or {@code plain} text that came from a user (a message's content), whose spelled-out control tokens are only
 * characters. See {@link Tokenizer#encode(java.util.List)}.
 */
public record TextSegment(String text, boolean plain) {

    public TextSegment {
        Objects.requireNonNull(text, "text");
    }
}
