package dev.unmask.openai;

import java.util.List;

/** The answer of {@code POST /v1/chat/completions} without streaming ({@code "object": "chat.completion"}). */
public record ChatCompletion(String id, String object, long created, String model, List<Choice> choices, Usage usage) {

    public static final String OBJECT = "chat.completion";

    public ChatCompletion {
        choices = List.copyOf(choices);
    }

    public static ChatCompletion of(
            String id, long created, String model, String content, String finishReason, Usage usage) {
        return new ChatCompletion(
                id,
                OBJECT,
                created,
                model,
                List.of(new Choice(0, new Message("assistant", content), finishReason, null)),
                usage);
    }

    /** @param logprobs a {@link Logprobs.Chat} with {@code "logprobs": true}, else null */
    public record Choice(int index, Message message, String finishReason, Object logprobs) {}

    public record Message(String role, String content) {}
}
