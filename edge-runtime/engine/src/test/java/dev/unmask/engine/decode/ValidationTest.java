package dev.unmask.engine.decode;

import static dev.unmask.engine.testing.ScriptedModel.MASK;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.engine.testing.ScriptedModel;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * What a run itself refuses, whatever the plan: a region without masks, blocks that do not cover it, a shifted model
 * without a token before the region; and the sampler's names. Every value of a request is checked earlier, by the
 * planner ({@code DecodingPlannerTest}).
 */
class ValidationTest {

    static void refused(Executable e, String... fragments) {
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, e);
        for (String f : fragments) {
            assertTrue(ex.getMessage().contains(f), "'" + ex.getMessage() + "' should mention '" + f + "'");
        }
    }

    @Test
    void unknown_remasking_and_confidence_names_list_the_known_ones() {
        refused(() -> Remasking.parse("lowest"), "Unknown remasking 'lowest'", "low_confidence, random");
        assertEquals(Remasking.LOW_CONFIDENCE, Remasking.parse("low-confidence"));
        refused(() -> ConfidenceMeasure.parse("vibes"), "probability, margin, entropy");
        assertEquals(ConfidenceMeasure.NEGATIVE_ENTROPY, ConfidenceMeasure.parse("entropy"));
    }

    static DenoisingRun start(ScriptedModel model, CanvasLayout layout, List<Block> blocks) {
        ModelTraits traits = ModelTraits.of(model.manifest());
        DecodingOptions o = DecodingOptions.defaults();
        return DenoisingRun.start(
                layout,
                blocks,
                o,
                traits,
                DenoisingListener.NONE,
                new AnswerText(layout, o, traits, ids -> "", t -> new long[0]));
    }

    @Test
    void a_region_without_masks_or_a_canvas_without_placeholders_is_refused() {
        ScriptedModel model = ScriptedModel.of((c, p) -> new float[64]);
        refused(
                () -> start(model, new CanvasLayout(new long[] {0, 5, 6}, 1, 2), List.of(new Block(1, 3, 2))),
                "Nothing to generate");
        refused(() -> CanvasLayout.ofPlaceholders(new long[] {0, 5, 6}, MASK), "no <|mdm_mask|> placeholder");
    }

    @Test
    void blocks_must_cover_the_region_left_to_right() {
        ScriptedModel model = ScriptedModel.of((c, p) -> new float[64]);
        CanvasLayout layout = CanvasLayout.continuation(new long[] {0}, 8, MASK);
        refused(() -> start(model, layout, List.of(new Block(1, 5, 4))), "do not cover the region [1, 9)");
        refused(() -> start(model, layout, List.of(new Block(1, 5, 4), new Block(6, 9, 3))), "without gaps");
        refused(() -> new Block(1, 5, 5), "1 <= steps <= its length");
    }

    @Test
    void a_shifted_model_needs_no_token_before_the_region_its_graph_reads_position_0_for_itself() {
        ScriptedModel shifted = new ScriptedModel(64, 8, false, true, 512, (c, p) -> new float[64]);
        start(shifted, CanvasLayout.continuation(new long[0], 4, MASK), List.of(new Block(0, 4, 4)))
                .runToEnd(shifted);
        assertEquals(0L, shifted.headPositions.get(0)[0][0], "the engine asks for position 0 itself");
    }
}
