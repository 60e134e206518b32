package dev.unmask.engine.decode;

/** Why a generation ended. */
public enum FinishReason {
    /** every block was resolved and no end-of-text token was written */
    LENGTH("length"),
    /** the model wrote an end-of-text (EOS/EOT) token */
    EOS("stop"),
    /** the resolved text reached a stop sequence */
    STOP_SEQUENCE("stop"),
    /** {@code max_tokens} tokens were resolved */
    MAX_TOKENS("length");

    private final String openAiName;

    FinishReason(String openAiName) {
        this.openAiName = openAiName;
    }

    /** The {@code finish_reason} an OpenAI-style API reports. */
    public String openAiName() {
        return openAiName;
    }
}
