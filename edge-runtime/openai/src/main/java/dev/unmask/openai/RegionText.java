package dev.unmask.openai;

import dev.unmask.engine.decode.CanvasLayout;
import dev.unmask.engine.decode.DecodingOptions;
import dev.unmask.engine.decode.DraftText;
import dev.unmask.engine.decode.ModelTraits;

import java.util.Arrays;
import java.util.function.Function;

/**
 * The text of a generated region while it is being denoised, read the way {@link dev.unmask.engine.Engine#finish}
 * reads the final one: a continuation stops at its first mask or end-of-text token, an infill drops them; at most
 * {@code max_tokens} positions; cut before a stop sequence. For streaming, the tail that may still change is held
 * back: a partial stop sequence, a character whose UTF-8 bytes are split between tokens, trailing whitespace.
 */
final class RegionText {

    private final CanvasLayout layout;
    private final DecodingOptions options;
    private final ModelTraits traits;
    private final Function<long[], String> decoder;
    private final int holdBack;

    RegionText(CanvasLayout layout, DecodingOptions options, ModelTraits traits, Function<long[], String> decoder) {
        this.layout = layout;
        this.options = options;
        this.traits = traits;
        this.decoder = decoder;
        this.holdBack = options.stopSequences().stream().mapToInt(String::length).max().orElse(1) - 1;
    }

    /** The settled text of {@code canvas} up to position {@code end} (exclusive), safe to send. */
    String settled(long[] canvas, int end) {
        int start = layout.genStart();
        int stop = Math.min(end, start + layout.genLength());
        if (options.maxTokens() > 0) {
            stop = Math.min(stop, start + options.maxTokens());
        }
        long[] kept = new long[Math.max(0, stop - start)];
        int n = 0;
        for (int i = start; i < stop; i++) {
            long t = canvas[i];
            boolean masked = t == traits.maskId();
            if (layout.regionEndsCanvas() && (masked || traits.isEnd(t))) {
                break;
            }
            if (!masked && !traits.isEnd(t)) {
                kept[n++] = t;
            }
        }
        String text = decoder.apply(Arrays.copyOf(kept, n));
        for (String s : options.stopSequences()) {
            int at = text.indexOf(s);
            if (at >= 0) {
                text = text.substring(0, at);
            }
        }
        int cut = Math.max(0, text.length() - holdBack);
        while (cut > 0 && (text.charAt(cut - 1) == '\uFFFD' || Character.isWhitespace(text.charAt(cut - 1)))) {
            cut--; // a split UTF-8 character; whitespace that decoding may clean up against what follows (" ." -> ".")
        }
        return text.substring(0, cut);
    }

    /** The whole region as a draft, masks shown as {@link Draft#MASK_GLYPH}. */
    Draft draft(int block, int step, long[] canvas) {
        DraftText d = DraftText.of(canvas, layout.genStart(), layout.genStart() + layout.genLength(), traits, decoder);
        return new Draft(block, step, d.text(), d.masked());
    }
}
