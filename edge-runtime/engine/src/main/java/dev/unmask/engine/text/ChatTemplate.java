package dev.unmask.engine.text;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import java.util.ArrayList;
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
 *
 * <p>{@link #render(List, boolean, ControlTokens)} renders the same text as segments, so that what came from the
 * messages is tokenized as plain text: a user who types {@code <|start_header_id|>system<|end_header_id|>} into a
 * message gets those characters, not a forged system turn.
 */
public final class ChatTemplate {

    private static final JinjavaConfig CONFIG = JinjavaConfig.newBuilder()
            .withTrimBlocks(true)
            .withLstripBlocks(true)
            .withFailOnUnknownTokens(false)
            .build();

    private static final String REJECTED = "The chat template rejected the messages: ";

    /*
     * Quoting: each control-token spelling in a message's role or content is replaced, before rendering, by
     * QUOTE_OPEN + its index + QUOTE_CLOSE (private-use characters, no whitespace, unchanged by trim, upper or lower),
     * and the rendered text is cut at those markers. A marker character typed by the user is quoted the same way.
     */
    private static final char QUOTE_OPEN = '\uE000';
    private static final char QUOTE_CLOSE = '\uE001';

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

    /**
     * Renders {@code messages} as {@link #render(List, boolean)} does, as segments: the template's own text, whose
     * control tokens count, and, {@linkplain TextSegment#plain() plain}, every control-token spelling that a message's
     * role or content holds. The segments' texts joined are exactly what {@link #render(List, boolean)} returns.
     *
     * @param controls the spellings the tokenizer would read as control tokens ({@link Tokenizer#controlTokens()})
     * @throws IllegalArgumentException when the template raises an exception, does not render, or cuts into a quoted
     *                                  spelling
     */
    public List<TextSegment> render(List<ChatMessage> messages, boolean addGenerationPrompt, ControlTokens controls) {
        Objects.requireNonNull(messages, "messages");
        List<String> quoted = new ArrayList<>();
        List<ChatMessage> marked = new ArrayList<>(messages.size());
        for (ChatMessage m : messages) {
            marked.add(new ChatMessage(quote(m.role(), controls, quoted), quote(m.content(), controls, quoted)));
        }
        String rendered = render(marked, addGenerationPrompt);
        if (quoted.isEmpty()) {
            return List.of(new TextSegment(rendered, false));
        }
        List<TextSegment> segments = new ArrayList<>();
        int start = 0;
        for (int open = rendered.indexOf(QUOTE_OPEN); open >= 0; open = rendered.indexOf(QUOTE_OPEN, start)) {
            int close = rendered.indexOf(QUOTE_CLOSE, open);
            int index = close < 0 ? -1 : quoteIndex(rendered.substring(open + 1, close), quoted.size());
            if (index < 0) {
                throw new IllegalArgumentException("The chat template cut into a control token spelled out in a "
                        + "message, so the message cannot be read as plain text: remove the control tokens from the "
                        + "messages");
            }
            if (open > start) {
                segments.add(new TextSegment(rendered.substring(start, open), false));
            }
            segments.add(new TextSegment(quoted.get(index), true));
            start = close + 1;
        }
        if (start < rendered.length()) {
            segments.add(new TextSegment(rendered.substring(start), false));
        }
        return List.copyOf(segments);
    }

    /** {@code text} with each control-token spelling (and each marker character) replaced by a numbered marker. */
    private static String quote(String text, ControlTokens controls, List<String> quoted) {
        ControlTokens.Match next = controls.next(text, 0);
        if (next == null && text.indexOf(QUOTE_OPEN) < 0 && text.indexOf(QUOTE_CLOSE) < 0) {
            return text;
        }
        StringBuilder out = new StringBuilder(text.length() + 16);
        int i = 0;
        while (i < text.length()) {
            char c = text.charAt(i);
            String spelling = null;
            if (c == QUOTE_OPEN || c == QUOTE_CLOSE) {
                spelling = String.valueOf(c);
            } else {
                if (next != null && next.start() < i) {
                    next = controls.next(text, i);
                }
                if (next != null && next.start() == i) {
                    spelling = next.spelling();
                }
            }
            if (spelling == null) {
                out.append(c);
                i++;
                continue;
            }
            out.append(QUOTE_OPEN).append(quoted.size()).append(QUOTE_CLOSE);
            quoted.add(spelling);
            i += spelling.length();
        }
        return out.toString();
    }

    private static int quoteIndex(String digits, int count) {
        if (digits.isEmpty() || digits.length() > 9 || !digits.chars().allMatch(Character::isDigit)) {
            return -1;
        }
        int index = Integer.parseInt(digits);
        return index < count ? index : -1;
    }

    public String source() {
        return source;
    }

    /** {@code raise_exception(message)} as Hugging Face templates call it to reject a conversation. */
    public static String raiseException(String message) {
        throw new IllegalArgumentException(REJECTED + message);
    }
}
