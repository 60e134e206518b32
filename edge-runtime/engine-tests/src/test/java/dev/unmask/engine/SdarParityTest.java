package dev.unmask.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unmask.engine.decode.CanvasLayout;
import dev.unmask.engine.decode.DenoisingListener;
import dev.unmask.engine.decode.DenoisingRun;
import dev.unmask.engine.decode.KvCache;
import dev.unmask.engine.decode.KvCacheMode;
import dev.unmask.engine.decode.ModelTraits;
import dev.unmask.engine.decode.Remasking;
import dev.unmask.engine.model.HeadOutput;
import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.engine.request.DecodingPlan;
import dev.unmask.engine.request.GenerationRequest;
import dev.unmask.testing.ReferencePackages;
import dev.unmask.testing.Repo;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The engine on the fp32 package converted from {@code models/tiny-sdar} reproduces SDAR's
 * {@code block_diffusion_generate} (JetAstra/SDAR {@code generate.py}) as {@code models/tiny-sdar/fixtures.py} runs
 * it: for every held-out prompt and strategy (one token per step by confidence, and threshold 0.85 and 0.5) the
 * canvas from the text, every step's block, committed positions and tokens and their confidences, and the decoded
 * canvas, once without a key/value cache (the whole canvas under the block-causal mask every step) and once with
 * the exact block cache. The fixtures themselves were checked to be identical with SDAR's cache and without it,
 * so the two Java runs must also agree with each other.
 *
 * <p>The reference stops after the block where a stop token appears (generate.py's stopping_criteria_idx); the
 * engine here runs with early exit off, and because a block never reads a later one, its steps up to that block
 * are the reference's: the comparison covers exactly the reference's steps and its decoded canvas.
 */
class SdarParityTest {

    static Engine engine;
    static JsonNode generation;
    static JsonNode forward;

    @BeforeAll
    static void open() {
        engine = Engine.open(ReferencePackages.tinySdar(), RuntimeOptions.defaults().withIntraOpThreads(2));
        generation = Repo.json(Repo.tinySdarCheckpoint().resolve("fixtures/generation.json"));
        forward = Repo.json(Repo.tinySdarCheckpoint().resolve("fixtures/forward.json"));
    }

    @AfterAll
    static void close() {
        if (engine != null) {
            engine.close();
        }
    }

    @Test
    void the_package_is_block_causal_with_sdars_block_and_a_cache() {
        ModelTraits traits = ModelTraits.of(engine.model().manifest());
        assertEquals(generation.get("block_size").asInt(), traits.blockSize(), "block_size from config.json");
        assertTrue(traits.blockCausal(), "block-causal attention");
        assertTrue(traits.supportsCache(), "a format 3 graph with past/present keys and values");
        assertEquals(
                generation.get("mask_token_id").asLong(),
                engine.model().manifest().specialTokens().mask());
    }

    @TestFactory
    Stream<DynamicTest> the_full_canvas_forward_matches_pytorchs_under_the_block_causal_mask() {
        return StreamSupport.stream(forward.get("cases").spliterator(), false)
                .map(c -> DynamicTest.dynamicTest(c.get("name").asText(), () -> checkForward(c)));
    }

    static void checkForward(JsonNode c) {
        String name = c.get("name").asText();
        long[] ids = Repo.longs(c.get("input_ids"));
        long[] positions = Repo.longs(c.get("masked_positions"));
        long[] attention = new long[ids.length];
        Arrays.fill(attention, 1);
        HeadOutput out = engine.model().forward(new long[][] {ids}, new long[][] {attention}, new long[][] {positions});
        for (int j = 0; j < positions.length; j++) {
            String where = name + " position " + positions[j];
            assertEquals(c.get("logsumexp").get(j).asDouble(), out.logsumexp(0, j), 1e-3, where + ": logsumexp");
            JsonNode ids5 = c.get("top5_ids").get(j);
            JsonNode logits5 = c.get("top5_logits").get(j);
            // the best token must be PyTorch's; lower ranks may swap only where their logits are a float32 tie
            assertEquals(ids5.get(0).asLong(), out.topkId(0, j, 0), where + ": top-1 id");
            for (int k = 0; k < 5; k++) {
                assertEquals(logits5.get(k).asDouble(), out.topkLogit(0, j, k), 1e-3, where + ": rank " + k + " logit");
            }
        }
    }

    @TestFactory
    Stream<DynamicTest> every_fixture_case_matches_sdars_generate_without_a_cache() {
        return cases(KvCache.NONE);
    }

    @TestFactory
    Stream<DynamicTest> every_fixture_case_matches_sdars_generate_with_the_exact_block_cache() {
        return cases(new KvCache(KvCacheMode.PREFIX, 0));
    }

    static Stream<DynamicTest> cases(KvCache cache) {
        return StreamSupport.stream(generation.get("cases").spliterator(), false)
                .map(c -> DynamicTest.dynamicTest(c.get("name").asText(), () -> check(c, cache)));
    }

    static DecodingPlan plan(JsonNode c, KvCache cache) {
        int promptLength = c.get("prompt_ids").size();
        // SDAR's canvas runs to the end of the block holding prompt + gen_length: ask for exactly that region
        int region = c.get("total_length").asInt() - promptLength;
        GenerationRequest.Builder request = GenerationRequest.builder(
                        new GenerationRequest.Prompt.Continuation(c.get("prompt").asText()))
                .length(region)
                .blockLength(c.get("block_length").asInt())
                .temperature(c.get("temperature").asDouble())
                .earlyExit(false);
        if (c.get("remasking_strategy").asText().equals("low_confidence_static")) {
            // one token per step (num_transfer_tokens = block_length / denoising_steps = 1): as many steps as tokens
            request.remasking(Remasking.LOW_CONFIDENCE).steps(region);
        } else {
            request.remasking(Remasking.LOW_CONFIDENCE)
                    .threshold(c.get("confidence_threshold").asDouble());
        }
        DecodingPlan plan = engine.plan(request.build());
        return cache.mode() == KvCacheMode.NONE
                ? plan
                : plan.withOptions(plan.options().toBuilder().cache(cache).build());
    }

    static void check(JsonNode c, KvCache cache) {
        String name = c.get("name").asText() + " (cache " + cache.mode() + ")";
        DecodingPlan plan = plan(c, cache);
        CanvasLayout layout = plan.layout();
        int promptLength = c.get("prompt_ids").size();
        long[] start = Repo.longs(c.get("output_ids")).clone();
        Arrays.fill(start, promptLength, start.length, generation.get("mask_token_id").asLong());
        assertArrayEquals(start, layout.tokens(), name + ": the canvas from the text, to SDAR's block boundary");
        assertEquals(promptLength, layout.genStart(), name);

        List<DenoisingListener.StepEvent> steps = new ArrayList<>();
        DenoisingRun run = engine.start(plan, new DenoisingListener() {
            @Override
            public void onStep(StepEvent event) {
                steps.add(event);
            }
        });
        long[] output = run.runToEnd(engine.model()).canvas();

        JsonNode trace = c.get("trace");
        int blockSize = c.get("block_length").asInt();
        int firstBlock = promptLength / blockSize; // the reference numbers blocks from canvas position 0
        assertTrue(steps.size() >= trace.size(), name + ": at least the reference's " + trace.size() + " steps");
        for (int i = 0; i < trace.size(); i++) {
            JsonNode expected = trace.get(i);
            DenoisingListener.StepEvent actual = steps.get(i);
            String where = name + " step " + i + " (canvas block " + expected.get("block").asInt() + ", step "
                    + expected.get("step").asInt() + ")";
            assertEquals(expected.get("block").asInt() - firstBlock, actual.block(), where + ": block");
            assertEquals(expected.get("step").asInt(), actual.step(), where + ": step in block");
            List<String> want = new ArrayList<>();
            for (JsonNode commit : expected.get("committed")) {
                want.add(commit.get("position").asInt() + "=" + commit.get("token").asLong());
            }
            List<String> got = actual.committed().stream()
                    .map(k -> k.position() + "=" + k.token())
                    .toList();
            assertEquals(want, got, where + ": committed position=token");
            for (int k = 0; k < got.size(); k++) {
                double conf = expected.get("committed").get(k).get("confidence").asDouble();
                assertEquals(conf, actual.committed().get(k).confidence(), 1e-4 + 1e-3 * conf, where + ": confidence");
            }
        }
        int decodedTo = c.get("decoded_to").asInt();
        assertArrayEquals(
                Arrays.copyOf(Repo.longs(c.get("output_ids")), decodedTo),
                Arrays.copyOf(output, decodedTo),
                name + ": the canvas up to the reference's last decoded block");
    }
}
