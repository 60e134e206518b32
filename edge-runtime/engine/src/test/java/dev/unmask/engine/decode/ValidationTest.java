package dev.unmask.engine.decode;

import dev.unmask.engine.testing.ScriptedModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.util.List;

import static dev.unmask.engine.testing.ScriptedModel.MASK;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every bad input is refused with a message that names the value and shows a correct one. */
class ValidationTest {

    static final DecodingOptions BASE = DecodingOptions.defaults().toBuilder().genLength(64).blockLength(32).steps(64).build();

    static void refused(Executable e, String... fragments) {
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, e);
        for (String f : fragments) {
            assertTrue(ex.getMessage().contains(f), "'" + ex.getMessage() + "' should mention '" + f + "'");
        }
    }

    @Test
    void gen_length_must_be_a_multiple_of_block_length() {
        refused(() -> BASE.toBuilder().genLength(40).steps(40).build(), "gen_length 40 is not a multiple of block_length 32",
                "--gen-length 64");
    }

    @Test
    void steps_must_be_in_range_and_divisible_by_the_number_of_blocks() {
        refused(() -> BASE.toBuilder().steps(1).build(), "steps must be between 2", "and 64");
        refused(() -> BASE.toBuilder().steps(65).build(), "steps must be between 2");
        refused(() -> BASE.toBuilder().steps(0).build(), "steps");
        refused(() -> BASE.toBuilder().steps(33).build(), "steps 33 must be a multiple of the number of blocks 2", "--steps 32");
    }

    @Test
    void absurd_values_are_refused() {
        refused(() -> BASE.toBuilder().genLength(0).build(), "gen_length");
        refused(() -> BASE.toBuilder().blockLength(0).build(), "block_length");
        refused(() -> BASE.toBuilder().temperature(-1).build(), "temperature");
        refused(() -> BASE.toBuilder().temperature(Double.NaN).build(), "temperature");
        refused(() -> BASE.toBuilder().cfgScale(-0.5).build(), "cfg_scale");
        refused(() -> BASE.toBuilder().topK(-1).build(), "top_k");
        refused(() -> BASE.toBuilder().topP(0).build(), "top_p");
        refused(() -> BASE.toBuilder().topP(1.5).build(), "top_p");
        refused(() -> BASE.toBuilder().maxTokens(65).build(), "max_tokens");
        refused(() -> BASE.toBuilder().threshold(0).build(), "threshold");
        refused(() -> BASE.toBuilder().stopSequences(List.of("")).build(), "stop");
    }

    @Test
    void unknown_remasking_and_confidence_names_list_the_known_ones() {
        refused(() -> Remasking.parse("lowest"), "Unknown remasking 'lowest'", "low_confidence, random");
        assertEquals(Remasking.LOW_CONFIDENCE, Remasking.parse("low-confidence"));
        refused(() -> ConfidenceMeasure.parse("vibes"), "probability, margin, entropy");
        assertEquals(ConfidenceMeasure.NEGATIVE_ENTROPY, ConfidenceMeasure.parse("entropy"));
    }

    static DenoisingRun start(ScriptedModel model, long[] prompt, DecodingOptions o) {
        return DenoisingRun.start(CanvasLayout.continuation(prompt, o.genLength(), MASK), o,
                ModelTraits.of(model.manifest()), DenoisingListener.NONE, ids -> "");
    }

    @Test
    void a_prompt_longer_than_the_canvas_the_model_takes_is_refused() {
        ScriptedModel small = new ScriptedModel(64, 8, false, false, 80, (c, p) -> new float[64]);
        refused(() -> start(small, new long[20], BASE), "The prompt (20 tokens) plus gen_length 64 makes a canvas of 84 tokens",
                "max_sequence_length 80");
    }

    @Test
    void what_the_package_cannot_do_is_refused_with_how_to_get_it() {
        ScriptedModel topOnly = ScriptedModel.of((c, p) -> new float[64]);
        refused(() -> start(topOnly, new long[] {0}, BASE.toBuilder().cfgScale(1).build()), "cfg_scale", "--full-logits");
        refused(() -> start(topOnly, new long[] {0}, BASE.toBuilder().topK(20).build()), "top_k 20", "--top-k 8");
    }

    @Test
    void a_region_without_masks_or_a_canvas_without_placeholders_is_refused() {
        ScriptedModel model = ScriptedModel.of((c, p) -> new float[64]);
        refused(() -> DenoisingRun.start(new CanvasLayout(new long[] {0, 5, 6}, 1, 2), BASE.toBuilder().genLength(2)
                .blockLength(2).steps(2).build(), ModelTraits.of(model.manifest()), DenoisingListener.NONE, null), "Nothing to generate");
        refused(() -> CanvasLayout.ofPlaceholders(new long[] {0, 5, 6}, MASK), "no <|mdm_mask|> placeholder");
    }

    @Test
    void a_shifted_model_needs_a_token_before_the_region() {
        ScriptedModel shifted = new ScriptedModel(64, 8, false, true, 512, (c, p) -> new float[64]);
        refused(() -> start(shifted, new long[0], BASE), "logits_shift");
    }
}
