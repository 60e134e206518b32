package dev.unmask.openai;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.node.NullNode;
import java.util.List;

/**
 * One server-sent event of a streamed chat completion ({@code "object": "chat.completion.chunk"}). Every chunk of a
 * stream has the same {@code id} and {@code created}. The sequence is OpenAI's: a first chunk with
 * {@code delta.role = "assistant"}, content chunks, a chunk with an empty delta and the {@code finish_reason}, and,
 * with {@code stream_options.include_usage}, a last chunk with empty {@code choices} and the {@code usage} (the
 * other chunks then carry {@code "usage": null}).
 *
 * @param usage a {@link Usage}, {@link NullNode} (sent as {@code null}) or null (left out)
 * @param draft with {@code "diffusing": true}: the canvas as it denoises, on chunks whose delta is empty
 */
public record ChatCompletionChunk(
        String id,
        String object,
        long created,
        String model,
        List<Choice> choices,
        @JsonInclude(JsonInclude.Include.NON_NULL) Object usage,
        @JsonInclude(JsonInclude.Include.NON_NULL) Draft draft) {

    public static final String OBJECT = "chat.completion.chunk";

    public ChatCompletionChunk {
        choices = List.copyOf(choices);
    }

    /**
     * @param logprobs     with {@code "logprobs": true}, a {@link Logprobs.Chat} of the tokens this chunk's text completes
     * @param finishReason null until the last choice chunk
     */
    public record Choice(int index, Delta delta, Object logprobs, String finishReason) {}

    /** The new text; {@code role} only in the first chunk. Absent fields are left out ({@code {}} when empty). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Delta(String role, String content) {
        public static final Delta EMPTY = new Delta(null, null);
    }
}
