package dev.unmask.engine.text;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * A checkpoint's own Jinja chat template (the {@code chat_template} of {@code tokenizer_config.json}, carried in
 * the package manifest), rendered with Jinjava the way Hugging Face's {@code apply_chat_template} renders it:
 * {@code trim_blocks} and {@code lstrip_blocks} on, variables {@code messages}, {@code bos_token},
 * {@code eos_token}, {@code add_generation_prompt}, and {@code raise_exception(msg)} failing the render.
 *
 * <p>The result is text with the special tokens written out; encode it without adding special tokens, as
 * LLaDA's reference does ({@code add_special_tokens=False}), since the template already starts with the BOS.
 */
public final class ChatTemplate {

    private static final JinjavaConfig CONFIG = JinjavaConfig.newBuilder()
            .withTrimBlocks(true)
            .withLstripBlocks(true)
            .withFailOnUnknownTokens(false)
            .build();

    private static final String REJECTED = "The chat template rejected the messages: ";

    private final String source;
    private final String bosToken;
    private final String eosToken;
    private final Jinjava jinjava;

    public ChatTemplate(String source, String bosToken, String eosToken) {
        if (source == null || source.isBlank()) {
            throw new IllegalArgumentException(
                    "This package has no chat template (manifest 'chat_template' is absent): "
                            + "send a plain prompt instead of chat messages, or re-package a checkpoint whose "
                            + "tokenizer_config.json has a 'chat_template'");
        }
        this.source = source;
        this.bosToken = bosToken == null ? "" : bosToken;
        this.eosToken = eosToken == null ? "" : eosToken;
        this.jinjava = new Jinjava(CONFIG);
        this.jinjava
                .getGlobalContext()
                .registerFunction(new com.hubspot.jinjava.lib.fn.ELFunctionDefinition(
                        "", "raise_exception", ChatTemplate.class, "raiseException", String.class));
    }

    /**
     * Renders {@code messages}; with {@code addGenerationPrompt} the template appends the header that opens the
     * assistant's turn.
     *
     * @throws IllegalArgumentException when the template raises an exception or does not render
     */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        Objects.requireNonNull(messages, "messages");
        if (messages.isEmpty()) {
            throw new IllegalArgumentException(
                    "A chat needs at least one message, e.g. [{\"role\": \"user\", \"content\": \"Hello\"}]");
        }
        Map<String, Object> bindings = new HashMap<>();
        bindings.put(
                "messages", messages.stream().map(ChatMessage::asTemplateValue).collect(Collectors.toList()));
        bindings.put("bos_token", bosToken);
        bindings.put("eos_token", eosToken);
        bindings.put("add_generation_prompt", addGenerationPrompt);
        RenderResult result = jinjava.renderForResult(source, bindings);
        List<TemplateError> fatal = result.getErrors().stream()
                .filter(e -> e.getSeverity() == TemplateError.ErrorType.FATAL)
                .collect(Collectors.toList());
        if (!fatal.isEmpty()) {
            TemplateError first = fatal.get(0);
            for (Throwable t = first.getException(); t != null; t = t.getCause()) {
                if (t instanceof IllegalArgumentException
                        && t.getMessage() != null
                        && t.getMessage().startsWith(REJECTED)) {
                    throw new IllegalArgumentException(t.getMessage());
                }
            }
            throw new IllegalArgumentException("The chat template did not render: " + first.getMessage());
        }
        return result.getOutput();
    }

    public String source() {
        return source;
    }

    /** {@code raise_exception(message)} as Hugging Face templates call it to reject a conversation. */
    public static String raiseException(String message) {
        throw new IllegalArgumentException(REJECTED + message);
    }
}
