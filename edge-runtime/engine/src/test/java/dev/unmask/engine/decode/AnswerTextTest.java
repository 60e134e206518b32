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
