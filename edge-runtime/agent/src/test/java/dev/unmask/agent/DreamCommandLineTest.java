package dev.unmask.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unmask.testing.ReferencePackages;
import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * `unmask generate|infill|run|bench` on the real tiny-dream package (family {@code dream}: shifted logits, ChatML,
 * Dream's generation defaults in its manifest), through the same command line as tiny-llada: nothing here names the
 * family, the package alone makes it Dream. Asserts behaviour and consistency, never the draft model's exact text.
 */
class DreamCommandLineTest {

    static final ObjectMapper JSON = new ObjectMapper();

    /** The ChatML a user message "Hello" renders to with tiny-dream's template (Qwen2.5's default system turn). */
    static final String CHATML_HELLO = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
            + "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n";

    final StringWriter out = new StringWriter();
    final StringWriter err = new StringWriter();

    static String dream() {
        return ReferencePackages.tinyDream().toString();
    }

    /** Runs {@code unmask args... --model tiny-dream -q --threads 1}; stdout and stderr fresh for each run. */
    int unmask(String... args) {
        out.getBuffer().setLength(0);
        err.getBuffer().setLength(0);
        CommandLine cli = Unmask.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        return cli.execute(Stream.concat(Stream.of(args), Stream.of("--model", dream(), "--threads", "1"))
                .toArray(String[]::new));
    }

    JsonNode generateJson(String... args) throws Exception {
        String[] all = Stream.concat(Stream.of("generate"), Stream.concat(Stream.of(args), Stream.of("--json", "-q")))
                .toArray(String[]::new);
        assertEquals(ExitCodes.OK, unmask(all), err.toString());
        return JSON.readTree(out.toString());
    }

    @Test
    void generate_with_the_packages_dream_defaults_is_deterministic_and_fills_the_region() throws Exception {
        // the manifest's defaults: alg origin, eps 1e-3, temperature 0, one block over the region; only the length set
        JsonNode first = generateJson("def add(a, b):", "--gen-length", "16", "--steps", "8");
        JsonNode again = generateJson("def add(a, b):", "--gen-length", "16", "--steps", "8");
        assertEquals(first, withoutTimes(again, first), "temperature 0 by default: the same text twice");
        assertTrue(first.get("completion_tokens").asInt() <= 16, first.toString());
        assertTrue(first.get("steps").asInt() <= 8, "at most the steps asked: " + first);
        assertFalse(first.get("text").asText().contains("<|mask|>"), "no mask left in the answer: " + first);
    }

    @Test
    void generate_takes_dreams_alg_alg_temp_and_eps_and_the_seed_decides_the_draw() throws Exception {
        String[] entropy = {
            "def add(a, b):",
            "--gen-length",
            "16",
            "--steps",
            "8",
            "--alg",
            "entropy",
            "--alg-temp",
            "0.5",
            "--eps",
            "0.01",
            "--temperature",
            "0.8"
        };
        JsonNode seed3 = generateJson(concat(entropy, "--seed", "3"));
        JsonNode seed3Again = generateJson(concat(entropy, "--seed", "3"));
        assertEquals(seed3.get("text"), seed3Again.get("text"), "the same seed, the same draws");
        List<String> others = new ArrayList<>();
        for (String seed : List.of("4", "5", "6")) {
            others.add(generateJson(concat(entropy, "--seed", seed)).get("text").asText());
        }
        assertTrue(
                others.stream().anyMatch(t -> !t.equals(seed3.get("text").asText())),
                "some other seed draws other tokens: " + seed3 + " " + others);

        // a bad value is refused in the flag's own words, before any model work
        assertEquals(ExitCodes.INVALID_INPUT, unmask("generate", "x", "--alg", "greedy", "-q"), err.toString());
        assertTrue(err.toString().contains("--alg"), err.toString());
        assertEquals(
                ExitCodes.INVALID_INPUT,
                unmask("generate", "x", "--gen-length", "8", "--eps", "1.5", "-q"),
                err.toString());
        assertTrue(err.toString().contains("--eps"), err.toString());
    }

    @Test
    void chat_renders_chatml_and_the_answer_holds_no_control_token() throws Exception {
        JsonNode chat = generateJson("Hello", "--chat", "--gen-length", "16", "--steps", "8");
        // the same prompt written out as ChatML and read with its control tokens gives the same canvas and tokens
        JsonNode written = generateJson(CHATML_HELLO, "--gen-length", "16", "--steps", "8");
        assertEquals(written.get("prompt_tokens"), chat.get("prompt_tokens"), "ChatML: " + chat + " vs " + written);
        assertEquals(written.get("text"), chat.get("text"));
        String text = chat.get("text").asText();
        assertFalse(text.contains("<|im_end|>") || text.contains("<|im_start|>"), "a turn ends at <|im_end|>: " + text);
        if (chat.get("completion_tokens").asInt() < 16) {
            assertEquals("stop", chat.get("finish_reason").asText(), "ended early only at an end token: " + chat);
        }
    }

    @Test
    void infill_keeps_the_prefix_and_the_suffix_around_the_middle() throws Exception {
        String prefix = "def square(x):\n    return ";
        String suffix = "\n\ndef cube(x):\n";
        assertEquals(
                ExitCodes.OK,
                unmask("infill", "--prefix", prefix, "--suffix", suffix, "--length", "8", "--steps", "8", "-q"),
                err.toString());
        String middle = out.toString().stripTrailing();
        assertEquals(
                ExitCodes.OK,
                unmask(
                        "infill",
                        "--prefix",
                        prefix,
                        "--suffix",
                        suffix,
                        "--length",
                        "8",
                        "--steps",
                        "8",
                        "--whole",
                        "-q"),
                err.toString());
        String whole = out.toString();
        assertTrue(whole.startsWith(prefix), whole);
        assertTrue(whole.stripTrailing().endsWith(suffix.stripTrailing()), whole);
        assertTrue(whole.contains(middle), "the middle printed alone is the one between: " + middle + " | " + whole);
        assertFalse(whole.contains("<|mask|>"), whole);
    }

    @Test
    void run_answers_a_one_shot_prompt_and_in_chat_mode_the_same_as_generate_chat() throws Exception {
        JsonNode generated = generateJson("Hello", "--chat", "--gen-length", "16", "--steps", "8");
        assertEquals(
                ExitCodes.OK,
                session("Hello\n/chat\nHello\n/bye\n", "--gen-length", "16", "--steps", "8", "--no-live"));
        assertEquals(2, err.toString().split(" steps, ", -1).length - 1, "both prompts answered: " + err);
        String[] answers = out.toString().split(RunCommand.PROMPT.strip(), -1);
        // ">>> " Hello-answer ">>> " "chat mode: on" ">>> " chat-answer ">>> "
        String chatAnswer = answers[3].strip();
        assertEquals(generated.get("text").asText().strip(), chatAnswer, out.toString());
        assertTrue(err.toString().contains("tiny-dream loaded"), err.toString());
    }

    @Test
    void bench_measures_the_dream_package_with_its_schedule() throws Exception {
        assertEquals(
                ExitCodes.OK,
                unmask("bench", "--gen-length", "16", "--steps", "8", "--warmup", "0", "--runs", "1", "--json"),
                err.toString());
        JsonNode bench = JSON.readTree(out.toString());
        assertEquals("tiny-dream", bench.get("model").asText());
        assertEquals(16, bench.get("gen_length").asInt());
        assertEquals(16, bench.get("block_length").asInt(), "Dream's schedule: one block over the whole region");
        assertEquals(8, bench.get("steps").asInt());
        assertTrue(bench.get("tokens_per_s").asDouble() > 0, bench.toString());
    }

    int session(String input, String... args) {
        out.getBuffer().setLength(0);
        err.getBuffer().setLength(0);
        RunCommand run = new RunCommand();
        run.in = new ByteArrayInputStream(input.getBytes(StandardCharsets.UTF_8));
        CommandLine cli = new CommandLine(run).setExecutionExceptionHandler(new ExitCodes());
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        return cli.execute(Stream.concat(Stream.of(args), Stream.of("--model", dream(), "--threads", "1"))
                .toArray(String[]::new));
    }

    /** {@code b} with {@code a}'s timings, so that two runs compare on what they generated. */
    static JsonNode withoutTimes(JsonNode b, JsonNode a) {
        com.fasterxml.jackson.databind.node.ObjectNode copy = b.deepCopy();
        copy.set("model_ms", a.get("model_ms"));
        copy.set("sampler_ms", a.get("sampler_ms"));
        return copy;
    }

    static String[] concat(String[] a, String... b) {
        return Stream.concat(Stream.of(a), Stream.of(b)).toArray(String[]::new);
    }
}
