package dev.unmask.openai;

import dev.unmask.engine.decode.CommitRule;
import dev.unmask.engine.decode.DecodingOptions;
import dev.unmask.engine.decode.ModelTraits;
import dev.unmask.engine.decode.Remasking;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** How request fields become a canvas and decoding options (LLaDA's defaults: 64 tokens, blocks of 32, 64 steps). */
class PlanTest {

    static final ModelTraits TRAITS = new ModelTraits(3, 1, 2, 1, false, 8, false, 512);
    static final DecodingOptions DEFAULTS = DecodingOptions.defaults();
    static final long[] PROMPT = {0, 100, 101, 102};

    static GenerationParams params(Integer maxTokens, DiffusionControls d) {
        return new GenerationParams(maxTokens, null, null, List.of(), null, false, false, d);
    }

    static Plan plan(Integer maxTokens, DiffusionControls d) {
        return Plan.of(PROMPT, null, params(maxTokens, d), DEFAULTS, TRAITS, ServingLimits.defaults());
    }

    static DiffusionControls steps(int steps, int blockLength) {
        return new DiffusionControls(steps, blockLength, null, null, null, false);
    }

    @Test
    void withoutFieldsThePackageDefaultsApply() {
        Plan p = plan(null, DiffusionControls.NONE);
        assertEquals(64, p.options().genLength());
        assertEquals(32, p.options().blockLength());
        assertEquals(64, p.options().steps());
        assertEquals(0, p.options().maxTokens());
        assertEquals(4, p.promptTokens());
        assertEquals(68, p.layout().length());
        assertEquals(4, p.layout().genStart());
    }

    @Test
    void maxTokensRoundsUpToWholeBlocksAndCapsTheText() {
        Plan p = plan(40, DiffusionControls.NONE);
        assertEquals(64, p.options().genLength());
        assertEquals(40, p.options().maxTokens());
        assertEquals(64, p.options().steps(), "one token per step, as the package's defaults");
    }

    @Test
    void aShortMaxTokensIsOneBlock() {
        Plan p = plan(10, DiffusionControls.NONE);
        assertEquals(10, p.options().genLength());
        assertEquals(10, p.options().blockLength());
        assertEquals(10, p.options().steps());
    }

    @Test
    void diffusionControlsReachTheOptions() {
        Plan p = plan(64, new DiffusionControls(16, 16, Remasking.RANDOM, null, null, false));
        assertEquals(16, p.options().blockLength());
        assertEquals(16, p.options().steps());
        assertEquals(Remasking.RANDOM, p.options().remasking());
        Plan fast = plan(64, new DiffusionControls(4, 16, null, 0.9, null, false));
        assertEquals(new CommitRule.Threshold(0.9), fast.options().commitRule());
        assertEquals(4, fast.options().steps(), "a threshold still takes whole steps per block");
    }

    @Test
    void aSeedIsKeptAndGreedyDefaultsToSeedZero() {
        var p = new GenerationParams(16, 0.7, 0.9, List.of("\n"), 42L, false, false, DiffusionControls.NONE);
        DecodingOptions o = Plan.of(PROMPT, null, p, DEFAULTS, TRAITS, ServingLimits.defaults()).options();
        assertEquals(42L, o.seed());
        assertEquals(0.7, o.temperature());
        assertEquals(0.9, o.topP());
        assertEquals(List.of("\n"), o.stopSequences());
        assertEquals(0L, plan(16, DiffusionControls.NONE).options().seed());
    }

    @Test
    void stepsOutOfRangeSayWhichRangeFits() {
        ApiException few = assertThrows(ApiException.class, () -> plan(64, steps(1, 32)));
        assertEquals("steps", few.param());
        assertTrue(few.getMessage().contains("between 2 (one per block"), few.getMessage());
        ApiException many = assertThrows(ApiException.class, () -> plan(64, steps(65, 32)));
        assertTrue(many.getMessage().contains("and 64"), many.getMessage());
        ApiException odd = assertThrows(ApiException.class, () -> plan(64, steps(33, 32)));
        assertTrue(odd.getMessage().contains("multiple of the number of blocks 2"), odd.getMessage());
        assertTrue(odd.getMessage().contains("\"steps\": 32"), odd.getMessage());
    }

    @Test
    void serverLimitsCapMaxTokensAndSteps() {
        ServingLimits tight = new ServingLimits(32, 8, 0);
        ApiException e = assertThrows(ApiException.class,
                () -> Plan.of(PROMPT, null, params(64, DiffusionControls.NONE), DEFAULTS, TRAITS, tight));
        assertEquals("max_tokens", e.param());
        assertTrue(e.getMessage().contains("between 1 and 32"), e.getMessage());
        Plan p = Plan.of(PROMPT, null, params(32, DiffusionControls.NONE), DEFAULTS, TRAITS, tight);
        assertEquals(8, p.options().steps(), "the default pace is slowed to the server's step limit");
        assertThrows(ApiException.class, () -> Plan.of(PROMPT, null, params(32, steps(16, 32)), DEFAULTS, TRAITS, tight));
    }

    @Test
    void aPromptThatDoesNotFitIsContextLengthExceededWithTheRoomLeft() {
        long[] longPrompt = new long[500];
        ApiException e = assertThrows(ApiException.class, () -> Plan.of(longPrompt, null, params(64, DiffusionControls.NONE),
                DEFAULTS, TRAITS, ServingLimits.defaults()));
        assertEquals(400, e.httpStatus());
        assertEquals("context_length_exceeded", e.code());
        assertEquals("max_tokens", e.param());
        assertTrue(e.getMessage().contains("maximum context length is 512"), e.getMessage());
        assertTrue(e.getMessage().contains("\"max_tokens\": 12"), e.getMessage());
        ApiException tooLong = assertThrows(ApiException.class, () -> Plan.of(new long[600], null,
                params(8, DiffusionControls.NONE), DEFAULTS, TRAITS, ServingLimits.defaults()));
        assertTrue(tooLong.getMessage().contains("the prompt alone is 600 tokens"), tooLong.getMessage());
    }

    @Test
    void cfgNeedsAFullLogitsPackage() {
        ApiException e = assertThrows(ApiException.class, () -> plan(32, new DiffusionControls(null, null, null, null, 1.5, false)));
        assertEquals("cfg_scale", e.param());
        assertTrue(e.getMessage().contains("\"cfg_scale\": 0"), e.getMessage());
    }

    @Test
    void anInfillHasTheSuffixAfterTheMiddle() {
        long[] suffix = {200, 201};
        Plan p = Plan.of(PROMPT, suffix, params(8, DiffusionControls.NONE), DEFAULTS, TRAITS, ServingLimits.defaults());
        assertEquals(6, p.promptTokens());
        assertEquals(4, p.layout().genStart());
        assertEquals(8, p.layout().genLength());
        assertEquals(14, p.layout().length());
        assertEquals(200, p.layout().tokens()[12]);
    }
}
