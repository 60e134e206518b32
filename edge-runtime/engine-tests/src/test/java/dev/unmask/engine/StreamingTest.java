package dev.unmask.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.engine.decode.AnswerText;
import dev.unmask.engine.decode.CanvasLayout;
import dev.unmask.engine.decode.DecodingOptions;
import dev.unmask.engine.decode.DenoisingListener;
import dev.unmask.engine.decode.DenoisingRun;
import dev.unmask.engine.decode.TextStream;
import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.engine.request.DecodingPlan;
import dev.unmask.engine.request.GenerationRequest;
import dev.unmask.engine.text.ChatMessage;
import dev.unmask.testing.ReferencePackages;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Streaming as every surface does it ({@link TextStream} over a run's steps), on both real tiny packages: the text
 * flows step by step, and the deltas concatenated are exactly the plain answer of the same request.
 */
class StreamingTest {

    static Engine llada;
    static Engine dream;

    @BeforeAll
    static void open() {
        llada = Engine.open(
                ReferencePackages.tinyLlada(), RuntimeOptions.defaults().withIntraOpThreads(1));
        dream = Engine.open(
                ReferencePackages.tinyDream(), RuntimeOptions.defaults().withIntraOpThreads(1));
    }

    @AfterAll
    static void close() {
        if (llada != null) {
            llada.close();
        }
        if (dream != null) {
            dream.close();
        }
    }

    static Engine engine(String family) {
        return family.equals("llada") ? llada : dream;
    }

    /**
     * A request streamed: the deltas sent while it ran (one list entry per step that sent text), the rest sent once
     * it finished, and its answer.
     */
    record Streamed(List<String> duringRun, String rest, Generation answer) {
        String joined() {
            return String.join("", duringRun) + rest;
        }
    }

    /** Runs {@code request} as the servers stream it, checking after every step that what went out is final. */
    static Streamed stream(Engine engine, GenerationRequest request, String plainText) {
        DecodingPlan plan = engine.plan(request);
        TextStream stream = new TextStream(engine.answerText(plan));
        List<String> deltas = new ArrayList<>();
        DenoisingRun run = engine.start(plan, new DenoisingListener() {
            @Override
            public void onStep(StepEvent e) {
                String delta = stream.next(e.canvas());
                if (!delta.isEmpty()) {
                    deltas.add(delta);
                    assertTrue(
                            plainText.startsWith(stream.sent()),
                            "sent '" + stream.sent() + "' is not the start of the answer '" + plainText + "'");
                }
            }
        });
        run.runToEnd(engine.model());
        Generation g = engine.finish(run);
        return new Streamed(deltas, stream.rest(g.text()), g);
    }

    static List<GenerationRequest.Builder> prompts(String family) {
        List<GenerationRequest.Builder> prompts = new ArrayList<>();
        prompts.add(GenerationRequest.builder(new GenerationRequest.Prompt.Continuation("def add(a, b):\n")));
        prompts.add(GenerationRequest.builder(new GenerationRequest.Prompt.Continuation("import ")));
        prompts.add(GenerationRequest.builder(
                new GenerationRequest.Prompt.Infill("def square(x):\n", "\n\ndef cube(x):\n")));
        String template = engine(family).manifest().chatTemplate();
        if (template != null && !template.isBlank()) {
            prompts.add(GenerationRequest.builder(
                    new GenerationRequest.Prompt.Chat(List.of(ChatMessage.user("Write a loop")), false)));
        }
        return prompts;
    }

    @ParameterizedTest
    @ValueSource(strings = {"llada", "dream"})
    void the_deltas_concatenated_are_the_plain_answer_over_seeds_prompts_blocks_stops_and_temperatures(String family) {
        Engine engine = engine(family);
        int cases = 0;
        int sentDuringRun = 0;
        for (GenerationRequest.Builder prompt : prompts(family)) {
            for (int blockLength : new int[] {8, 32}) {
                for (long seed = 0; seed < 3; seed++) {
                    // greedy and sampled; stop sequences the tiny models write ("(", a blank line, "return") or not
                    double temperature = seed == 0 ? 0.0 : 0.9;
                    List<String> stop = seed == 1 ? List.of() : List.of("(", "\n\n", "return");
                    GenerationRequest request = prompt.length(32)
                            .blockLength(blockLength)
                            .steps(16)
                            .temperature(temperature)
                            .seed(seed)
                            .stop(stop)
                            .build();
                    Generation plain = engine.generate(request, DenoisingListener.NONE);
                    Streamed s = stream(engine, request, plain.text());
                    String what = family + " " + request.prompt() + ", block " + blockLength + ", seed " + seed
                            + ", temperature " + temperature + ", stop " + stop;
                    assertEquals(plain.text(), s.joined(), what);
                    assertEquals(plain.text(), s.answer().text(), what);
                    assertEquals(plain.reason(), s.answer().reason(), what);
                    assertEquals(plain.tokens().length, s.answer().tokens().length, what);
                    cases++;
                    sentDuringRun += String.join("", s.duringRun()).length();
                }
            }
        }
        assertTrue(cases >= 18, "ran " + cases);
        assertTrue(sentDuringRun > 0, "some text went out before the runs ended");
    }

    @ParameterizedTest
    @ValueSource(strings = {"llada", "dream"})
    void a_64_token_answer_in_blocks_of_32_and_32_steps_arrives_in_many_chunks(String family) {
        Engine engine = engine(family);
        GenerationRequest request = GenerationRequest.builder(
                        new GenerationRequest.Prompt.Continuation("def fibonacci(n):\n"))
                .length(64)
                .blockLength(32)
                .steps(32)
                .earlyExit(false)
                .build();
        Generation plain = engine.generate(request, DenoisingListener.NONE);
        Streamed s = stream(engine, request, plain.text());
        assertEquals(plain.text(), s.joined());
        assertEquals(64, plain.tokens().length, "the model writes the whole canvas: " + plain.text());
        assertTrue(
                s.duringRun().size() >= 6,
                "text flows every few steps, not once per block: "
                        + s.duringRun().size() + " chunks " + s.duringRun());
    }

    /**
     * A character whose UTF-8 bytes are split between tokens (the byte-level tokenizers of both families spell
     * "😀" and "日本" byte by byte) is held until all of its bytes are there: the real tokenizer decodes, and the
     * canvas is resolved in many orders.
     */
    @ParameterizedTest
    @ValueSource(strings = {"llada", "dream"})
    void a_character_split_across_tokens_is_never_sent_broken(String family) {
        Engine engine = engine(family);
        String text = "s = 'café 😀 — 日本語' # ok";
        long[] ids = engine.tokenizer().encode(text, false);
        assertEquals(text, engine.tokenizer().decode(ids), "the tokenizer reads its own bytes back");
        boolean split = false;
        for (int n = 1; n < ids.length; n++) {
            split |= engine.tokenizer().decode(Arrays.copyOf(ids, n)).endsWith("\uFFFD");
        }
        assertTrue(split, "some token ends inside a character: " + Arrays.toString(ids));
        long mask = engine.traits().maskId();
        long[] prompt = engine.tokenizer().encode("# data\n", true);
        CanvasLayout layout = CanvasLayout.continuation(prompt, ids.length, mask);
        for (List<String> stop : List.of(List.<String>of(), List.of("語'", "\uD83D\uDE00 x"))) {
            AnswerText answerText = new AnswerText(
                    layout,
                    DecodingOptions.defaults().toBuilder().stopSequences(stop).build(),
                    engine.traits(),
                    engine.tokenizer()::decode,
                    t -> engine.tokenizer().encode(t, false));
            for (long seed = 0; seed < 20; seed++) {
                long[] canvas = layout.tokens();
                List<Integer> order = new ArrayList<>();
                for (int j = 0; j < ids.length; j++) {
                    order.add(j);
                }
                java.util.Collections.shuffle(order, new Random(seed));
                String expected =
                        answerText.answer(withAll(canvas, prompt.length, ids)).text();
                TextStream stream = new TextStream(answerText);
                StringBuilder sent = new StringBuilder();
                for (int j : order) {
                    canvas[prompt.length + j] = ids[j];
                    String delta = stream.next(canvas.clone());
                    assertFalse(delta.contains("\uFFFD"), "half a character sent: '" + delta + "'");
                    assertFalse(
                            !delta.isEmpty() && Character.isHighSurrogate(delta.charAt(delta.length() - 1)),
                            "half a surrogate pair sent: '" + delta + "'");
                    sent.append(delta);
                    assertTrue(expected.startsWith(sent.toString()), sent + " is not the start of " + expected);
                }
                sent.append(stream.rest(answerText.answer(canvas).text()));
                assertEquals(expected, sent.toString(), "seed " + seed + ", stop " + stop);
            }
        }
    }

    private static long[] withAll(long[] canvas, int at, long[] ids) {
        long[] full = canvas.clone();
        System.arraycopy(ids, 0, full, at, ids.length);
        return full;
    }
}
