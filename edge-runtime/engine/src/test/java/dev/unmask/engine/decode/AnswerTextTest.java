package dev.unmask.engine.decode;

import static dev.unmask.engine.testing.ScriptedModel.EOS;
import static dev.unmask.engine.testing.ScriptedModel.MASK;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The one rendering of a region: final text, settled stream prefix, stop check and draft agree with each other. */
class AnswerTextTest {

    static final ModelTraits TRAITS = new ModelTraits(MASK, EOS, 2, EOS, false, 8, false, 512);
    /** Token t decodes to the letter 'a' + t - 10; 9 decodes to a space. */
    static final Function<long[], String> LETTERS = ids -> Arrays.stream(ids)
            .mapToObj(t -> t == 9 ? " " : String.valueOf((char) ('a' + t - 10)))
            .collect(Collectors.joining());

    static final Function<String, long[]> ENCODE =
            text -> text.chars().mapToLong(c -> c == ' ' ? 9 : c - 'a' + 10).toArray();

    static AnswerText text(CanvasLayout layout, DecodingOptions options) {
        return new AnswerText(layout, options, TRAITS, LETTERS, ENCODE);
    }

    static long[] canvas(long... tokens) {
        return tokens;
    }

    @Test
    void a_continuation_ends_at_its_first_end_or_mask_token_and_an_infill_drops_them() {
        CanvasLayout continuation = CanvasLayout.continuation(new long[] {0}, 6, MASK);
        AnswerText c = text(continuation, DecodingOptions.defaults());
        assertEquals("ab", c.answer(canvas(0, 10, 11, EOS, 12, MASK, 13)).text());
        assertArrayEquals(
                new long[] {10, 11},
                c.answer(canvas(0, 10, 11, EOS, 12, MASK, 13)).tokens());
        CanvasLayout infill = CanvasLayout.infill(new long[] {0}, new long[] {20}, 5, MASK);
        assertEquals(
                "abc",
                text(infill, DecodingOptions.defaults())
                        .answer(canvas(0, 10, EOS, 11, MASK, 12, 20))
                        .text());
    }

    @Test
    void max_tokens_counts_positions_and_a_stop_sequence_cuts_the_text_and_its_tokens() {
        CanvasLayout layout = CanvasLayout.continuation(new long[] {0}, 6, MASK);
        long[] done = canvas(0, 10, 11, 12, 13, 14, 15);
        assertEquals(
                "abc",
                text(layout, DecodingOptions.defaults().toBuilder().maxTokens(3).build())
                        .answer(done)
                        .text());
        AnswerText.Answer cut = text(
                        layout,
                        DecodingOptions.defaults().toBuilder()
                                .stopSequences(List.of("de", "c"))
                                .build())
                .answer(done);
        assertEquals("ab", cut.text(), "before the earliest stop sequence");
        assertArrayEquals(new long[] {10, 11}, cut.tokens());
    }

    @Test
    void the_settled_text_holds_back_what_may_still_change_and_is_a_prefix_of_the_final_text() {
        CanvasLayout layout = CanvasLayout.continuation(new long[] {0}, 8, MASK);
        AnswerText t = text(
                layout,
                DecodingOptions.defaults().toBuilder()
                        .stopSequences(List.of("xyz"))
                        .build());
        long[] halfway = canvas(0, 10, 11, 9, 12, MASK, MASK, MASK, MASK);
        assertEquals(
                "ab",
                t.settled(halfway, 5),
                "'ab c' less two characters of a stop that may be starting, less the space");
        long[] done = canvas(0, 10, 11, 9, 12, 13, 33, 34, 35);
        assertEquals("ab cd", t.answer(done).text());
        assertTrue(t.answer(done).text().startsWith(t.settled(halfway, 5)));
        assertEquals("ab cd", t.settled(done, 9), "once the stop is there, the text before it is final");
        // "e" is a stop, but "cefg" may still turn out to start earlier: hold back as if there were none
        AnswerText overlapping = text(
                layout,
                DecodingOptions.defaults().toBuilder()
                        .stopSequences(List.of("e", "cefg"))
                        .build());
        long[] partly = canvas(0, 10, 11, 12, 14, MASK, MASK, MASK, MASK);
        assertEquals("a", overlapping.settled(partly, 5));
        assertEquals(
                "ab",
                overlapping.answer(canvas(0, 10, 11, 12, 14, 15, 16, 10, 10)).text());
    }

    /** Tokens 100..255 are bytes: a byte-level decoder, which writes an incomplete UTF-8 sequence as U+FFFD. */
    static final Function<long[], String> BYTES = ids -> {
        StringBuilder out = new StringBuilder();
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        for (long t : ids) {
            if (t >= 100) {
                bytes.write((int) (t - 100 + 0x80));
            } else {
                out.append(new String(bytes.toByteArray(), java.nio.charset.StandardCharsets.UTF_8));
                bytes.reset();
                out.append(LETTERS.apply(new long[] {t}));
            }
        }
        return out.append(new String(bytes.toByteArray(), java.nio.charset.StandardCharsets.UTF_8))
                .toString();
    };

    /** The byte tokens of {@code c}'s UTF-8 bytes above 0x7F. */
    static long[] bytesOf(String c) {
        byte[] b = c.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        long[] t = new long[b.length];
        for (int i = 0; i < b.length; i++) {
            t[i] = (b[i] & 0xFF) - 0x80 + 100;
        }
        return t;
    }

    @Test
    void a_character_split_between_tokens_is_held_whole_and_counts_for_no_stop_until_it_is_there() {
        long[] euro = bytesOf("\u20AC"); // 3 bytes
        CanvasLayout layout = CanvasLayout.continuation(new long[] {0}, 6, MASK);
        AnswerText t = new AnswerText(
                layout,
                DecodingOptions.defaults().toBuilder()
                        .stopSequences(List.of("a\u20AC"))
                        .build(),
                TRAITS,
                BYTES,
                ENCODE,
                true);
        long[] split = canvas(0, 11, 10, euro[0], euro[1], MASK, MASK);
        assertEquals("b", t.settled(split), "'ba' + half of '\u20AC': the 'a' may start the stop 'a\u20AC'");
        long[] whole = canvas(0, 11, 10, euro[0], euro[1], euro[2], MASK);
        assertEquals("b", t.settled(whole), "the stop is there: the text before it is final");
        assertEquals("b", t.answer(whole).text());
    }

    @Test
    void a_cut_never_falls_inside_a_surrogate_pair() {
        long[] grin = bytesOf("\uD83D\uDE00"); // U+1F600: 4 bytes, 2 UTF-16 chars
        CanvasLayout layout = CanvasLayout.continuation(new long[] {0}, 7, MASK);
        AnswerText t = new AnswerText(
                layout,
                DecodingOptions.defaults().toBuilder()
                        .stopSequences(List.of("xy"))
                        .build(),
                TRAITS,
                BYTES,
                ENCODE,
                true);
        String settled = t.settled(canvas(0, 10, grin[0], grin[1], grin[2], grin[3], MASK, MASK));
        assertEquals("a", settled, "holding one character back for the stop holds the whole emoji");
    }

    @Test
    void trailing_whitespace_is_held_only_when_the_decoder_may_change_it() {
        CanvasLayout layout = CanvasLayout.continuation(new long[] {0}, 5, MASK);
        long[] spaced = canvas(0, 10, 9, 9, MASK, MASK);
        assertEquals("a", text(layout, DecodingOptions.defaults()).settled(spaced), "an unknown decoder");
        assertEquals(
                "a  ",
                new AnswerText(layout, DecodingOptions.defaults(), TRAITS, LETTERS, ENCODE, true).settled(spaced),
                "a byte-level decoder");
    }

    @Test
    void the_stop_check_reads_only_the_resolved_leading_text() {
        CanvasLayout layout = CanvasLayout.continuation(new long[] {0}, 4, MASK);
        AnswerText t = text(
                layout,
                DecodingOptions.defaults().toBuilder()
                        .stopSequences(List.of("bc"))
                        .build());
        assertFalse(t.reachesStop(canvas(0, 10, 11, MASK, 12)), "'c' is after a mask: not read yet");
        assertTrue(t.reachesStop(canvas(0, 10, 11, 12, MASK)));
        assertFalse(
                text(layout, DecodingOptions.defaults()).reachesStop(canvas(0, 10, 11, 12, 13)), "no stops, no stop");
    }

    @Test
    void the_draft_shows_every_mask_and_leaves_end_tokens_out() {
        CanvasLayout layout = CanvasLayout.continuation(new long[] {0}, 5, MASK);
        DraftText d = text(layout, DecodingOptions.defaults()).draft(canvas(0, 10, MASK, 11, EOS, MASK));
        assertEquals("a" + DraftText.MASK_GLYPH + "b" + DraftText.MASK_GLYPH, d.text());
        assertEquals(2, d.masked());
    }
}
