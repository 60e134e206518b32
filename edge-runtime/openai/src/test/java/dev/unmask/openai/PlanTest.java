package dev.unmask.openai;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.engine.decode.Block;
import dev.unmask.engine.decode.CommitRule;
import dev.unmask.engine.decode.ConfidenceMeasure;
import dev.unmask.engine.decode.ModelTraits;
import dev.unmask.engine.decode.Remasking;
import dev.unmask.engine.decode.StepSchedule;
import dev.unmask.engine.request.DecodingPlan;
import dev.unmask.engine.request.DecodingPlanner;
import dev.unmask.engine.request.DreamAlg;
import dev.unmask.engine.request.GenerationDefaults;
import dev.unmask.engine.request.GenerationRequest;
import dev.unmask.engine.request.InvalidRequestException;
import dev.unmask.engine.request.PromptTokens;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * How the API's fields reach the engine's planner and how its violations come back as 400s in the API's words
 * (LLaDA's defaults: 64 tokens, blocks of 32, 64 steps). The policy itself is the engine's {@code DecodingPlannerTest}.
 */
class PlanTest {

    static final ModelTraits TRAITS = new ModelTraits(3, 1, 2, 1, false, 8, false, 512);
    static final long[] PROMPT = {0, 100, 101, 102};
    static final GenerationRequest.Prompt TEXT =
            new GenerationRequest.Prompt.Continuation("ignored: the tokens are given");

    static GenerationParams params(Integer maxTokens, DiffusionControls d) {
        return new GenerationParams(maxTokens, null, null, List.of(), null, false, false, d);
    }

    static DecodingPlan plan(GenerationParams p, long[] prompt, ServingLimits limits) {
        try {
            return new DecodingPlanner(GenerationDefaults.LLADA, TRAITS, limits.planning())
                    .plan(p.request(TEXT), new PromptTokens.Continuation(prompt));
        } catch (InvalidRequestException e) {
            throw ApiFields.COMPLETION.toApi(e);
        }
    }

    static DecodingPlan plan(Integer maxTokens, DiffusionControls d) {
        return plan(params(maxTokens, d), PROMPT, ServingLimits.defaults());
    }

    static DiffusionControls steps(int steps, int blockLength) {
        return new DiffusionControls(steps, blockLength, null, null, null, false);
    }

    @Test
    void withoutFieldsThePackageDefaultsApply() {
        DecodingPlan p = plan(null, DiffusionControls.NONE);
        assertEquals(64, p.length());
        assertEquals(32, p.blockLength());
        assertEquals(64, p.steps());
        assertEquals(0, p.options().maxTokens());
        assertEquals(4, p.promptTokens());
    }

    @Test
    void maxTokensIsTheLengthToGenerateAsTheCommandLinesGenLength() {
        DecodingPlan p = plan(40, DiffusionControls.NONE);
        assertEquals(List.of(new Block(4, 36, 32), new Block(36, 44, 8)), p.blocks());
        assertEquals(40, p.steps(), "one token per step, as the package's defaults");
    }

    @Test
    void diffusionControlsReachTheOptions() {
        DecodingPlan p = plan(64, new DiffusionControls(16, 16, Remasking.RANDOM, null, null, false));
        assertEquals(16, p.blockLength());
        assertEquals(16, p.steps());
        assertEquals(Remasking.RANDOM, p.options().remasking());
        DecodingPlan fast = plan(64, new DiffusionControls(4, 16, null, 0.9, null, false));
        assertEquals(new CommitRule.Threshold(0.9), fast.options().commitRule());
        assertEquals(4, fast.steps(), "a threshold still takes whole steps per block");
    }

    @Test
    void aSeedIsKept() {
        var p = new GenerationParams(16, 0.7, 0.9, List.of("\n"), 42L, false, false, DiffusionControls.NONE);
        DecodingPlan plan = plan(p, PROMPT, ServingLimits.defaults());
        assertEquals(42L, plan.options().seed());
        assertEquals(0.7, plan.options().temperature());
        assertEquals(0.9, plan.options().topP());
        assertEquals(List.of("\n"), plan.options().stopSequences());
    }

    @Test
    void stepsOutOfRangeSayWhichRangeFitsInTheApisWords() {
        ApiException few = assertThrows(ApiException.class, () -> plan(64, steps(1, 32)));
        assertEquals("steps", few.param());
        assertEquals("invalid_value", few.code());
        assertEquals(
                "'steps' must be between 2 (one per block: 2 blocks of 32) and 64 (one token per step), "
                        + "e.g. \"steps\": 64; got 1",
                few.getMessage());
        ApiException odd = assertThrows(ApiException.class, () -> plan(64, steps(33, 32)));
        assertTrue(odd.getMessage().contains("a multiple of the number of blocks, 2"), odd.getMessage());
        assertTrue(odd.getMessage().contains("\"steps\": 32"), odd.getMessage());
        ApiException threshold = assertThrows(
                ApiException.class, () -> plan(64, new DiffusionControls(null, null, null, 1.5, null, false)));
        assertEquals("confidence_threshold", threshold.param());
        assertTrue(
                threshold.getMessage().startsWith("'confidence_threshold' must be in (0, 1]"), threshold.getMessage());
    }

    @Test
    void serverLimitsCapMaxTokensAndSteps() {
        ServingLimits tight = new ServingLimits(32, 8, 0);
        ApiException e =
                assertThrows(ApiException.class, () -> plan(params(64, DiffusionControls.NONE), PROMPT, tight));
        assertEquals("max_tokens", e.param());
        assertTrue(e.getMessage().contains("between 1 and 32"), e.getMessage());
        DecodingPlan p = plan(params(32, DiffusionControls.NONE), PROMPT, tight);
        assertEquals(8, p.steps(), "the default pace is slowed to the server's step limit");
        assertThrows(ApiException.class, () -> plan(params(32, steps(16, 32)), PROMPT, tight));
    }

    @Test
    void aPromptThatDoesNotFitIsContextLengthExceededWithTheRoomLeft() {
        ApiException e = assertThrows(
                ApiException.class,
                () -> plan(params(64, DiffusionControls.NONE), new long[500], ServingLimits.defaults()));
        assertEquals(400, e.httpStatus());
        assertEquals("context_length_exceeded", e.code());
        assertEquals("max_tokens", e.param());
        assertTrue(e.getMessage().contains("maximum context length is 512"), e.getMessage());
        assertTrue(e.getMessage().contains("\"max_tokens\": 12"), e.getMessage());
        ApiException tooLong = assertThrows(
                ApiException.class,
                () -> plan(params(8, DiffusionControls.NONE), new long[600], ServingLimits.defaults()));
        assertEquals("prompt", tooLong.param());
        assertEquals("context_length_exceeded", tooLong.code());
        assertTrue(tooLong.getMessage().contains("'prompt' must be at most 511 tokens"), tooLong.getMessage());
        assertTrue(tooLong.getMessage().endsWith("got 600 tokens"), tooLong.getMessage());
    }

    @Test
    void cfgNeedsAFullLogitsPackage() {
        ApiException e = assertThrows(
                ApiException.class, () -> plan(32, new DiffusionControls(null, null, null, null, 1.5, false)));
        assertEquals("cfg_scale", e.param());
        assertTrue(e.getMessage().contains("\"cfg_scale\": 0"), e.getMessage());
    }

    @Test
    void aStreamOwesTheRestOfTheFinalText() {
        assertEquals(" world", dev.unmask.engine.decode.TextStream.tail("hello world", "hello"));
        assertEquals("", dev.unmask.engine.decode.TextStream.tail("hello", "hello"));
        assertEquals(
                "lo!",
                dev.unmask.engine.decode.TextStream.tail("hello!", "helx"),
                "never nothing: the tail after the common prefix");
    }

    @Test
    void dreamsFieldsAreReadAndReachTheOptionsOnEveryPackage() throws Exception {
        GenerationParams p = GenerationParams.read(
                Json.mapper().readTree("{\"prompt\": \"x\", \"alg\": \"entropy\", \"alg_temp\": 0.5, \"eps\": 0.01}"),
                false);
        assertEquals(DreamAlg.ENTROPY, p.diffusion().alg());
        DecodingPlan plan = plan(p, PROMPT, ServingLimits.defaults());
        assertEquals(ConfidenceMeasure.NEGATIVE_ENTROPY, plan.options().confidence());
        assertEquals(new StepSchedule.Timesteps(0.01), plan.options().schedule());
        assertEquals(0.5, plan.options().algTemp());
        assertEquals(1, plan.blocks().size(), "Dream's timesteps: one block over the region");
    }

    @Test
    void dreamsFieldsAreRefusedInTheApisWords() throws Exception {
        ApiException unknown = assertThrows(
                ApiException.class,
                () -> GenerationParams.read(Json.mapper().readTree("{\"prompt\": \"x\", \"alg\": \"greedy\"}"), false));
        assertEquals("alg", unknown.param());
        assertTrue(unknown.getMessage().contains("\"maskgit_plus\""), unknown.getMessage());
        GenerationParams badEps =
                GenerationParams.read(Json.mapper().readTree("{\"prompt\": \"x\", \"eps\": 0.01}"), false);
        ApiException e = assertThrows(ApiException.class, () -> plan(badEps, PROMPT, ServingLimits.defaults()));
        assertEquals("eps", e.param());
        assertTrue(
                e.getMessage().startsWith("'eps' must be left out with this package's even (LLaDA) schedule"),
                e.getMessage());
    }
}
