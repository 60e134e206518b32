package dev.unmask.engine.decode;

import static dev.unmask.engine.testing.ScriptedModel.EOS;
import static dev.unmask.engine.testing.ScriptedModel.MASK;
import static dev.unmask.engine.testing.ScriptedModel.prefer;
import static dev.unmask.engine.testing.ScriptedModel.sharp;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.engine.request.DecodingPlan;
import dev.unmask.engine.request.DecodingPlanner;
import dev.unmask.engine.request.GenerationDefaults;
import dev.unmask.engine.request.GenerationRequest;
import dev.unmask.engine.request.Limits;
import dev.unmask.engine.request.PromptTokens;
import dev.unmask.engine.testing.ScriptedModel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class DenoisingRunTest {

    static final long[] PROMPT = {0, 10, 11};
    static final int VOCAB = 64;

    /** Token 20 + position everywhere, more confident further right: the order of commits is predictable. */
    static final ScriptedModel.Logits RISING = (canvas, p) -> prefer(VOCAB, 20 + p, 1 + 0.5f * p);

    /** A request for {@code length} tokens in blocks of {@code blockLength} and {@code steps} steps, no early exit. */
    static GenerationRequest.Builder options(int length, int blockLength, int steps) {
        return GenerationRequest.builder(new GenerationRequest.Prompt.Continuation(""))
                .length(length)
                .blockLength(blockLength)
                .steps(steps)
                .earlyExit(false);
    }

    static final Function<long[], String> LETTERS = ids -> Arrays.stream(ids)
            .mapToObj(id -> String.valueOf((char) ('a' + id % 26)))
            .collect(Collectors.joining());

    static DecodingPlan plan(ScriptedModel model, PromptTokens prompt, GenerationRequest request) {
        return new DecodingPlanner(GenerationDefaults.LLADA, ModelTraits.of(model.manifest()), Limits.NONE)
                .plan(request, prompt);
    }

    static DenoisingRun start(ScriptedModel model, DecodingPlan plan, DenoisingListener listener) {
        ModelTraits traits = ModelTraits.of(model.manifest());
        return DenoisingRun.start(
                plan.layout(),
                plan.blocks(),
                plan.options(),
                traits,
                listener,
                new AnswerText(plan.layout(), plan.options(), traits, LETTERS, text -> new long[0]));
    }

    static Recorder run(ScriptedModel model, long[] prompt, GenerationRequest request) {
        Recorder recorder = new Recorder();
        DenoisingRun run = start(model, plan(model, new PromptTokens.Continuation(prompt), request), recorder);
        recorder.result = run.runToEnd(model);
        return recorder;
    }

    static final class Recorder implements DenoisingListener {
        final List<StepEvent> steps = new ArrayList<>();
        final List<BlockEvent> blocks = new ArrayList<>();
        Denoised result;

        @Override
        public void onStep(StepEvent event) {
            steps.add(event);
        }

        @Override
        public void onBlock(BlockEvent event) {
            blocks.add(event);
        }

        List<List<Integer>> positionsPerStep() {
            return steps.stream()
                    .map(s -> s.committed().stream().map(Commit::position).collect(Collectors.toList()))
                    .collect(Collectors.toList());
        }
    }

    @Test
    void llada_schedule_spreads_steps_over_blocks_and_commits_the_most_confident_first_block_by_block() {
        Recorder r = run(ScriptedModel.of(RISING), PROMPT, options(8, 4, 4).build());
        // 2 blocks of 4, 2 steps per block, 2 tokens per step; within a block the rightmost (most confident) first
        assertEquals(List.of(List.of(5, 6), List.of(3, 4), List.of(9, 10), List.of(7, 8)), r.positionsPerStep());
        assertArrayEquals(new long[] {23, 24, 25, 26, 27, 28, 29, 30}, r.result.region());
        assertEquals(FinishReason.LENGTH, r.result.reason());
        assertEquals(4, r.result.steps());
        assertEquals(2, r.blocks.size());
        assertEquals(3, r.blocks.get(0).start());
        assertEquals(7, r.blocks.get(0).end());
    }

    @Test
    void a_length_the_block_length_does_not_divide_ends_in_a_shorter_block() {
        Recorder paced = run(
                ScriptedModel.of(RISING), PROMPT, options(10, 4, 4).steps(null).build());
        assertEquals(3, paced.blocks.size(), "blocks of 4, 4 and 2");
        assertEquals(
                List.of(3, 7, 11),
                paced.blocks.stream().map(DenoisingListener.BlockEvent::start).toList());
        assertEquals(
                List.of(7, 11, 13),
                paced.blocks.stream().map(DenoisingListener.BlockEvent::end).toList());
        assertEquals(10, paced.result.steps(), "the package's pace, one token per step, in every block");
        assertArrayEquals(new long[] {23, 24, 25, 26, 27, 28, 29, 30, 31, 32}, paced.result.region());

        Recorder given = run(ScriptedModel.of(RISING), PROMPT, options(10, 4, 6).build());
        assertEquals(6, given.result.steps(), "6 steps / 3 blocks: 2 per block, the short one included");
        assertEquals(
                List.of(2, 2, 2, 2, 1, 1),
                given.steps.stream().map(e -> e.committed().size()).toList());
    }

    @Test
    void uneven_schedules_give_the_first_steps_one_more_token_as_get_num_transfer_tokens_does() {
        Recorder r = run(ScriptedModel.of(RISING), PROMPT, options(5, 5, 2).build());
        assertEquals(
                List.of(3, 2), r.steps.stream().map(s -> s.committed().size()).collect(Collectors.toList()));
    }

    @Test
    void the_listener_sees_every_step_with_a_copy_of_the_canvas() {
        Recorder r = run(ScriptedModel.of(RISING), PROMPT, options(4, 4, 4).build());
        assertEquals(4, r.steps.size());
        long[] first = r.steps.get(0).canvas();
        assertEquals(3, Arrays.stream(first).filter(t -> t == MASK).count());
        assertEquals(
                0, Arrays.stream(r.steps.get(3).canvas()).filter(t -> t == MASK).count());
        assertEquals(
                List.of(0, 1, 2, 3),
                r.steps.stream().map(DenoisingListener.StepEvent::step).collect(Collectors.toList()));
    }

    @Test
    void the_head_is_asked_only_for_the_current_blocks_masked_positions() {
        ScriptedModel model = ScriptedModel.of(RISING);
        run(model, PROMPT, options(8, 4, 8).build());
        assertArrayEquals(new long[] {3, 4, 5, 6}, model.headPositions.get(0)[0]);
        assertArrayEquals(new long[] {3, 4, 5}, model.headPositions.get(1)[0]);
        assertArrayEquals(new long[] {7, 8, 9, 10}, model.headPositions.get(4)[0]);
    }

    @Test
    void under_logits_shift_the_engine_asks_for_the_masked_positions_themselves_and_the_graph_reads_one_to_the_left() {
        ScriptedModel model = new ScriptedModel(VOCAB, 8, false, true, 512, RISING);
        Recorder r = run(model, PROMPT, options(4, 4, 4).build());
        assertArrayEquals(new long[] {3, 4, 5, 6}, model.headPositions.get(0)[0], "no shift in the engine");
        assertArrayEquals(new long[] {22, 23, 24, 25}, r.result.region(), "position p gets the logits of p - 1");
    }

    @Test
    void under_logits_shift_a_canvas_may_start_with_the_region_and_position_0_reads_itself() {
        ScriptedModel model = new ScriptedModel(VOCAB, 8, false, true, 512, RISING);
        Recorder r = run(model, new long[0], options(4, 4, 4).build());
        assertArrayEquals(new long[] {0, 1, 2, 3}, model.headPositions.get(0)[0]);
        assertArrayEquals(new long[] {20, 20, 21, 22}, r.result.region(), "max(p - 1, 0), as the graph's head");
    }

    @Test
    void threshold_decoding_commits_every_confident_token_at_once_and_at_least_one_otherwise() {
        ScriptedModel sure = ScriptedModel.of((c, p) -> sharp(VOCAB, 20 + p));
        Recorder fast = run(sure, PROMPT, options(8, 4, 8).threshold(0.9).build());
        assertEquals(2, fast.result.steps(), "one step per block when every token is above the threshold");
        ScriptedModel unsure = ScriptedModel.of(RISING);
        Recorder slow = run(unsure, PROMPT, options(8, 4, 8).threshold(0.99).build());
        assertEquals(8, slow.result.steps(), "one token per step when none is");
        assertArrayEquals(fast.result.region(), slow.result.region());
    }

    @Test
    void commit_rules_count_as_fast_dllm_defines_them() {
        double[] ranked = {0.99, 0.95, 0.91, 0.5};
        assertEquals(3, new CommitRule.Threshold(0.9).count(ranked, 1));
        assertEquals(1, new CommitRule.Threshold(0.999).count(ranked, 1));
        // factor 1: thresholds 1-1/3=0.667 for the 2nd, 1-1/4=0.75 for the 3rd, 1-1/5=0.8 for the 4th
        assertEquals(3, new CommitRule.Factor(1).count(ranked, 1));
        assertEquals(1, new CommitRule.Factor(0.1).count(ranked, 1));
        assertEquals(2, new CommitRule.Schedule().count(ranked, 2));
        assertThrows(IllegalArgumentException.class, () -> new CommitRule.Threshold(1.5));
        assertThrows(IllegalArgumentException.class, () -> new CommitRule.Factor(0));
    }

    @Test
    void factor_decoding_takes_fewer_steps_than_the_schedule_on_a_confident_model() {
        ScriptedModel sure = ScriptedModel.of((c, p) -> sharp(VOCAB, 20 + p));
        Recorder r = run(sure, PROMPT, options(8, 8, 8).factor(1.0).build());
        assertEquals(1, r.result.steps());
    }

    @Test
    void random_remasking_is_deterministic_by_seed_and_differs_across_seeds() {
        GenerationRequest o =
                options(16, 16, 16).remasking(Remasking.RANDOM).seed(7L).build();
        List<List<Integer>> a = run(ScriptedModel.of(RISING), PROMPT, o).positionsPerStep();
        List<List<Integer>> b = run(ScriptedModel.of(RISING), PROMPT, o).positionsPerStep();
        List<List<Integer>> c = run(
                        ScriptedModel.of(RISING), PROMPT, o.toBuilder().seed(8L).build())
                .positionsPerStep();
        assertEquals(a, b);
        assertNotEquals(a, c);
        assertNotEquals(
                run(ScriptedModel.of(RISING), PROMPT, options(16, 16, 16).build())
                        .positionsPerStep(),
                a,
                "random order is not the confidence order");
    }

    /** Flat over tokens 20..27: sampling can pick any of them. */
    static final ScriptedModel.Logits FLAT = (canvas, p) -> {
        float[] l = new float[VOCAB];
        Arrays.fill(l, -10);
        for (int t = 20; t < 28; t++) {
            l[t] = 2 - 0.01f * t;
        }
        return l;
    };

    @Test
    void temperature_sampling_is_deterministic_by_seed_and_greedy_at_zero() {
        GenerationRequest hot = options(16, 16, 16).temperature(1.0).seed(42L).build();
        long[] a = run(ScriptedModel.of(FLAT), PROMPT, hot).result.region();
        long[] b = run(ScriptedModel.of(FLAT), PROMPT, hot).result.region();
        long[] c = run(ScriptedModel.of(FLAT), PROMPT, hot.toBuilder().seed(43L).build())
                .result
                .region();
        assertArrayEquals(a, b);
        assertFalse(Arrays.equals(a, c));
        assertTrue(
                Arrays.stream(a).distinct().count() > 2,
                "a flat distribution gives varied tokens: " + Arrays.toString(a));
        assertTrue(Arrays.stream(a).allMatch(t -> t >= 20 && t < 28), "only tokens of the head's top-8");
        long[] greedy = run(ScriptedModel.of(FLAT), PROMPT, options(16, 16, 16).build())
                .result
                .region();
        assertTrue(Arrays.stream(greedy).allMatch(t -> t == 20));
    }

    @Test
    void top_k_1_and_a_tiny_top_p_make_sampling_greedy() {
        GenerationRequest hot = options(16, 16, 16).temperature(1.0).seed(42L).build();
        assertTrue(Arrays.stream(run(
                                ScriptedModel.of(FLAT),
                                PROMPT,
                                hot.toBuilder().topK(1).build())
                        .result
                        .region())
                .allMatch(t -> t == 20));
        assertTrue(Arrays.stream(run(
                                ScriptedModel.of(FLAT),
                                PROMPT,
                                hot.toBuilder().topP(0.01).build())
                        .result
                        .region())
                .allMatch(t -> t == 20));
        long[] top2 = run(
                        ScriptedModel.of(FLAT), PROMPT, hot.toBuilder().topK(2).build())
                .result
                .region();
        assertTrue(Arrays.stream(top2).allMatch(t -> t == 20 || t == 21));
    }

    @Test
    void with_full_logits_sampling_reaches_beyond_the_heads_top_k() {
        ScriptedModel model = new ScriptedModel(VOCAB, 2, true, false, 512, FLAT);
        long[] region = run(
                        model,
                        PROMPT,
                        options(16, 16, 16).temperature(1.0).seed(3L).build())
                .result
                .region();
        assertTrue(Arrays.stream(region).anyMatch(t -> t > 21), Arrays.toString(region));
    }

    @Test
    void with_full_logits_top_k_and_top_p_rank_the_whole_vocabulary_negative_logits_included() {
        ScriptedModel.Logits negative = (canvas, p) -> {
            float[] l = new float[VOCAB];
            Arrays.fill(l, -50);
            l[40] = -1.0f;
            l[41] = -1.1f;
            l[42] = -1.2f;
            l[9] = -3f;
            return l;
        };
        GenerationRequest hot = options(16, 16, 16).temperature(5.0).seed(9L).build();
        long[] top2 = run(
                        new ScriptedModel(VOCAB, 1, true, false, 512, negative),
                        PROMPT,
                        hot.toBuilder().topK(2).build())
                .result
                .region();
        assertTrue(Arrays.stream(top2).allMatch(t -> t == 40 || t == 41), Arrays.toString(top2));
        assertTrue(Arrays.stream(top2).anyMatch(t -> t == 41), Arrays.toString(top2));
        long[] nucleus = run(
                        new ScriptedModel(VOCAB, 1, true, false, 512, negative),
                        PROMPT,
                        hot.toBuilder().topP(0.5).build())
                .result
                .region();
        assertTrue(Arrays.stream(nucleus).allMatch(t -> t == 40 || t == 41), Arrays.toString(nucleus));
        long[] margin = run(
                        new ScriptedModel(VOCAB, 1, true, false, 512, negative),
                        PROMPT,
                        hot.toBuilder().confidence(ConfidenceMeasure.MARGIN).build())
                .result
                .region();
        assertEquals(16, margin.length);
    }

    @Test
    void the_confidence_measures_rank_positions_differently() {
        // position 3: top-1 0.5 vs many small; position 4: top-1 0.45 vs one runner-up 0.45
        ScriptedModel.Logits logits = (c, p) -> {
            float[] l = new float[VOCAB];
            Arrays.fill(l, -30);
            if (p == 3) {
                l[40] = 3;
                for (int t = 41; t < 49; t++) {
                    l[t] = 1.5f;
                }
            } else {
                l[50] = 3.1f;
                l[51] = 3.1f - 0.001f;
            }
            return l;
        };
        GenerationRequest o = options(2, 2, 2).build();
        assertEquals(
                List.of(4),
                run(ScriptedModel.of(logits), PROMPT, o).positionsPerStep().get(0),
                "probability");
        assertEquals(
                List.of(3),
                run(
                                ScriptedModel.of(logits),
                                PROMPT,
                                o.toBuilder()
                                        .confidence(ConfidenceMeasure.MARGIN)
                                        .build())
                        .positionsPerStep()
                        .get(0),
                "margin");
        assertEquals(
                List.of(4),
                run(
                                ScriptedModel.of(logits),
                                PROMPT,
                                o.toBuilder()
                                        .confidence(ConfidenceMeasure.NEGATIVE_ENTROPY)
                                        .build())
                        .positionsPerStep()
                        .get(0),
                "negative entropy: two near-equal tokens are less uncertain than nine");
    }

    @Test
    void classifier_free_guidance_runs_a_masked_prompt_row_and_follows_the_guided_logits() {
        // conditional rows (prompt visible) prefer 30 a little; unconditional rows (prompt masked) prefer 31 strongly
        ScriptedModel.Logits logits = (canvas, p) -> {
            float[] l = new float[VOCAB];
            boolean sees = canvas[1] == 10;
            l[30] = sees ? 2.0f : 0.0f;
            l[31] = sees ? 1.9f : 3.0f;
            return l;
        };
        ScriptedModel model = new ScriptedModel(VOCAB, 8, true, false, 512, logits);
        Recorder plain = run(model, PROMPT, options(4, 4, 4).build());
        assertTrue(Arrays.stream(plain.result.region()).allMatch(t -> t == 30));
        // guided: 0 + 2*(2.0-0) = 4 for 30 vs 3 + 2*(1.9-3) = 0.8 for 31
        ScriptedModel guided = new ScriptedModel(VOCAB, 8, true, false, 512, logits);
        Recorder cfg = run(guided, PROMPT, options(4, 4, 4).cfgScale(1.0).build());
        assertTrue(Arrays.stream(cfg.result.region()).allMatch(t -> t == 30));
        long[][] first = guided.inputs.get(0);
        assertEquals(2, first.length, "conditional and unconditional rows in one forward pass");
        assertArrayEquals(new long[] {MASK, MASK, MASK, MASK, MASK, MASK, MASK}, first[1]);
        // a negative-going guidance flips the choice: cfg pushes away from the unconditional preference
        ScriptedModel.Logits flip = (canvas, p) -> {
            float[] l = new float[VOCAB];
            boolean sees = canvas[1] == 10;
            l[30] = sees ? 2.0f : 2.5f;
            l[31] = sees ? 1.9f : 0.0f;
            return l;
        };
        Recorder flipped = run(
                new ScriptedModel(VOCAB, 8, true, false, 512, flip),
                PROMPT,
                options(4, 4, 4).cfgScale(3.0).build());
        assertTrue(
                Arrays.stream(flipped.result.region()).allMatch(t -> t == 31),
                Arrays.toString(flipped.result.region()));
    }

    /** Sure text at positions 3 and 4, EOS from position 5 on, less sure. */
    static final ScriptedModel.Logits EOS_AT_5 = (canvas, p) -> p >= 5 ? prefer(VOCAB, EOS, 20) : sharp(VOCAB, 20 + p);

    @Test
    void early_exit_stops_once_an_eos_follows_resolved_text_and_fills_the_rest_with_padding() {
        Recorder full =
                run(ScriptedModel.of(EOS_AT_5), PROMPT, options(32, 32, 32).build());
        assertEquals(32, full.result.steps());
        Recorder early = run(
                ScriptedModel.of(EOS_AT_5),
                PROMPT,
                options(32, 32, 32).earlyExit(true).build());
        assertEquals(FinishReason.EOS, early.result.reason());
        assertEquals(3, early.result.steps(), "two text tokens, then the first EOS");
        assertArrayEquals(full.result.canvas(), early.result.canvas());
    }

    @Test
    void max_tokens_stops_once_that_many_leading_tokens_are_resolved() {
        Recorder r = run(
                ScriptedModel.of(RISING),
                PROMPT,
                options(16, 4, 16).maxTokens(4).build());
        assertEquals(FinishReason.MAX_TOKENS, r.result.reason());
        assertEquals(4, r.result.steps(), "only the first block ran");
    }

    @Test
    void a_stop_sequence_in_the_resolved_text_ends_the_run() {
        // tokens 20+p decode to letters: position 3 -> 'x' (23 % 26 = 23), 4 -> 'y', 5 -> 'z'
        Recorder r = run(
                ScriptedModel.of((c, p) -> prefer(VOCAB, 20 + p, 10 - 0.1f * p)),
                PROMPT,
                options(16, 16, 16).stop(List.of("yz")).build());
        assertEquals(FinishReason.STOP_SEQUENCE, r.result.reason());
        assertEquals(3, r.result.steps());
    }

    @Test
    void fixed_tokens_inside_the_region_stay_fixed() {
        long[] tokens = {0, 10, MASK, 42, MASK, MASK, 43, MASK};
        CanvasLayout layout = CanvasLayout.ofPlaceholders(tokens, MASK);
        assertEquals(2, layout.genStart());
        assertEquals(6, layout.genLength());
        ScriptedModel model = ScriptedModel.of(RISING);
        GenerationRequest o = options(6, 6, 4).build();
        Denoised d = start(model, plan(model, new PromptTokens.Placeholders(tokens), o), DenoisingListener.NONE)
                .runToEnd(model);
        assertArrayEquals(new long[] {0, 10, 22, 42, 24, 25, 43, 27}, d.canvas());
        assertEquals(
                4, model.inputs.size(), "4 masks over 4 steps: the schedule counts masks, not the region's length");
    }

    @Test
    void a_batch_of_different_lengths_gives_each_request_what_it_gets_alone() {
        ScriptedModel.Logits contextual = (canvas, p) -> {
            long sum = Arrays.stream(canvas).filter(t -> t != MASK).sum();
            return prefer(VOCAB, (int) (8 + (p * 7 + sum) % 48), 1 + 0.3f * p);
        };
        GenerationRequest o1 = options(8, 4, 8).build();
        GenerationRequest o2 = options(4, 4, 2).build();
        long[] p1 = {0, 10, 11};
        long[] p2 = {0, 12, 13, 14, 15, 16, 17};
        ScriptedModel alone = ScriptedModel.of(contextual);
        Denoised a1 = run(alone, p1, o1).result;
        Denoised a2 = run(alone, p2, o2).result;

        ScriptedModel shared = ScriptedModel.of(contextual);
        Recorder rec1 = new Recorder();
        DenoisingRun r1 = start(shared, plan(shared, new PromptTokens.Continuation(p1), o1), rec1);
        DenoisingRun r2 = start(shared, plan(shared, new PromptTokens.Continuation(p2), o2), DenoisingListener.NONE);
        List<DenoisingRun> runs = List.of(r1, r2);
        while (!r1.finished() || !r2.finished()) {
            BatchDenoiser.step(shared, runs);
        }
        assertArrayEquals(a1.canvas(), r1.result().canvas());
        assertArrayEquals(a2.canvas(), r2.result().canvas());
        assertEquals(2, shared.inputs.get(0).length, "both requests in the first forward pass");
        assertEquals(11, shared.inputs.get(0)[1].length, "padded to the longer canvas");
        assertEquals(1, shared.inputs.get(2).length, "the short request finished after 2 steps");
        assertEquals(8, rec1.steps.size());
    }

    @Test
    void a_canvas_far_longer_than_the_others_gets_its_own_forward_and_each_request_what_it_gets_alone() {
        ScriptedModel.Logits contextual = (canvas, p) -> {
            long sum = Arrays.stream(canvas).filter(t -> t != MASK).sum();
            return prefer(VOCAB, (int) (8 + (p * 7 + sum) % 48), 1 + 0.3f * p);
        };
        GenerationRequest o = options(4, 4, 4).build();
        long[] shortPrompt = {0, 10, 11};
        long[] longPrompt = new long[300];
        Arrays.fill(longPrompt, 12);
        longPrompt[0] = 0;
        ScriptedModel alone = ScriptedModel.of(contextual);
        Denoised shortAlone = run(alone, shortPrompt, o).result;
        Denoised longAlone = run(alone, longPrompt, o).result;

        ScriptedModel shared = ScriptedModel.of(contextual);
        DenoisingRun s1 = start(shared, plan(shared, new PromptTokens.Continuation(shortPrompt), o), null);
        DenoisingRun l = start(shared, plan(shared, new PromptTokens.Continuation(longPrompt), o), null);
        DenoisingRun s2 = start(shared, plan(shared, new PromptTokens.Continuation(shortPrompt), o), null);
        List<DenoisingRun> runs = List.of(s1, l, s2);
        BatchDenoiser.step(shared, runs);
        assertEquals(2, shared.inputs.size(), "one step, two forwards: padding 2 short canvases to 304 costs more");
        assertEquals(2, shared.inputs.get(0).length, "the two short canvases together, first (run 0 leads)");
        assertEquals(7, shared.inputs.get(0)[0].length, "and not padded");
        assertEquals(1, shared.inputs.get(1).length);
        assertEquals(304, shared.inputs.get(1)[0].length);
        while (!s1.finished() || !l.finished() || !s2.finished()) {
            BatchDenoiser.step(shared, runs);
        }
        assertArrayEquals(shortAlone.canvas(), s1.result().canvas());
        assertArrayEquals(shortAlone.canvas(), s2.result().canvas());
        assertArrayEquals(longAlone.canvas(), l.result().canvas());

        ScriptedModel single = ScriptedModel.of(contextual);
        List<DenoisingRun> again = List.of(
                start(single, plan(single, new PromptTokens.Continuation(shortPrompt), o), null),
                start(single, plan(single, new PromptTokens.Continuation(longPrompt), o), null));
        BatchDenoiser.step(single, again, ForwardGrouping.ONE_FORWARD);
        assertEquals(1, single.inputs.size(), "the policy that never splits pads them into one forward");
    }

    @Test
    void a_finished_run_refuses_more_steps_and_an_unfinished_one_has_no_result() {
        ScriptedModel model = ScriptedModel.of(RISING);
        DenoisingRun run = start(
                model,
                plan(
                        model,
                        new PromptTokens.Continuation(PROMPT),
                        options(4, 4, 4).build()),
                DenoisingListener.NONE);
        assertThrows(IllegalStateException.class, run::result);
        run.runToEnd(model);
        assertEquals(0, BatchDenoiser.step(model, List.of(run)), "finished runs are skipped");
    }
}
