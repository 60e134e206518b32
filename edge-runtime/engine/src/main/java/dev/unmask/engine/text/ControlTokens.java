package dev.unmask.engine.text;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The spellings of a tokenizer's added tokens ({@code <|startoftext|>}, {@code <|eot_id|>},
 * {@code <|start_header_id|>}, the mask, ...): the strings the tokenizers library matches in any text before it splits
 * it into words, so that whoever writes one of them into a prompt gets the control token itself. Finding them in
 * user text is what lets a chat read a message's content as plain text ({@link Tokenizer#encodeAsText}).
 */
public final class ControlTokens {

    /** Where a spelling starts in a text, and which one (the longest, where several start there). */
    public record Match(int start, String spelling) {
        public int end() {
            return start + spelling.length();
        }
    }

    private final List<String> spellings;
    /** Spellings by their first character, longest first: a scan checks only those that can start at a position. */
    private final Map<Character, List<String>> byFirstChar = new HashMap<>();

    public ControlTokens(Collection<String> spellings) {
        List<String> longestFirst = new ArrayList<>();
        for (String s : spellings) {
            if (!s.isEmpty() && !longestFirst.contains(s)) {
                longestFirst.add(s);
            }
        }
        longestFirst.sort(Comparator.comparingInt(String::length).reversed());
        this.spellings = List.copyOf(longestFirst);
        for (String s : this.spellings) {
            byFirstChar.computeIfAbsent(s.charAt(0), c -> new ArrayList<>()).add(s);
        }
    }

    /** The spellings, longest first. */
    public List<String> spellings() {
        return spellings;
    }

    /** The first spelling that starts at or after {@code from} in {@code text}; null when there is none. */
    public Match next(String text, int from) {
        for (int i = from; i < text.length(); i++) {
            List<String> candidates = byFirstChar.get(text.charAt(i));
            if (candidates != null) {
                for (String s : candidates) {
                    if (text.startsWith(s, i)) {
                        return new Match(i, s);
                    }
                }
            }
        }
        return null;
    }
}
