package dev.unmask.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unmask.testing.ReferencePackages;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The `unmask` command line on the bundled fp32 package: text on stdout, messages on stderr, one exit code per failure. */
class UnmaskCommandTest {

    final StringWriter out = new StringWriter();
    final StringWriter err = new StringWriter();

    /** The fp32 tiny-llada package, converted once from models/tiny-llada (a clean clone has none built). */
    static String bundled() {
        return ReferencePackages.tinyLlada().toString();
    }

    int run(String... args) {
        CommandLine cli = Unmask.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        return cli.execute(args);
    }

    @AfterEach
    void clearHome() {
        System.clearProperty(ModelOptions.HOME_PROPERTY);
    }

    @Test
    void generate_prints_the_text_on_stdout_and_timings_on_stderr() {
        assertEquals(
                0,
                run(
                        "generate",
                        "def add(a, b):",
                        "--model",
                        bundled(),
                        "--gen-length",
                        "16",
                        "--steps",
                        "16",
                        "--threads",
                        "2"));
        assertTrue(
                err.toString().contains("16 tokens in 16 steps")
                        || err.toString().contains("finish: stop"),
                err.toString());
        assertTrue(out.toString().endsWith("\n"));
    }

    @Test
    void generate_without_a_model_uses_the_bundled_package(@TempDir Path home) throws IOException {
        Path bundledDir = home.resolve(ModelOptions.BUNDLED_PACKAGE);
        Files.createDirectories(bundledDir);
        try (Stream<Path> files = Files.list(Path.of(bundled()))) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.copy(f, bundledDir.resolve(f.getFileName()));
            }
        }
        System.setProperty(ModelOptions.HOME_PROPERTY, home.toString());
        assertEquals(0, run("generate", "import", "--gen-length", "8", "--steps", "8", "-q"));
        assertEquals("", err.toString());
    }

    @Test
    void json_output_carries_text_reason_and_counts() throws Exception {
        assertEquals(
                0,
                run(
                        "generate",
                        "x =",
                        "--model",
                        bundled(),
                        "--gen-length",
                        "8",
                        "--steps",
                        "4",
                        "--block-length",
                        "4",
                        "--json",
                        "-q",
                        "--no-early-exit"));
        JsonNode json = new ObjectMapper().readTree(out.toString());
        assertEquals(4, json.get("steps").asInt());
        assertTrue(json.has("text") && json.has("finish_reason") && json.has("model_ms"));
    }

    @Test
    void chat_and_sampling_options_run() {
        assertEquals(
                0,
                run(
                        "generate",
                        "Hello",
                        "--chat",
                        "--model",
                        bundled(),
                        "--gen-length",
                        "8",
                        "--steps",
                        "8",
                        "--temperature",
                        "0.8",
                        "--top-k",
                        "4",
                        "--seed",
                        "3",
                        "--threshold",
                        "0.9",
                        "-q"));
    }

    @Test
    void infill_writes_the_middle_and_fills_placeholders() {
        assertEquals(
                0,
                run(
                        "infill",
                        "--prefix",
                        "def square(x):\n",
                        "--suffix",
                        "\n\ndef cube(x):\n",
                        "--length",
                        "8",
                        "--model",
                        bundled(),
                        "-q",
                        "--whole"));
        assertTrue(out.toString().startsWith("def square(x):\n"), out.toString());
        out.getBuffer().setLength(0);
        assertEquals(
                0, run("infill", "--text", "x = <|mdm_mask|><|mdm_mask|>\n", "--model", bundled(), "-q", "--whole"));
        assertTrue(out.toString().startsWith("x = "), out.toString());
    }

    @Test
    void bench_reports_throughput_and_the_step_time_split() {
        assertEquals(
                0,
                run(
                        "bench",
                        "--model",
                        bundled(),
                        "--gen-length",
                        "8",
                        "--steps",
                        "8",
                        "--warmup",
                        "0",
                        "--runs",
                        "1",
                        "--threads",
                        "2"));
        assertTrue(out.toString().contains("tokens/s") && out.toString().contains("sampler"), out.toString());
    }

    @Test
    void invalid_values_exit_3_with_the_reason() {
        assertEquals(
                ExitCodes.INVALID_INPUT,
                run("generate", "x", "--model", bundled(), "--gen-length", "40", "--steps", "33"));
        assertTrue(
                err.toString()
                        .contains(
                                "--steps must be a multiple of the number of blocks, 2 (2 blocks of 32 (the last one 8)), "
                                        + "e.g. --steps 32; got 33"),
                err.toString());
        assertEquals(ExitCodes.INVALID_INPUT, run("generate", "x", "--model", bundled(), "--steps", "1000"));
        assertEquals(ExitCodes.INVALID_INPUT, run("generate", "x", "--model", bundled(), "--remasking", "lowest"));
        assertTrue(err.toString().contains("low_confidence, random"), err.toString());
        assertEquals(ExitCodes.INVALID_INPUT, run("generate", "x", "--model", bundled(), "--cfg-scale", "1"));
        assertEquals(ExitCodes.INVALID_INPUT, run("infill", "--prefix", "x", "--model", bundled()));
    }

    @Test
    void dreams_decoding_runs_on_a_llada_package_and_its_flags_are_checked_in_their_words() {
        assertEquals(
                0,
                run(
                        "generate",
                        "x",
                        "--model",
                        bundled(),
                        "--gen-length",
                        "8",
                        "--steps",
                        "8",
                        "--alg",
                        "entropy",
                        "--alg-temp",
                        "0.5",
                        "--eps",
                        "0.01",
                        "-q"));
        assertEquals(
                0,
                run(
                        "generate",
                        "x",
                        "--model",
                        bundled(),
                        "--gen-length",
                        "8",
                        "--steps",
                        "4",
                        "--alg",
                        "origin",
                        "-q"));
        assertEquals(ExitCodes.INVALID_INPUT, run("generate", "x", "--model", bundled(), "--eps", "0.01"));
        assertTrue(
                err.toString().contains("--eps must be left out with this package's even (LLaDA) schedule"),
                err.toString());
        assertEquals(ExitCodes.INVALID_INPUT, run("generate", "x", "--model", bundled(), "--alg", "greedy"));
        assertTrue(err.toString().contains("use one of origin, maskgit_plus, topk_margin, entropy"), err.toString());
        assertEquals(
                ExitCodes.INVALID_INPUT,
                run("generate", "x", "--model", bundled(), "--alg", "entropy", "--alg-temp", "-1"));
        assertTrue(
                err.toString().contains("--alg-temp must be 0 (off) or positive and finite, e.g. --alg-temp 0.5"),
                err.toString());
    }

    @Test
    void a_missing_package_exits_4_and_says_how_to_build_the_bundled_one(@TempDir Path empty) throws Exception {
        assertEquals(
                ExitCodes.BAD_PACKAGE,
                run("generate", "x", "--model", empty.resolve("nope").toString()));
        assertTrue(err.toString().contains("nope"), err.toString());
        // a repository (its checkpoint is there) whose bundled package is not built; away from one, NoModelTest
        Path checkpoint = empty.resolve("models/tiny-llada");
        assertTrue(checkpoint.toFile().mkdirs()
                && checkpoint.resolve("config.json").toFile().createNewFile());
        System.setProperty(ModelOptions.HOME_PROPERTY, empty.toString());
        assertEquals(ExitCodes.BAD_PACKAGE, run("generate", "x"));
        assertTrue(err.toString().contains(ModelOptions.BUILD_BUNDLED), err.toString());
    }

    @Test
    void usage_errors_exit_2() {
        java.io.InputStream stdin = System.in;
        System.setIn(new java.io.ByteArrayInputStream(new byte[0])); // no prompt, and an empty pipe
        try {
            assertEquals(ExitCodes.USAGE, run("generate"));
        } finally {
            System.setIn(stdin);
        }
        assertEquals(ExitCodes.USAGE, run("generate", "x", "--no-such-option"));
    }
}
