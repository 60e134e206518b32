package dev.unmask.engine.request;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.engine.decode.Block;
import dev.unmask.engine.decode.CommitRule;
import dev.unmask.engine.decode.ModelTraits;
import dev.unmask.engine.decode.Remasking;
import dev.unmask.engine.text.CharsPerToken;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * The one length -> blocks -> steps policy, and every check of a request, as data. The package's defaults are
 * LLaDA's: 64 tokens in blocks of 32 in 64 steps (one token per step); the model takes 512 positions and has a
 * top-8 head without full logits.
 */
class DecodingPlannerTest {

    static final ModelTraits TRAITS = new ModelTraits(3, 1, 2, 1, false, 8, false, 512);
    static final long[] PROMPT = {0, 100, 101, 102};
    static final DecodingPlanner PLANNER = new DecodingPlanner(GenerationDefaults.LLADA, TRAITS, Limits.NONE);

    static GenerationRequest.Builder request() {
        return GenerationRequest.builder(new GenerationRequest.Prompt.Continuation("ignored: the tokens are given"));
    }

    static DecodingPlan plan(UnaryOperator<GenerationRequest.Builder> fields) {
        return PLANNER.plan(fields.apply(request()).build(), new PromptTokens.Continuation(PROMPT));
    }

    static List<Integer> stepsPerBlock(DecodingPlan p) {
        return p.blocks().stream().map(Block::steps).toList();
    }

    static List<Integer> blockLengths(DecodingPlan p) {
        return p.blocks().stream().map(Block::length).toList();
    }

    static Violation refused(UnaryOperator<GenerationRequest.Builder> fields) {
        InvalidRequestException e = assertThrows(InvalidRequestException.class, () -> plan(fields));
        assertEquals(1, e.violations().size(), e.getMessage());
        return e.violations().get(0);
    }

    @Test
    void without_fields_the_packages_defaults_apply() {
        DecodingPlan p = plan(b -> b);
        assertEquals(64, p.length());
        assertEquals(List.of(32, 32), blockLengths(p));
        assertEquals(List.of(32, 32), stepsPerBlock(p));
        assertEquals(4, p.layout().genStart());
        assertEquals(68, p.layout().length());
        assertEquals(4, p.promptTokens());
        assertEquals(0L, p.options().seed());
        assertEquals(true, p.options().earlyExit());
        assertEquals(0, p.options().maxTokens());
    }

    @Test
    void the_region_is_exactly_the_length_asked_for_with_a_shorter_last_block() {
        DecodingPlan p = plan(b -> b.length(40));
        assertEquals(40, p.length());
        assertEquals(44, p.layout().length(), "no canvas beyond the 40 tokens");
        assertEquals(List.of(new Block(4, 36, 32), new Block(36, 44, 8)), p.blocks());
        assertEquals(40, p.steps(), "the package's pace: one token per step");
    }

    @Test
    void a_length_shorter_than_a_block_is_one_block() {
        DecodingPlan p = plan(b -> b.length(10));
        assertEquals(List.of(new Block(4, 14, 10)), p.blocks());
    }

    @Test
    void given_steps_are_spread_evenly_over_the_blocks_capped_by_each_blocks_length() {
        assertEquals(List.of(2, 2), stepsPerBlock(plan(b -> b.length(40).steps(4))));
        assertEquals(List.of(32, 8), stepsPerBlock(plan(b -> b.length(40).steps(64))), "the short block has 8 tokens");
        assertEquals(
                List.of(4, 4, 4, 4),
                stepsPerBlock(plan(b -> b.length(64).blockLength(16).steps(16))));
    }

    @Test
    void by_default_each_block_gets_the_packages_pace() {
        GenerationDefaults halfPace = new GenerationDefaults(64, 32, 32, 0, Remasking.LOW_CONFIDENCE, 0);
        DecodingPlan p = new DecodingPlanner(halfPace, TRAITS, Limits.NONE)
                .plan(request().length(40).build(), new PromptTokens.Continuation(PROMPT));
        assertEquals(List.of(16, 4), stepsPerBlock(p), "two tokens per step");
        DecodingPlan one = new DecodingPlanner(
                        new GenerationDefaults(64, 32, 2, 0, Remasking.LOW_CONFIDENCE, 0), TRAITS, Limits.NONE)
                .plan(request().length(40).build(), new PromptTokens.Continuation(PROMPT));
        assertEquals(List.of(1, 1), stepsPerBlock(one), "at least one step per block");
    }

    @Test
    void a_surfaces_step_limit_slows_the_default_pace_and_caps_given_steps() {
        DecodingPlanner tight = new DecodingPlanner(GenerationDefaults.LLADA, TRAITS, new Limits(32, 8, 0));
        DecodingPlan p = tight.plan(request().length(32).build(), new PromptTokens.Continuation(PROMPT));
        assertEquals(List.of(8), stepsPerBlock(p));
        InvalidRequestException e = assertThrows(
                InvalidRequestException.class,
                () -> tight.plan(request().length(32).steps(16).build(), new PromptTokens.Continuation(PROMPT)));
        assertEquals(
                new Violation(
                        RequestField.STEPS,
                        "16",
                        "between 1 (one per block: 1 block of 32) and 8 (this server's limit)",
                        "8",
                        Violation.Kind.OUT_OF_RANGE),
                e.violations().get(0));
        Violation length = assertThrows(
                        InvalidRequestException.class,
                        () -> tight.plan(request().length(64).build(), new PromptTokens.Continuation(PROMPT)))
                .violations()
                .get(0);
        assertEquals(RequestField.LENGTH, length.field());
        assertEquals("between 1 and 32", length.allowed());
        DecodingPlanner twoSteps = new DecodingPlanner(GenerationDefaults.LLADA, TRAITS, new Limits(512, 2, 0));
        for (Integer steps : new Integer[] {null, 4}) {
            Violation blocks = assertThrows(
                            InvalidRequestException.class,
                            () -> twoSteps.plan(
                                    request()
                                            .length(64)
                                            .blockLength(16)
                                            .steps(steps)
                                            .build(),
                                    new PromptTokens.Continuation(PROMPT)))
                    .violations()
                    .get(0);
            assertEquals(
                    new Violation(
                            RequestField.BLOCK_LENGTH,
                            "16",
                            "at least 32: this server takes at most 2 steps and " + "each block needs one",
                            "32",
                            Violation.Kind.OUT_OF_RANGE),
                    blocks,
                    "steps " + steps);
        }
    }

    @Test
    void steps_out_of_range_or_not_a_multiple_of_the_blocks_say_what_fits() {
        assertEquals(
                new Violation(
                        RequestField.STEPS,
                        "1",
                        "between 2 (one per block: 2 blocks of 32) and 64 (one token per step)",
                        "64",
                        Violation.Kind.OUT_OF_RANGE),
                refused(b -> b.steps(1)));
        assertEquals("65", refused(b -> b.steps(65)).value());
        assertEquals(
                new Violation(
                        RequestField.STEPS,
                        "33",
                        "a multiple of the number of blocks, 2 (2 blocks of 32)",
                        "32",
                        Violation.Kind.OUT_OF_RANGE),
                refused(b -> b.steps(33)));
        assertEquals(
                "a multiple of the number of blocks, 2 (2 blocks of 32 (the last one 8))",
                refused(b -> b.length(40).steps(5)).allowed());
    }

    @Test
    void every_field_out_of_range_is_a_violation_with_a_value_that_fits() {
        assertEquals(
                new Violation(RequestField.LENGTH, "0", "between 1 and 65536", "64", Violation.Kind.OUT_OF_RANGE),
                refused(b -> b.length(0)));
        assertEquals(
                new Violation(RequestField.BLOCK_LENGTH, "0", "between 1 and 65536", "32", Violation.Kind.OUT_OF_RANGE),
                refused(b -> b.blockLength(0)));
        assertEquals(
                new Violation(
                        RequestField.TEMPERATURE,
                        "-1.0",
                        "between 0 (greedy) and 100",
                        "0.7",
                        Violation.Kind.OUT_OF_RANGE),
                refused(b -> b.temperature(-1.0)));
        assertEquals("NaN", refused(b -> b.temperature(Double.NaN)).value());
        assertEquals(
                new Violation(RequestField.TOP_K, "-1", "0 (off) or positive", "8", Violation.Kind.OUT_OF_RANGE),
                refused(b -> b.topK(-1)));
        assertEquals(
                new Violation(RequestField.TOP_P, "0.0", "in (0, 1], 1 = off", "0.95", Violation.Kind.OUT_OF_RANGE),
                refused(b -> b.topP(0.0)));
        assertEquals(RequestField.TOP_P, refused(b -> b.topP(1.5)).field());
        assertEquals(
                new Violation(
                        RequestField.CFG_SCALE, "-0.5", "between 0 (off) and 100", "1.5", Violation.Kind.OUT_OF_RANGE),
                refused(b -> b.cfgScale(-0.5)));
        assertEquals(
                new Violation(RequestField.THRESHOLD, "0.0", "in (0, 1]", "0.9", Violation.Kind.OUT_OF_RANGE),
                refused(b -> b.threshold(0.0)));
        assertEquals(
                new Violation(RequestField.FACTOR, "0.0", "positive and below 100", "1.0", Violation.Kind.OUT_OF_RANGE),
                refused(b -> b.factor(0.0)));
        Violation both = refused(b -> b.threshold(0.9).factor(1.0));
        assertEquals(RequestField.FACTOR, both.field());
        assertNull(both.example());
        assertEquals(
                new Violation(
                        RequestField.MAX_TOKENS,
                        "65",
                        "between 0 (off) and the length to generate, 64",
                        "64",
                        Violation.Kind.OUT_OF_RANGE),
                refused(b -> b.maxTokens(65)));
        assertEquals(RequestField.STOP, refused(b -> b.stop(List.of(""))).field());
    }

    @Test
    void what_the_package_cannot_do_is_refused_with_how_to_get_it() {
        Violation cfg = refused(b -> b.cfgScale(1.0));
        assertEquals(Violation.Kind.UNSUPPORTED_BY_PACKAGE, cfg.kind());
        assertEquals("0", cfg.example());
        assertEquals(true, cfg.allowed().contains("--full-logits"), cfg.allowed());
        Violation topK = refused(b -> b.topK(20));
        assertEquals(Violation.Kind.UNSUPPORTED_BY_PACKAGE, topK.kind());
        assertEquals("8", topK.example());
        ModelTraits full = new ModelTraits(3, 1, 2, 1, false, 8, true, 512);
        DecodingPlan guided = new DecodingPlanner(GenerationDefaults.LLADA, full, Limits.NONE)
                .plan(request().cfgScale(1.5).topK(20).build(), new PromptTokens.Continuation(PROMPT));
        assertEquals(1.5, guided.options().cfgScale());
    }

    @Test
    void a_prompt_and_region_longer_than_the_context_say_how_much_room_is_left() {
        Violation room = assertThrows(
                        InvalidRequestException.class,
                        () -> PLANNER.plan(request().build(), new PromptTokens.Continuation(new long[500])))
                .violations()
                .get(0);
        assertEquals(
                new Violation(
                        RequestField.LENGTH,
                        "64",
                        "at most 12 here (this model's maximum context length is 512 "
                                + "tokens and the prompt is 500 tokens), or the prompt shorter",
                        "12",
                        Violation.Kind.CONTEXT_LENGTH),
                room);
        Violation alone = assertThrows(
                        InvalidRequestException.class,
                        () -> PLANNER.plan(
                                request().length(8).build(), new PromptTokens.Infill(new long[590], new long[10])))
                .violations()
                .get(0);
        assertEquals(RequestField.PROMPT, alone.field());
        assertEquals("600 tokens", alone.value());
        assertEquals(Violation.Kind.CONTEXT_LENGTH, alone.kind());
        DecodingPlanner server = new DecodingPlanner(GenerationDefaults.LLADA, TRAITS, new Limits(512, 512, 100));
        assertEquals(
                "at most 36 here (this model's maximum context length is 100 tokens and the prompt is 64 tokens), "
                        + "or the prompt shorter",
                assertThrows(
                                InvalidRequestException.class,
                                () -> server.plan(request().build(), new PromptTokens.Continuation(new long[64])))
                        .violations()
                        .get(0)
                        .allowed());
    }

    @Test
    void a_prompt_far_larger_than_any_canvas_is_refused_before_tokenizing_even_when_the_tokenizer_may_drop_input() {
        GenerationRequest.Prompt fits = new GenerationRequest.Prompt.Continuation("x".repeat(511 * 256));
        GenerationRequest.Prompt tooLong = new GenerationRequest.Prompt.Continuation("x".repeat(511 * 256 + 1));
        PLANNER.checkSize(fits, CharsPerToken.unproven());
        InvalidRequestException e =
                assertThrows(InvalidRequestException.class, () -> PLANNER.checkSize(tooLong, CharsPerToken.unproven()));
        Violation v = e.violations().get(0);
        assertEquals(Violation.Kind.CONTEXT_LENGTH, v.kind());
        assertEquals("130817 characters", v.value());
        assertTrue(v.allowed().contains("may drop characters"), v.allowed());
        assertEquals(
                512L * 256, PLANNER.maxPromptChars(CharsPerToken.unproven()), "the bound a server sizes bodies by");
        assertEquals(512, PLANNER.contextTokens());
    }

    @Test
    void every_problem_is_reported_at_once_and_each_surface_phrases_it_in_its_own_words() {
        InvalidRequestException e = assertThrows(
                InvalidRequestException.class,
                () -> plan(b -> b.temperature(-1.0).topP(2.0).steps(33)));
        assertEquals(
                List.of(RequestField.TEMPERATURE, RequestField.TOP_P, RequestField.STEPS),
                e.violations().stream().map(Violation::field).toList());
        Phrasing flags = new Phrasing() {
            @Override
            public String name(RequestField field) {
                return "--" + field.id().replace('_', '-');
            }

            @Override
            public String example(RequestField field, String value) {
                return name(field) + " " + value;
            }
        };
        assertEquals(
                "--steps must be a multiple of the number of blocks, 2 (2 blocks of 32), e.g. --steps 32; got 33",
                e.violations().get(2).message(flags));
        assertEquals(
                "steps must be a multiple of the number of blocks, 2 (2 blocks of 32), e.g. steps 32; got 33",
                e.violations().get(2).message(Phrasing.ENGINE));
        InvalidRequestException phrased = e.phrased(flags);
        assertEquals(e.violations(), phrased.violations());
        assertEquals(
                true,
                phrased.getMessage()
                        .startsWith("--temperature must be between 0 (greedy) and 100, "
                                + "e.g. --temperature 0.7; got -1.0. --top-p"),
                phrased.getMessage());
    }

    @Test
    void sampler_fields_reach_the_options_and_absent_ones_take_the_defaults() {
        DecodingPlan p = plan(b -> b.temperature(0.7)
                .topP(0.9)
                .topK(4)
                .seed(42L)
                .stop(List.of("\n"))
                .maxTokens(16)
                .remasking(Remasking.RANDOM)
                .earlyExit(false)
                .threshold(0.9));
        assertEquals(0.7, p.options().temperature());
        assertEquals(0.9, p.options().topP());
        assertEquals(4, p.options().topK());
        assertEquals(42L, p.options().seed());
        assertEquals(List.of("\n"), p.options().stopSequences());
        assertEquals(16, p.options().maxTokens());
        assertEquals(Remasking.RANDOM, p.options().remasking());
        assertEquals(false, p.options().earlyExit());
        assertEquals(new CommitRule.Threshold(0.9), p.options().commitRule());
        assertEquals(
                new CommitRule.Factor(1.0), plan(b -> b.factor(1.0)).options().commitRule());
    }

    @Test
    void an_infill_has_the_suffix_after_the_middle_and_placeholders_decide_their_region() {
        DecodingPlan infill =
                PLANNER.plan(request().length(8).build(), new PromptTokens.Infill(PROMPT, new long[] {200, 201}));
        assertEquals(6, infill.promptTokens());
        assertEquals(4, infill.layout().genStart());
        assertEquals(14, infill.layout().length());
        assertEquals(200, infill.layout().tokens()[12]);
        long[] text = {0, 10, 3, 42, 3, 3, 43};
        DecodingPlan filled = PLANNER.plan(request().length(99).build(), new PromptTokens.Placeholders(text));
        assertEquals(
                List.of(new Block(2, 6, 4)), filled.blocks(), "the region runs from the first placeholder to the last");
        assertArrayEquals(text, filled.layout().tokens());
        assertEquals(4, filled.promptTokens(), "every token but the placeholders was given");
    }
}
