package dev.unmask.engine.request;

import java.util.BitSet;
import java.util.function.LongFunction;

/**
 * What each token of a vocabulary may stand for in a structured answer, from its text decoded alone: a token of
 * string text (no quote, backslash, control character or partial UTF-8 character, which the rendering would have to
 * escape or could not show), a run of digits, a minus sign, a decimal point. Special tokens decode to nothing and
 * fit nowhere. One table per package, read once.
 */
public final class TokenClasses {

    private final BitSet stringText;
    private final BitSet digits;
    private final BitSet minus;
    private final BitSet point;

    private TokenClasses(BitSet stringText, BitSet digits, BitSet minus, BitSet point) {
        this.stringText = stringText;
        this.digits = digits;
        this.minus = minus;
        this.point = point;
    }

    /**
     * @param vocab the ids to classify, {@code [0, vocab)}: the head's vocabulary
     * @param text  a token's text, special tokens skipped (they read as "")
     */
    public static TokenClasses of(int vocab, LongFunction<String> text) {
        BitSet stringText = new BitSet(vocab);
        BitSet digits = new BitSet(vocab);
        BitSet minus = new BitSet(vocab);
        BitSet point = new BitSet(vocab);
        for (int id = 0; id < vocab; id++) {
            String t;
            try {
                t = text.apply(id);
            } catch (RuntimeException e) {
                continue; // an id the tokenizer does not know (embedding rows beyond its vocabulary) fits nowhere
            }
            if (t == null || t.isEmpty()) {
                continue;
            }
            stringText.set(id, isStringText(t));
            digits.set(id, t.chars().allMatch(c -> c >= '0' && c <= '9'));
            minus.set(id, t.equals("-"));
            point.set(id, t.equals("."));
        }
        return new TokenClasses(stringText, digits, minus, point);
    }

    private static boolean isStringText(String t) {
        for (int i = 0; i < t.length(); i++) {
            char c = t.charAt(i);
            if (c == '"' || c == '\\' || c < 0x20 || c == 0x7f || c == '\uFFFD') {
                return false;
            }
        }
        return true;
    }

    public boolean stringText(long id) {
        return in(stringText, id);
    }

    public boolean digits(long id) {
        return in(digits, id);
    }

    public boolean minus(long id) {
        return in(minus, id);
    }

    public boolean point(long id) {
        return in(point, id);
    }

    /** How many tokens are digit runs: 0 means no number slot can be written by the model. */
    public int digitTokens() {
        return digits.cardinality();
    }

    private static boolean in(BitSet set, long id) {
        return id >= 0 && id < Integer.MAX_VALUE && set.get((int) id);
    }
}
