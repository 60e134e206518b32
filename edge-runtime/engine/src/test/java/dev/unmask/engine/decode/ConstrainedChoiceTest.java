package dev.unmask.engine.decode;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.unmask.engine.request.DecodingPlan;
import dev.unmask.engine.request.PromptTokens;
import dev.unmask.engine.testing.ScriptedModel;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A constrained canvas (structured output's slots) in the sampler: a position takes the best candidate of the head
 * that it admits, and when the head's top-k holds none, its deterministic fallback, committed after the positions the
 * model had something for.
 */
class ConstrainedChoiceTest {

    static final long[] PROMPT = {0, 10, 11};
    static final int FALLBACK = 45;

    /**
     * Every position prefers 20 + p, then 30 + p, neither admitted; positions 3 and 4 (the first two of the region)
     * also rate the admitted 40 + p third, the last two have no admitted token in their top-8.
     */
    static final ScriptedModel.Logits NOT_FIRST_CHOICE = (canvas, p) -> {
        float[] l = new float[64];
        Arrays.fill(l, -10);
        l[20 + p] = 5;
        l[30 + p] = 4;
        if (p < 5) {
            l[40 + p] = 3;
        }
        return l;
    };

    /** Region positions admit 40..49 only ("digits"); the fallback is 45. */
    static final StructuredCanvas DIGITS = new StructuredCanvas() {
        final Admissible digit = new Admissible() {
            @Override
            public boolean admits(long token) {
                return token >= 40 && token < 50;
            }

            @Override
            public long fallback() {
                return FALLBACK;
            }
        };

        @Override
        public Admissible admissible(int position) {
            return position >= PROMPT.length ? digit : null;
        }

        @Override
        public AnswerText.Answer answer(long[] canvas) {
            return new AnswerText.Answer("", new long[0]);
        }

        @Override
        public String settled(long[] canvas, int end) {
            return "";
        }
    };

    static DenoisingRunTest.Recorder run(ScriptedModel model, double temperature) {
        DecodingPlan plan = DenoisingRunTest.plan(
                model,
                new PromptTokens.Continuation(PROMPT),
                DenoisingRunTest.options(4, 4, 4).temperature(temperature).build());
        ModelTraits traits = ModelTraits.of(model.manifest());
        DenoisingRunTest.Recorder recorder = new DenoisingRunTest.Recorder();
        DenoisingRun run = DenoisingRun.start(
                plan.layout(),
                plan.blocks(),
                plan.options(),
                traits,
                recorder,
                new AnswerText(plan.layout(), plan.options(), traits, DenoisingRunTest.LETTERS, t -> new long[0]),
                DIGITS);
        recorder.result = run.runToEnd(model);
        return recorder;
    }

    @Test
    void a_position_takes_its_best_admitted_candidate_or_else_its_fallback_last() {
        for (double temperature : new double[] {0, 1}) {
            DenoisingRunTest.Recorder r = run(ScriptedModel.of(NOT_FIRST_CHOICE), temperature);
            long[] region = Arrays.copyOfRange(r.result.canvas(), PROMPT.length, PROMPT.length + 4);
            assertArrayEquals(new long[] {43, 44, FALLBACK, FALLBACK}, region, "temperature " + temperature);
            assertEquals(
                    List.of(List.of(3), List.of(4), List.of(5), List.of(6)),
                    r.positionsPerStep(),
                    "the positions the head had an admitted token for commit first");
        }
    }

    @Test
    void with_full_logits_the_choice_is_over_every_admitted_token_of_the_vocabulary() {
        ScriptedModel model = new ScriptedModel(64, 8, true, false, 512, (canvas, p) -> {
            float[] l = NOT_FIRST_CHOICE.at(canvas, p);
            l[48] = -5; // outside every top-8, yet the best admitted token where 40 + p is not there
            return l;
        });
        DenoisingRunTest.Recorder r = run(model, 0);
        long[] region = Arrays.copyOfRange(r.result.canvas(), PROMPT.length, PROMPT.length + 4);
        assertArrayEquals(new long[] {43, 44, 48, 48}, region);
    }
}
