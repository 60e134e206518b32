package dev.unmask.engine.decode;

import static dev.unmask.engine.testing.ScriptedModel.EOS;
import static dev.unmask.engine.testing.ScriptedModel.prefer;
import static dev.unmask.engine.testing.ScriptedModel.sharp;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.engine.decode.DenoisingRunTest.Recorder;
import dev.unmask.engine.request.DecodingPlan;
import dev.unmask.engine.request.DecodingPlanner;
import dev.unmask.engine.request.DreamAlg;
import dev.unmask.engine.request.GenerationDefaults;
import dev.unmask.engine.request.GenerationRequest;
import dev.unmask.engine.request.Limits;
import dev.unmask.engine.request.PromptTokens;
import dev.unmask.engine.testing.ReplayedUniforms;
import dev.unmask.engine.testing.ScriptedModel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Dream's {@code _sample} in the engine: the timesteps schedule, the {@code origin} reveal, {@code alg_temp}'s
 * Gumbel-top-k, each against the randomness contract of {@link DenoisingRun}, and the existing rules on top of them.
 * The models are scripted with and without the logit shift, which lives in the (scripted) graph.
 */
class DreamDecodingTest {

    static final long[] PROMPT = DenoisingRunTest.PROMPT;
    static final int VOCAB = DenoisingRunTest.VOCAB;
    static final ScriptedModel.Logits RISING = DenoisingRunTest.RISING;

    static ScriptedModel model(boolean shift, ScriptedModel.Logits logits) {
        return new ScriptedModel(VOCAB, 8, false, shift, 512, logits);
    }

    static GenerationRequest.Builder request(int length, int steps) {
        return GenerationRequest.builder(new GenerationRequest.Prompt.Continuation(""))
                .length(length)
                .steps(steps)
                .earlyExit(false);
    }

    static DecodingPlan plan(ScriptedModel model, PromptTokens prompt, GenerationRequest request) {
        return new DecodingPlanner(GenerationDefaults.LLADA, ModelTraits.of(model.manifest()), Limits.NONE)
                .plan(request, prompt);
    }

    static DenoisingRun start(ScriptedModel model, DecodingPlan plan, Recorder recorder, RandomGenerator random) {
        ModelTraits traits = ModelTraits.of(model.manifest());
        AnswerText text =
                new AnswerText(plan.layout(), plan.options(), traits, DenoisingRunTest.LETTERS, t -> new long[0]);
        return random == null
                ? DenoisingRun.start(plan.layout(), plan.blocks(), plan.options(), traits, recorder, text)
                : DenoisingRun.start(plan.layout(), plan.blocks(), plan.options(), traits, recorder, text, random);
    }

    static Recorder run(ScriptedModel model, GenerationRequest request, RandomGenerator random) {
        Recorder recorder = new Recorder();
        DenoisingRun run = start(model, plan(model, new PromptTokens.Continuation(PROMPT), request), recorder, random);
        recorder.result = run.runToEnd(model);
        return recorder;
    }

    static List<Integer> counts(Recorder r) {
        return r.steps.stream().map(s -> s.committed().size()).toList();
    }

    /** Dream's counts, computed by its formula with PyTorch 2.13 (CPU): {@code linspace} and all in float32. */
    @Test
    void the_timesteps_schedule_gives_dreams_counts_as_pytorch_computes_them() {
        assertEquals(List.of(3, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 5), counts(64, 16, 1e-3), "n 64, 16 steps");
        assertEquals(List.of(1, 1, 1, 1, 1, 1, 1, 3), counts(10, 8, 1e-3), "n 10, 8 steps");
        assertEquals(List.of(0, 1, 1, 1, 1, 1, 2), counts(7, 7, 0.01), "a first step of none");
        assertEquals(List.of(2, 1, 2, 2, 2, 2, 2, 19), counts(32, 8, 0.5), "a large eps leaves most to the last step");
        assertEquals(List.of(0, 1, 1, 2), counts(4, 4, 1e-3), "n 4, 4 steps");
        List<Integer> hundred = counts(100, 64, 1e-3);
        assertEquals(List.of(1, 1, 1), hundred.subList(0, 3));
        assertEquals(List.of(2, 2, 3), hundred.subList(61, 64));
        assertEquals(100, hundred.stream().mapToInt(Integer::intValue).sum());
        // the value of torch.linspace(1, 1e-3, 17)[9] in float32, where a plain float32 a + i*step is one ulp off
        assertEquals(0.43806251883506775f, new StepSchedule.Timesteps(1e-3).t(9, 16));
    }

    static List<Integer> counts(int n, int steps, double eps) {
        StepSchedule.Timesteps schedule = new StepSchedule.Timesteps(eps);
        List<Integer> out = new ArrayList<>();
        int masked = n;
        for (int i = 0; i < steps; i++) {
            int k = schedule.count(i, steps, n, masked);
            out.add(k);
            masked -= k;
        }
        return out;
    }

    @ParameterizedTest(name = "logits shift {0}")
    @ValueSource(booleans = {false, true})
    void a_run_on_the_timesteps_commits_those_counts_in_one_block_a_step_of_none_included(boolean shift) {
        Recorder r = run(
                model(shift, RISING),
                request(7, 7).alg(DreamAlg.MASKGIT_PLUS).eps(0.01).build(),
                new ReplayedUniforms()); // alg_temp 0, temperature 0: no draws at all
        assertEquals(List.of(0, 1, 1, 1, 1, 1, 2), counts(r));
        assertEquals(1, r.blocks.size(), "Dream has no blocks: one over the whole region");
        assertEquals(
                List.of(9),
                r.steps.get(1).committed().stream()
                        .map(DenoisingListener.Commit::position)
                        .toList(),
                "the most confident (rightmost) first");
        assertEquals(7, r.result.steps());
        assertEquals(FinishReason.LENGTH, r.result.reason());
    }

    @ParameterizedTest(name = "logits shift {0}")
    @ValueSource(booleans = {false, true})
    void origin_reveals_exactly_the_positions_whose_uniform_is_below_1_minus_s_over_t(boolean shift) {
        // 4 masks (positions 3..6), 4 steps, eps 1e-3: 1 - s/t = 0.24975, 0.33289, 0.49900, then all
        ReplayedUniforms u = new ReplayedUniforms(
                0.9, 0.1, 0.5, 0.2497, // step 0, positions 3, 4, 5, 6: 4 and 6 revealed
                0.34, 0.33, // step 1, positions 3, 5: 5 revealed (0.33 < 0.33289)
                0.5); // step 2, position 3: not revealed (0.5 >= 0.499); step 3 reveals it without a draw
        Recorder r =
                run(model(shift, RISING), request(4, 4).alg(DreamAlg.ORIGIN).build(), u);
        u.assertAllUsed();
        assertEquals(List.of(List.of(4, 6), List.of(5), List.of(), List.of(3)), r.positionsPerStep());
        int s = shift ? 1 : 0;
        assertArrayEquals(new long[] {23 - s, 24 - s, 25 - s, 26 - s}, r.result.region());
    }

    @Test
    void origin_samples_tokens_after_the_position_draws_and_only_where_revealed() {
        // temperature 1 on a top-8 head: a revealed position draws 8 Gumbel uniforms after the step's position draws
        double[] draws = new double[2 + 8 + 1 + 8];
        Arrays.fill(draws, 0.5);
        draws[0] = 0.9; // step 0 (of 2), position 3: kept masked (1 - s/t = 0.4995)
        draws[1] = 0.1; // position 4: revealed; then its 8 token draws
        // step 1 is the last: no position draws, position 3's 8 token draws
        ReplayedUniforms u = new ReplayedUniforms(Arrays.copyOf(draws, 2 + 8 + 8));
        Recorder r = run(
                model(false, RISING),
                request(2, 2).alg(DreamAlg.ORIGIN).temperature(1.0).build(),
                u);
        u.assertAllUsed();
        assertEquals(List.of(List.of(4), List.of(3)), r.positionsPerStep());
    }

    @Test
    void alg_temp_commits_the_positions_of_the_top_gumbel_keys() {
        // LLaDA's even schedule, 4 masks in 2 steps: 2 per step; step 0 draws one uniform per masked position
        double algTemp = 0.1;
        double[] u = {0.3, 0.97, 0.6, 0.5};
        double[] key = new double[4];
        for (int j = 0; j < 4; j++) {
            int p = 3 + j;
            float[] l = prefer(VOCAB, 20 + p, 1 + 0.5f * p);
            double sum = 0;
            for (float v : l) {
                sum += Math.exp(v);
            }
            double confidence = Math.exp(l[20 + p]) / sum;
            key[j] = confidence / algTemp - Math.log(-Math.log(u[j])); // softmax's normalizer moves every key alike
        }
        Integer[] order = {0, 1, 2, 3};
        Arrays.sort(order, (a, b) -> Double.compare(key[b], key[a]));
        List<Integer> expected = new ArrayList<>(List.of(3 + order[0], 3 + order[1]));
        expected.sort(null);
        assertNotEquals(List.of(5, 6), expected, "the keys must choose other positions than the confidences alone");

        double[] both = Arrays.copyOf(u, 6); // step 1 commits the 2 left, and draws for them as every step does
        both[4] = 0.5;
        both[5] = 0.5;
        ReplayedUniforms replay = new ReplayedUniforms(both);
        Recorder r = run(
                model(false, RISING),
                request(4, 2).blockLength(4).algTemp(algTemp).build(),
                replay);
        replay.assertAllUsed();
        assertEquals(expected, r.positionsPerStep().get(0));
        assertEquals(2, r.steps.size());
    }

    @Test
    void alg_temp_draws_one_uniform_per_masked_position_at_every_step_one_that_commits_none_included() {
        // Dream's timesteps, 4 masks in 4 steps: counts 0, 1, 1, 2, with 4, 4, 3 and 2 positions still masked
        ReplayedUniforms replay = new ReplayedUniforms(
                0.5, 0.5, 0.5, 0.5, // step 0 commits none
                0.5, 0.5, 0.999, 0.5, // step 1: the uniform near 1 gives position 5 the top key
                0.5, 0.5, 0.5, // step 2
                0.5, 0.5); // step 3 commits the rest
        Recorder r = run(
                model(true, RISING),
                request(4, 4).alg(DreamAlg.ENTROPY).algTemp(1.0).build(),
                replay);
        replay.assertAllUsed();
        assertEquals(List.of(0, 1, 1, 2), counts(r));
        assertEquals(List.of(5), r.positionsPerStep().get(1));
    }

    @ParameterizedTest(name = "logits shift {0}")
    @ValueSource(booleans = {false, true})
    void threshold_decoding_runs_on_dreams_confidences_in_one_block(boolean shift) {
        Recorder fast = run(
                model(shift, (c, p) -> sharp(VOCAB, 20 + p)),
                request(8, 8).alg(DreamAlg.MASKGIT_PLUS).threshold(0.9).build(),
                null);
        assertEquals(1, fast.result.steps(), "every token sure: one step for the whole region");
        Recorder slow = run(
                model(shift, RISING),
                request(8, 8).alg(DreamAlg.TOPK_MARGIN).factor(0.01).build(),
                null);
        assertEquals(8, slow.result.steps(), "none sure: one token per step");
    }

    static final ScriptedModel.Logits EOS_AT_5 = (canvas, p) -> p >= 5 ? prefer(VOCAB, EOS, 20) : sharp(VOCAB, 20 + p);

    @ParameterizedTest(name = "logits shift {0}")
    @ValueSource(booleans = {false, true})
    void origin_runs_with_early_exit_max_tokens_and_stop_sequences(boolean shift) {
        GenerationRequest origin = request(16, 16).alg(DreamAlg.ORIGIN).seed(3L).build();
        Recorder full = run(model(shift, EOS_AT_5), origin, null);
        assertEquals(16, full.result.steps());
        Recorder early =
                run(model(shift, EOS_AT_5), origin.toBuilder().earlyExit(true).build(), null);
        assertEquals(FinishReason.EOS, early.result.reason());
        assertTrue(early.result.steps() < 16, "stopped before the last step: " + early.result.steps());
        assertArrayEquals(full.result.canvas(), early.result.canvas(), "the rest is padding (EOS here)");

        Recorder capped =
                run(model(shift, RISING), origin.toBuilder().maxTokens(2).build(), null);
        assertEquals(FinishReason.MAX_TOKENS, capped.result.reason());

        // tokens 20+p decode to letters: position 3 -> 'x', 4 -> 'y', 5 -> 'z' (one less under the shift)
        Recorder stopped =
                run(model(false, RISING), origin.toBuilder().stop(List.of("yz")).build(), null);
        assertEquals(FinishReason.STOP_SEQUENCE, stopped.result.reason());
    }

    @ParameterizedTest(name = "logits shift {0}")
    @ValueSource(booleans = {false, true})
    void origin_fills_an_infill_and_leaves_the_suffix(boolean shift) {
        ScriptedModel model = model(shift, RISING);
        long[] prefix = {0, 10};
        long[] suffix = {40, 41};
        DecodingPlan p = plan(
                model,
                new PromptTokens.Infill(prefix, suffix),
                request(4, 4).alg(DreamAlg.ORIGIN).seed(11L).build());
        Recorder recorder = new Recorder();
        Denoised d = start(model, p, recorder, null).runToEnd(model);
        int s = shift ? 1 : 0;
        assertArrayEquals(new long[] {0, 10, 22 - s, 23 - s, 24 - s, 25 - s, 40, 41}, d.canvas());
        assertEquals(4, d.steps(), "origin always takes its planned steps");
    }

    @Test
    void a_batch_of_origin_runs_gives_each_request_what_it_gets_alone() {
        ScriptedModel.Logits contextual = (canvas, p) -> {
            long sum =
                    Arrays.stream(canvas).filter(t -> t != ScriptedModel.MASK).sum();
            return prefer(VOCAB, (int) (8 + (p * 7 + sum) % 48), 1 + 0.3f * p);
        };
        GenerationRequest o1 = request(8, 8).alg(DreamAlg.ORIGIN).seed(1L).build();
        GenerationRequest o2 =
                request(4, 2).alg(DreamAlg.ENTROPY).algTemp(0.5).seed(2L).build();
        ScriptedModel alone = model(true, contextual);
        Denoised a1 = run(alone, o1, null).result;
        Denoised a2 = run(alone, o2, null).result;

        ScriptedModel shared = model(true, contextual);
        DenoisingRun r1 = start(shared, plan(shared, new PromptTokens.Continuation(PROMPT), o1), new Recorder(), null);
        DenoisingRun r2 = start(shared, plan(shared, new PromptTokens.Continuation(PROMPT), o2), new Recorder(), null);
        while (!r1.finished() || !r2.finished()) {
            BatchDenoiser.step(shared, List.of(r1, r2));
        }
        assertArrayEquals(a1.canvas(), r1.result().canvas());
        assertArrayEquals(a2.canvas(), r2.result().canvas());
        assertEquals(2, shared.inputs.get(0).length, "both in one forward pass");
    }

    @Test
    void origin_needs_the_timesteps_and_alg_temp_must_be_finite() {
        DecodingOptions o = DecodingOptions.defaults();
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> o.toBuilder().remasking(Remasking.ORIGIN).build());
        assertTrue(e.getMessage().contains("new StepSchedule.Timesteps(0.001)"), e.getMessage());
        assertThrows(
                IllegalArgumentException.class,
                () -> o.toBuilder().algTemp(Double.NaN).build());
        assertThrows(IllegalArgumentException.class, () -> new StepSchedule.Timesteps(1.0));
    }
}
