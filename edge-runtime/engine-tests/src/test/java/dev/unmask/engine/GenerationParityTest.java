package dev.unmask.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unmask.engine.decode.CanvasLayout;
import dev.unmask.engine.decode.DenoisingListener;
import dev.unmask.engine.decode.DenoisingRun;
import dev.unmask.engine.decode.Remasking;
import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.engine.request.DecodingPlan;
import dev.unmask.engine.request.GenerationRequest;
import dev.unmask.testing.ReferencePackages;
import dev.unmask.testing.Repo;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The engine on the fp32 package reproduces LLaDA's reference decoding ({@code models/tiny-llada/train.py},
 * {@code generate()}) from {@code fixtures/generation.json}: the same canvas from the same text, the same positions
 * and tokens committed at every step, the same final tokens, infill included.
 */
class GenerationParityTest {

    static Engine engine;
    static JsonNode fixtures;

    @BeforeAll
    static void open() {
        engine = Engine.open(
                ReferencePackages.tinyLlada(), RuntimeOptions.defaults().withIntraOpThreads(2));
        fixtures = Repo.json(Repo.checkpoint().resolve("fixtures/generation.json"));
    }

    @AfterAll
    static void close() {
        if (engine != null) {
            engine.close();
        }
    }

    @TestFactory
    Stream<DynamicTest> every_fixture_case_matches_the_reference_step_for_step() {
        return StreamSupport.stream(fixtures.get("cases").spliterator(), false)
                .map(c -> DynamicTest.dynamicTest(c.get("name").asText(), () -> check(c)));
    }

    static void check(JsonNode c) {
        String name = c.get("name").asText();
        GenerationRequest.Prompt prompt = c.has("prompt")
                ? new GenerationRequest.Prompt.Continuation(c.get("prompt").asText())
                : new GenerationRequest.Prompt.Infill(
                        c.get("prefix").asText(), c.get("suffix").asText());
        // the planner is the one every surface uses; the fixtures' whole blocks must come out as LLaDA's
        DecodingPlan plan = engine.plan(GenerationRequest.builder(prompt)
                .length(c.get("gen_length").asInt())
                .blockLength(c.get("block_length").asInt())
                .steps(c.get("steps").asInt())
                .temperature(c.get("temperature").asDouble())
                .remasking(Remasking.parse(c.get("remasking").asText()))
                .earlyExit(false)
                .build());
        CanvasLayout layout = plan.layout();
        assertArrayEquals(Repo.longs(c.get("input_ids")), layout.tokens(), name + ": the canvas built from the text");
        assertEquals(c.get("gen_start").asInt(), layout.genStart(), name);

        List<DenoisingListener.StepEvent> steps = new ArrayList<>();
        DenoisingRun run = engine.start(plan, new DenoisingListener() {
            @Override
            public void onStep(StepEvent event) {
                steps.add(event);
            }
        });
        long[] output = run.runToEnd(engine.model()).canvas();

        JsonNode trace = c.get("trace");
        assertEquals(trace.size(), steps.size(), name + ": number of steps");
        for (int i = 0; i < trace.size(); i++) {
            JsonNode expected = trace.get(i);
            DenoisingListener.StepEvent actual = steps.get(i);
            String where =
                    name + " step " + i + " (block " + expected.get("block").asInt() + ", step "
                            + expected.get("step").asInt() + ")";
            assertEquals(expected.get("block").asInt(), actual.block(), where);
            assertEquals(expected.get("step").asInt(), actual.step(), where);
            List<String> want = new ArrayList<>();
            for (JsonNode commit : expected.get("committed")) {
                want.add(commit.get("position").asInt() + "="
                        + commit.get("token").asLong());
            }
            List<String> got = actual.committed().stream()
                    .map(k -> k.position() + "=" + k.token())
                    .toList();
            assertEquals(want, got, where + ": committed position=token");
            for (int k = 0; k < actual.committed().size(); k++) {
                double conf = expected.get("committed").get(k).get("confidence").asDouble();
                assertEquals(conf, actual.committed().get(k).confidence(), 1e-4 + 1e-3 * conf, where + ": confidence");
            }
        }
        assertArrayEquals(Repo.longs(c.get("output_ids")), output, name + ": final canvas");
    }
}
