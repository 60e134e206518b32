package dev.unmask.openai;

/** Token counts of one request: prompt (everything the model was given, suffix included) and completion. */
public record Usage(int promptTokens, int completionTokens, int totalTokens) {

    public static Usage of(int promptTokens, int completionTokens) {
        return new Usage(promptTokens, completionTokens, promptTokens + completionTokens);
    }
}
