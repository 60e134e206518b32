package dev.unmask.openai;

import dev.unmask.engine.decode.TokenLogprob;
import dev.unmask.engine.text.Tokenizer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * OpenAI's two shapes of per-token log-probabilities, built from the engine's {@link TokenLogprob}s: the
 * log-probability of each committed token at the step that committed it (see docs/api.md, "Log-probabilities").
 *
 * <p>Chat ({@code logprobs: true}, {@code top_logprobs: 0..20}): {@code choices[].logprobs = {"content": [{token,
 * logprob, bytes, top_logprobs: [{token, logprob, bytes}]}], "refusal": null}} (openai-python
 * {@code types/chat/chat_completion.py} {@code ChoiceLogprobs}, {@code chat_completion_token_logprob.py}). Completions
 * ({@code logprobs: N}): {@code choices[].logprobs = {tokens, token_logprobs, top_logprobs: [{token: logprob}],
 * text_offset}} (openai-python {@code types/completion_choice.py} {@code Logprobs}). In a stream each chunk carries
 * the entries of the tokens whose text it completes.
 */
public final class Logprobs {

    private Logprobs() {}

    /** Chat: {@code {"content": [...], "refusal": null}}. */
    public record Chat(List<Token> content, List<Token> refusal) {
        public Chat {
            content = List.copyOf(content);
        }
    }

    /** One token of a chat answer and the most likely tokens at its position. */
    public record Token(String token, double logprob, List<Integer> bytes, List<Top> topLogprobs) {}

    /** One candidate of {@code top_logprobs}. */
    public record Top(String token, double logprob, List<Integer> bytes) {}

    /**
     * Completions: parallel lists, one entry per token.
     *
     * @param textOffset where each token's text starts, in characters from the start of the prompt (the completion's
     *                   first token starts at the prompt's length, as OpenAI counts it)
     */
    public record Completion(
            List<String> tokens,
            List<Double> tokenLogprobs,
            List<Map<String, Double>> topLogprobs,
            List<Integer> textOffset) {}

    /** The chat shape of {@code entries}, each with at most {@code top} candidates (also {@code unmask generate --json}). */
    public static Chat chat(List<TokenLogprob> entries, int top, Tokenizer tokenizer) {
        List<Token> content = new ArrayList<>(entries.size());
        for (TokenLogprob e : entries) {
            List<Top> alternatives = new ArrayList<>();
            for (TokenLogprob.Alternative a :
                    e.top().subList(0, Math.min(top, e.top().size()))) {
                byte[] b = tokenizer.tokenBytes(a.token());
                alternatives.add(new Top(text(b), a.logprob(), unsigned(b)));
            }
            byte[] b = tokenizer.tokenBytes(e.token());
            content.add(new Token(text(b), e.logprob(), unsigned(b), alternatives));
        }
        return new Chat(content, null);
    }

    /**
     * The completions shape of {@code entries}, each with at most {@code top} candidates.
     *
     * @param offsets [entries] each token's text offset, as {@link Completion#textOffset}
     */
    static Completion completion(List<TokenLogprob> entries, int[] offsets, int top, Tokenizer tokenizer) {
        List<String> tokens = new ArrayList<>(entries.size());
        List<Double> logprobs = new ArrayList<>(entries.size());
        List<Map<String, Double>> tops = new ArrayList<>(entries.size());
        List<Integer> textOffset = new ArrayList<>(entries.size());
        for (int i = 0; i < entries.size(); i++) {
            TokenLogprob e = entries.get(i);
            tokens.add(text(tokenizer.tokenBytes(e.token())));
            logprobs.add(e.logprob());
            Map<String, Double> candidates = new LinkedHashMap<>();
            for (TokenLogprob.Alternative a :
                    e.top().subList(0, Math.min(top, e.top().size()))) {
                candidates.putIfAbsent(text(tokenizer.tokenBytes(a.token())), a.logprob()); // one key per spelling
            }
            tops.add(candidates);
            textOffset.add(offsets[i]);
        }
        return new Completion(tokens, logprobs, tops, textOffset);
    }

    /**
     * [tokens.length] where each token's text starts in {@code decode(tokens)}: the length of the text of the tokens
     * before it, less a trailing U+FFFD (a character whose bytes the next token completes starts where its first
     * byte is).
     */
    static int[] offsets(long[] tokens, int from, Function<long[], String> decoder) {
        int[] offsets = new int[tokens.length - from];
        for (int i = from; i < tokens.length; i++) {
            offsets[i - from] = textBefore(tokens, i, decoder);
        }
        return offsets;
    }

    /** Where token {@code i} of {@code tokens} starts: the length of the text before it, less a trailing U+FFFD. */
    static int textBefore(long[] tokens, int i, Function<long[], String> decoder) {
        String before = decoder.apply(Arrays.copyOfRange(tokens, 0, i));
        int end = before.length();
        while (end > 0 && before.charAt(end - 1) == '\uFFFD') {
            end--;
        }
        return end;
    }

    /** The token's text: its bytes as UTF-8, a split character's part as U+FFFD (its {@code bytes} are exact). */
    private static String text(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private static List<Integer> unsigned(byte[] bytes) {
        List<Integer> out = new ArrayList<>(bytes.length);
        for (byte b : bytes) {
            out.add(b & 0xff);
        }
        return out;
    }
}
