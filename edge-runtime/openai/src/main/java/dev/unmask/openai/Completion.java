package dev.unmask.openai;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * The answer of {@code POST /v1/completions} ({@code "object": "text_completion"}), and each chunk of its stream
 * (same object; {@code text} is the new text, the last choice chunk carries the {@code finish_reason}).
 *
 * @param usage a {@link Usage}, {@link com.fasterxml.jackson.databind.node.NullNode} (sent as null) or null (left out)
 * @param draft with {@code "diffusing": true}: the canvas as it denoises, on chunks whose text is empty
 */
public record Completion(
        String id,
        String object,
        long created,
        String model,
        List<Choice> choices,
        @JsonInclude(JsonInclude.Include.NON_NULL) Object usage,
        @JsonInclude(JsonInclude.Include.NON_NULL) Draft draft) {

    public static final String OBJECT = "text_completion";

    public Completion {
        choices = List.copyOf(choices);
    }

    public static Completion of(String id, long created, String model, String text, String finishReason, Usage usage) {
        return new Completion(
                id, OBJECT, created, model, List.of(new Choice(text, 0, null, finishReason)), usage, null);
    }

    /** @param logprobs a {@link Logprobs.Completion} with {@code "logprobs": N}, else null */
    public record Choice(String text, int index, Object logprobs, String finishReason) {}
}
