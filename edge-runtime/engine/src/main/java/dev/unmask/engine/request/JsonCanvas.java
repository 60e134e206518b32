package dev.unmask.engine.request;

import dev.unmask.engine.decode.AnswerText;
import dev.unmask.engine.decode.ModelTraits;
import dev.unmask.engine.decode.StructuredCanvas;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * A {@link JsonSkeleton} as tokens: the region of a structured answer, its fixed pieces tokenized as they are
 * written and every slot a run of masks, with what each slot position admits and the rendering that makes the
 * answer parse and validate whatever tokens the model chose.
 *
 * <p>What a slot's positions admit: a string's, tokens of string text ({@link TokenClasses}) or the pad; an
 * integer's, digit runs or the pad, and a minus sign first; a number's, the same and a decimal point after the
 * first; an enum's position i, the i-th token of some choice, or the pad where a choice is shorter. The pad means
 * "nothing here": a slot may end early, or hold a hole, and the rendering drops it.
 *
 * <p>The rendering reads each slot on its own and writes the fixed pieces as the schema's text: a string's tokens
 * decoded, cut to {@code maxLength} characters, padded with spaces to {@code minLength}, and escaped; an integer's
 * or number's characters normalised (leading zeros and stray signs or points dropped, nothing read as 0) and clamped
 * to {@code minimum}/{@code maximum}; an enum's tokens read as the choice they match, or the choice they match at the
 * most positions (the first on a tie). So the answer is always one the schema accepts, and a model that writes well
 * within the slots loses nothing to it.
 */
public final class JsonCanvas {

    private final long[] region; // [length] fixed tokens and masks
    private final List<Segment> segments;
    private final long padId;
    private final long maskId;
    private final Function<long[], String> decoder;

    /**
     * One piece of the region.
     *
     * @param start      first region position
     * @param end        one past the last
     * @param piece      the skeleton's piece
     * @param admissible [end - start] what each position admits; null for fixed text
     * @param choices    an enum's choices as tokens, else null
     */
    private record Segment(
            int start, int end, JsonSkeleton.Piece piece, StructuredCanvas.Admissible[] admissible, long[][] choices) {}

    private JsonCanvas(
            long[] region, List<Segment> segments, long padId, long maskId, Function<long[], String> decoder) {
        this.region = region;
        this.segments = List.copyOf(segments);
        this.padId = padId;
        this.maskId = maskId;
        this.decoder = decoder;
    }

    /**
     * @param encoder text to tokens, without a BOS
     * @param decoder tokens to text, special tokens skipped
     */
    public static JsonCanvas of(
            JsonSkeleton skeleton,
            Function<String, long[]> encoder,
            Function<long[], String> decoder,
            TokenClasses classes,
            ModelTraits traits) {
        long pad = traits.padId();
        long mask = traits.maskId();
        List<Segment> segments = new ArrayList<>();
        long[] region = new long[64];
        int at = 0;
        for (JsonSkeleton.Piece piece : skeleton.pieces()) {
            long[] tokens;
            StructuredCanvas.Admissible[] admissible = null;
            long[][] choices = null;
            if (piece instanceof JsonSkeleton.Fixed f) {
                tokens = encoder.apply(f.text());
            } else {
                if (piece instanceof JsonSkeleton.StringSlot str) {
                    admissible = new StructuredCanvas.Admissible[str.width()];
                    Arrays.fill(admissible, new Admit(t -> t == pad || classes.stringText(t), pad));
                } else if (piece instanceof JsonSkeleton.IntegerSlot i) {
                    admissible = number(i.width(), false, classes, pad);
                } else if (piece instanceof JsonSkeleton.NumberSlot n) {
                    admissible = number(n.width(), true, classes, pad);
                } else {
                    JsonSkeleton.EnumSlot e = (JsonSkeleton.EnumSlot) piece;
                    choices = new long[e.choices().size()][];
                    int width = 0;
                    for (int c = 0; c < choices.length; c++) {
                        choices[c] = encoder.apply(e.choices().get(c));
                        width = Math.max(width, choices[c].length);
                    }
                    admissible = new StructuredCanvas.Admissible[width];
                    for (int i = 0; i < width; i++) {
                        admissible[i] = enumPosition(choices, i, pad);
                    }
                }
                tokens = new long[admissible.length];
                Arrays.fill(tokens, mask);
            }
            if (at + tokens.length > region.length) {
                region = Arrays.copyOf(region, Math.max(region.length * 2, at + tokens.length));
            }
            System.arraycopy(tokens, 0, region, at, tokens.length);
            segments.add(new Segment(at, at + tokens.length, piece, admissible, choices));
            at += tokens.length;
        }
        return new JsonCanvas(Arrays.copyOf(region, at), segments, pad, mask, decoder);
    }

    /** [length] the region: fixed tokens and masks. */
    public long[] region() {
        return region.clone();
    }

    public int length() {
        return region.length;
    }

    /** Positions the model writes. */
    public int slotPositions() {
        int n = 0;
        for (long t : region) {
            n += t == maskId ? 1 : 0;
        }
        return n;
    }

    /** The canvas view of this region placed at {@code genStart}: what the samplers and the answer read. */
    public StructuredCanvas at(int genStart) {
        return new Placed(genStart);
    }

    private final class Placed implements StructuredCanvas {
        private final int genStart;
        private final StructuredCanvas.Admissible[] byPosition; // [length] region-relative, null where fixed

        Placed(int genStart) {
            this.genStart = genStart;
            this.byPosition = new StructuredCanvas.Admissible[region.length];
            for (Segment s : segments) {
                if (s.admissible() != null) {
                    System.arraycopy(s.admissible(), 0, byPosition, s.start(), s.end() - s.start());
                }
            }
        }

        @Override
        public Admissible admissible(int position) {
            int i = position - genStart;
            return i < 0 || i >= byPosition.length ? null : byPosition[i];
        }

        @Override
        public AnswerText.Answer answer(long[] canvas) {
            StringBuilder text = new StringBuilder();
            for (Segment s : segments) {
                text.append(render(s, canvas, genStart));
            }
            long[] tokens = Arrays.stream(Arrays.copyOfRange(canvas, genStart, genStart + region.length))
                    .filter(t -> t != padId && t != maskId)
                    .toArray();
            return new AnswerText.Answer(text.toString(), tokens);
        }

        @Override
        public String settled(long[] canvas, int end) {
            StringBuilder text = new StringBuilder();
            for (Segment s : segments) {
                if (genStart + s.end() > end || !resolved(s, canvas, genStart)) {
                    break;
                }
                text.append(render(s, canvas, genStart));
            }
            return text.toString();
        }
    }

    private boolean resolved(Segment s, long[] canvas, int genStart) {
        for (int i = genStart + s.start(); i < genStart + s.end(); i++) {
            if (canvas[i] == maskId) {
                return false;
            }
        }
        return true;
    }

    private String render(Segment s, long[] canvas, int genStart) {
        if (s.piece() instanceof JsonSkeleton.Fixed f) {
            return f.text();
        }
        long[] written = Arrays.copyOfRange(canvas, genStart + s.start(), genStart + s.end());
        if (s.piece() instanceof JsonSkeleton.EnumSlot e) {
            return e.choices().get(closestChoice(written, s.choices()));
        }
        String raw = decoder.apply(
                Arrays.stream(written).filter(t -> t != padId && t != maskId).toArray());
        if (s.piece() instanceof JsonSkeleton.StringSlot str) {
            return escape(fit(raw, str.minChars(), str.maxChars()));
        }
        if (s.piece() instanceof JsonSkeleton.IntegerSlot i) {
            return integer(raw, i.minimum(), i.maximum());
        }
        JsonSkeleton.NumberSlot n = (JsonSkeleton.NumberSlot) s.piece();
        return number(raw, n.minimum(), n.maximum());
    }

    private static StructuredCanvas.Admissible[] number(int width, boolean decimal, TokenClasses classes, long pad) {
        StructuredCanvas.Admissible[] a = new StructuredCanvas.Admissible[width];
        a[0] = new Admit(t -> t == pad || classes.digits(t) || classes.minus(t), pad);
        for (int i = 1; i < width; i++) {
            a[i] = new Admit(t -> t == pad || classes.digits(t) || (decimal && classes.point(t)), pad);
        }
        return a;
    }

    private static StructuredCanvas.Admissible enumPosition(long[][] choices, int i, long pad) {
        long[] ids = new long[choices.length];
        int n = 0;
        for (long[] c : choices) {
            ids[n++] = i < c.length ? c[i] : pad;
        }
        long[] set = Arrays.stream(ids, 0, n).distinct().sorted().toArray();
        long fallback = i < choices[0].length ? choices[0][i] : pad;
        return new Admit(t -> Arrays.binarySearch(set, t) >= 0, fallback);
    }

    /** The choice the written tokens spell, else the one they match at the most positions (the first on a tie). */
    private int closestChoice(long[] written, long[][] choices) {
        long[] kept = Arrays.stream(written).filter(t -> t != padId).toArray();
        for (int c = 0; c < choices.length; c++) {
            if (Arrays.equals(kept, choices[c])) {
                return c;
            }
        }
        int best = 0;
        int bestMatches = -1;
        for (int c = 0; c < choices.length; c++) {
            int matches = 0;
            for (int i = 0; i < written.length; i++) {
                long expected = i < choices[c].length ? choices[c][i] : padId;
                matches += written[i] == expected ? 1 : 0;
            }
            if (matches > bestMatches) {
                best = c;
                bestMatches = matches;
            }
        }
        return best;
    }

    private static String fit(String text, int minChars, int maxChars) {
        if (maxChars >= 0 && text.codePointCount(0, text.length()) > maxChars) {
            text = text.substring(0, text.offsetByCodePoints(0, maxChars));
        }
        int have = text.codePointCount(0, text.length());
        return have >= minChars ? text : text + " ".repeat(minChars - have);
    }

    /** The body of a JSON string: RFC 8259's escapes for the quote, the backslash and control characters. */
    static String escape(String text) {
        StringBuilder s = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '"' -> s.append("\\\"");
                case '\\' -> s.append("\\\\");
                case '\n' -> s.append("\\n");
                case '\t' -> s.append("\\t");
                case '\r' -> s.append("\\r");
                default -> {
                    if (c < 0x20) {
                        s.append(String.format("\\u%04x", (int) c));
                    } else {
                        s.append(c);
                    }
                }
            }
        }
        return s.toString();
    }

    /** An integer from whatever the slot holds: its digits, negative when it starts with a minus; clamped. */
    static String integer(String raw, BigInteger minimum, BigInteger maximum) {
        String digits = raw.chars()
                .filter(c -> c >= '0' && c <= '9')
                .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append)
                .toString();
        BigInteger v = digits.isEmpty() ? BigInteger.ZERO : new BigInteger(digits);
        if (raw.startsWith("-")) {
            v = v.negate();
        }
        if (minimum != null && v.compareTo(minimum) < 0) {
            v = minimum;
        }
        if (maximum != null && v.compareTo(maximum) > 0) {
            v = maximum;
        }
        return v.toString();
    }

    /** A number from whatever the slot holds: digits, the first decimal point, a leading minus; clamped. */
    static String number(String raw, BigDecimal minimum, BigDecimal maximum) {
        StringBuilder whole = new StringBuilder();
        StringBuilder fraction = new StringBuilder();
        boolean point = false;
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c == '.') {
                point = true;
            } else if (c >= '0' && c <= '9') {
                (point ? fraction : whole).append(c);
            }
        }
        BigDecimal v = new BigDecimal((whole.isEmpty() ? "0" : whole) + (fraction.isEmpty() ? "" : "." + fraction));
        if (raw.startsWith("-")) {
            v = v.negate();
        }
        if (minimum != null && v.compareTo(minimum) < 0) {
            v = minimum;
        }
        if (maximum != null && v.compareTo(maximum) > 0) {
            v = maximum;
        }
        v = v.stripTrailingZeros();
        return v.signum() == 0 ? "0" : v.toPlainString();
    }

    /** A position's admissible tokens as a predicate and its fallback. */
    private record Admit(java.util.function.LongPredicate test, long fallback) implements StructuredCanvas.Admissible {
        @Override
        public boolean admits(long token) {
            return test.test(token);
        }
    }
}
