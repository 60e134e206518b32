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
    private final boolean holdsTrailingSpace;
    private final StructuredCanvas structure; // null: the region's tokens decoded as plain text

    /**
     * A rendering that holds trailing whitespace back from {@link #settled}, as it must when it does not know the
     * decoder.
     *
     * @param decoder ids to text (special tokens skipped)
     * @param encoder text to ids without a BOS: the tokens of a text cut before a stop sequence
     */
    public AnswerText(
            CanvasLayout layout,
            DecodingOptions options,
            ModelTraits traits,
            Function<long[], String> decoder,
            Function<String, long[]> encoder) {
        this(layout, options, traits, decoder, encoder, false, null);
    }

    /**
     * A plain-text rendering that knows its decoder.
     *
     * @param decoderKeepsTrailingSpace true when more tokens never change the trailing whitespace of a decoded text
     *     (a byte-level BPE: {@code Tokenizer.keepsTrailingSpace}), so a stream may send it at once
     */
    public AnswerText(
            CanvasLayout layout,
            DecodingOptions options,
            ModelTraits traits,
            Function<long[], String> decoder,
            Function<String, long[]> encoder,
            boolean decoderKeepsTrailingSpace) {
        this(layout, options, traits, decoder, encoder, decoderKeepsTrailingSpace, null);
    }

    /**
     * @param decoderKeepsTrailingSpace as above
     * @param structure a region rendered by it (structured output) when it is not null: the answer and the settled
     *     prefix are the skeleton's rendering; drafts still show the raw tokens
     */
    public AnswerText(
            CanvasLayout layout,
            DecodingOptions options,
            ModelTraits traits,
            Function<long[], String> decoder,
            Function<String, long[]> encoder,
            boolean decoderKeepsTrailingSpace,
            StructuredCanvas structure) {
        this.holdsTrailingSpace = !decoderKeepsTrailingSpace;
        this.structure = structure;
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
        if (structure != null) {
            return structure.answer(canvas);
        }
        long[] kept = kept(canvas, regionEnd());
        String whole = decoder.apply(kept);
        String text = cutAtStop(whole);
        return new Answer(text, text.length() == whole.length() ? kept : encoder.apply(text));
    }

    /**
     * The part of the text that can no longer change once the positions before {@code end} are resolved, safe to
     * stream (see {@link TextStream}, the one user of this rule on every surface). Of the text before {@code end} it
     * keeps the sure part, less what a stop sequence may still claim:
     *
     * <ul>
     *   <li>a trailing U+FFFD is a character whose UTF-8 bytes are split between tokens (a byte-level decoder writes
     *       the incomplete sequence as U+FFFD until its last byte is there), so it and what follows are held;
     *   <li>trailing whitespace is held until text follows it, unless the decoder is known to keep it: one that cleans
     *       up spaces (WordPiece's {@code cleanup}: {@code " ." -> "."}) may drop it against the next token;
     *   <li>of that sure text, the last {@code longest stop - 1} characters are held (a stop sequence may be starting
     *       there), and the text is cut before a stop sequence found in it;
     *   <li>a cut never falls between the two halves of a surrogate pair.
     * </ul>
     *
     * Once a stop sequence lies far enough back that no other one can start before it unseen, the text before it is
     * the final text.
     */
    public String settled(long[] canvas, int end) {
        if (structure != null) {
            return structure.settled(canvas, Math.min(end, regionEnd()));
        }
        String whole = decoder.apply(kept(canvas, Math.min(end, regionEnd())));
        int sure = whole.length();
        while (sure > 0
                && (whole.charAt(sure - 1) == '\uFFFD'
                        || (holdsTrailingSpace && Character.isWhitespace(whole.charAt(sure - 1))))) {
            sure--;
        }
        String text = whole.substring(0, sure);
        int stop = stopAt(text);
        if (stop >= 0 && stop <= sure - holdBack) {
            return text.substring(
                    0, stop); // final: a stop starting earlier would end inside the sure text, and it does not
        }
        int cut = Math.max(0, sure - holdBack);
        if (stop >= 0) {
            cut = Math.min(cut, stop);
        }
        if (cut > 0 && Character.isHighSurrogate(text.charAt(cut - 1))) {
            cut--; // never half a character: JSON cannot carry a lone surrogate
        }
        return text.substring(0, cut);
    }

    /** {@link #settled} of everything resolved so far: the region's text up to its first still-masked position. */
    public String settled(long[] canvas) {
        return settled(canvas, firstMasked(canvas));
    }

    /** The region's first still-masked canvas position, or the region's end when none is. */
    public int firstMasked(long[] canvas) {
        int end = layout.genStart();
        while (end < regionEnd() && canvas[end] != traits.maskId()) {
            end++;
        }
        return end;
    }

    /** Whether the resolved leading text (up to the first mask) already contains a stop sequence. */
    public boolean reachesStop(long[] canvas) {
        if (options.stopSequences().isEmpty() || structure != null) {
            return false;
        }
        String text = decoder.apply(kept(canvas, firstMasked(canvas)));
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

    /**
     * [n] the canvas positions of the tokens the text of {@code canvas} is decoded from, in order: those of the
     * answer's tokens, before a stop sequence's cut (the answer's tokens are re-encoded then, and may be fewer).
     */
    public int[] keptPositions(long[] canvas) {
        return keptPositions(canvas, regionEnd());
    }

    /** [n] as {@link #keptPositions(long[])}, before canvas position {@code end}. */
    public int[] keptPositions(long[] canvas, int end) {
        int start = layout.genStart();
        int stop = Math.min(end, regionEnd());
        if (options.maxTokens() > 0) {
            stop = Math.min(stop, start + options.maxTokens());
        }
        int[] kept = new int[Math.max(0, stop - start)];
        int n = 0;
        for (int i = start; i < stop; i++) {
            boolean skip = canvas[i] == traits.maskId() || traits.isEnd(canvas[i]);
            if (skip && layout.regionEndsCanvas()) {
                break;
            }
            if (!skip) {
                kept[n++] = i;
            }
        }
        return Arrays.copyOf(kept, n);
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
        int at = stopAt(text);
        return at < 0 ? text : text.substring(0, at);
    }

    /** Where the earliest stop sequence starts in {@code text}, or -1. */
    private int stopAt(String text) {
        int cut = -1;
        for (String stop : options.stopSequences()) {
            int at = text.indexOf(stop);
            if (at >= 0 && (cut < 0 || at < cut)) {
                cut = at;
            }
        }
        return cut;
    }

    private int regionEnd() {
        return layout.genStart() + layout.genLength();
    }
}
