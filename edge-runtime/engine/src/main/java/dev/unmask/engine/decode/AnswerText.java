package dev.unmask.engine.decode;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * The one rendering of a region's text, for every reader of it: the final answer, the settled prefix a stream may
 * send while the region is still being denoised, the stop-sequence check of a run, and the draft a live view shows.
 * Because all four read the canvas through the same {@link #kept} rule, the settled text is a prefix of the final
 * text and a stream that ends with the final text's remaining tail delivers exactly the plain answer.
 *
 * <p>The rule: a continuation's text stops at its first mask or end-of-text token (what follows is padding or not
 * yet written); an infill's drops them (the suffix follows, the middle may end early); at most {@code max_tokens}
 * positions; the text is cut before the first stop sequence.
 */
public final class AnswerText {

    private final CanvasLayout layout;
    private final DecodingOptions options;
    private final ModelTraits traits;
    private final Function<long[], String> decoder;
    private final Function<String, long[]> encoder;
    private final int holdBack;

    /**
     * @param decoder ids to text (special tokens skipped)
     * @param encoder text to ids without a BOS: the tokens of a text cut before a stop sequence
     */
    public AnswerText(
            CanvasLayout layout,
            DecodingOptions options,
            ModelTraits traits,
            Function<long[], String> decoder,
            Function<String, long[]> encoder) {
        this.layout = layout;
        this.options = options;
        this.traits = traits;
        this.decoder = decoder;
        this.encoder = encoder;
        this.holdBack =
                options.stopSequences().stream().mapToInt(String::length).max().orElse(1) - 1;
    }

    /**
     * The answer's text and the tokens behind it.
     *
     * @param text   the final text
     * @param tokens [n] its tokens: the region's kept tokens, re-encoded when a stop sequence cut the text
     */
    public record Answer(String text, long[] tokens) {}

    /** The final answer of {@code canvas}. */
    public Answer answer(long[] canvas) {
        long[] kept = kept(canvas, regionEnd());
        String whole = decoder.apply(kept);
        String text = cutAtStop(whole);
        return new Answer(text, text.length() == whole.length() ? kept : encoder.apply(text));
    }

    /**
     * The part of the text that can no longer change once the positions before {@code end} are resolved, safe to
     * stream: the text before {@code end}, less a tail that may still change (a partial stop sequence, a character
     * whose UTF-8 bytes are split between tokens, whitespace that decoding may clean up against what follows), or
     * the text before a stop sequence once one is there.
     */
    public String settled(long[] canvas, int end) {
        String whole = decoder.apply(kept(canvas, Math.min(end, regionEnd())));
        String text = cutAtStop(whole);
        int cut = Math.min(text.length(), Math.max(0, whole.length() - holdBack));
        if (cut == text.length() && text.length() < whole.length()) {
            return text; // a stop sequence is there, too far back for another one to start before it unseen
        }
        while (cut > 0 && (text.charAt(cut - 1) == '\uFFFD' || Character.isWhitespace(text.charAt(cut - 1)))) {
            cut--; // a split UTF-8 character; whitespace that decoding may clean up against what follows (" ." -> ".")
        }
        return text.substring(0, cut);
    }

    /** Whether the resolved leading text (up to the first mask) already contains a stop sequence. */
    public boolean reachesStop(long[] canvas) {
        if (options.stopSequences().isEmpty()) {
            return false;
        }
        int end = layout.genStart();
        while (end < regionEnd() && canvas[end] != traits.maskId()) {
            end++;
        }
        String text = decoder.apply(kept(canvas, end));
        return options.stopSequences().stream().anyMatch(text::contains);
    }

    /** The whole region as it stands, every still-masked position shown as {@link DraftText#MASK_GLYPH}. */
    public DraftText draft(long[] canvas) {
        StringBuilder text = new StringBuilder();
        int masked = 0;
        int from = layout.genStart();
        int end = regionEnd();
        int runStart = from;
        // Decode runs of committed tokens together, so that multi-token characters and merged spaces read right.
        for (int i = from; i <= end; i++) {
            boolean isMask = i < end && canvas[i] == traits.maskId();
            if (i == end || isMask) {
                if (i > runStart) {
                    long[] run = Arrays.stream(Arrays.copyOfRange(canvas, runStart, i))
                            .filter(t -> !traits.isEnd(t))
                            .toArray();
                    text.append(decoder.apply(run));
                }
                if (isMask) {
                    text.append(DraftText.MASK_GLYPH);
                    masked++;
                }
                runStart = i + 1;
            }
        }
        return new DraftText(text.toString(), masked);
    }

    /** The canvas position of the region's first token: where a {@link DenoisingListener.Commit#position} is 0. */
    public int regionStart() {
        return layout.genStart();
    }

    /**
     * [region] the region position by position, each token decoded alone, for a view that shows the canvas cell by
     * cell (the web playground): null where still masked, {@code ""} for an end-of-text token (or any token that
     * decodes to nothing). A character whose UTF-8 bytes are split between tokens reads as U+FFFD here; the
     * {@link #draft} decodes runs together and reads it right.
     */
    public List<String> tokenTexts(long[] canvas) {
        int from = layout.genStart();
        int end = regionEnd();
        List<String> texts = new ArrayList<>(end - from);
        for (int i = from; i < end; i++) {
            long t = canvas[i];
            texts.add(t == traits.maskId() ? null : traits.isEnd(t) ? "" : decoder.apply(new long[] {t}));
        }
        return texts;
    }

    /** [n] the tokens of the region before canvas position {@code end} that make up the text. */
    private long[] kept(long[] canvas, int end) {
        int start = layout.genStart();
        int stop = end;
        if (options.maxTokens() > 0) {
            stop = Math.min(stop, start + options.maxTokens());
        }
        long[] kept = new long[Math.max(0, stop - start)];
        int n = 0;
        for (int i = start; i < stop; i++) {
            long t = canvas[i];
            boolean skip = t == traits.maskId() || traits.isEnd(t);
            if (skip && layout.regionEndsCanvas()) {
                break; // a continuation ends at its first mask or end-of-text token
            }
            if (!skip) {
                kept[n++] = t;
            }
        }
        return Arrays.copyOf(kept, n);
    }

    private String cutAtStop(String text) {
        int cut = text.length();
        for (String stop : options.stopSequences()) {
            int at = text.indexOf(stop);
            if (at >= 0) {
                cut = Math.min(cut, at);
            }
        }
        return text.substring(0, cut);
    }

    private int regionEnd() {
        return layout.genStart() + layout.genLength();
    }
}
