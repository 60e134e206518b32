package dev.unmask.packager;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.packager.cli.UnmaskPack;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code unmask-pack} through picocli: exit codes and messages, as a user sees them. */
class CliTest {

    @TempDir
    Path tmp;

    record Run(int exitCode, String out, String err) {}

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = UnmaskPack.newCommandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void helpOfEveryCommandListsTheExitCodes() {
        for (String[] args :
                new String[][] {{"--help"}, {"convert", "--help"}, {"inspect", "--help"}, {"verify", "--help"}}) {
            Run r = run(args);
            assertEquals(0, r.exitCode(), String.join(" ", args));
            assertTrue(r.out().contains("Exit codes:") && r.out().contains("checksum mismatch"), r.out());
        }
        assertTrue(run("convert", "--help").out().contains("--dtype"));
    }

    @Test
    void convertInspectVerifyRoundTrip() {
        Path out = tmp.resolve("pkg");
        Run convert =
                run("convert", "--from", TinyModel.checkpoint().toString(), "--out", out.toString(), "--dtype", "fp16");
        assertEquals(0, convert.exitCode(), convert.err());
        assertTrue(convert.err().contains("chosen: dtype fp16"), convert.err());
        assertTrue(convert.err().contains("57/57 tensors"), "progress bar reaches the end: " + convert.err());
        assertTrue(convert.out().contains("Wrote package tiny-llada (fp16, none)"), convert.out());

        Run inspect = run("inspect", out.toString());
        assertEquals(0, inspect.exitCode(), inspect.err());
        assertTrue(
                inspect.out().contains("head_positions")
                        && inspect.out().contains("model.onnx.data")
                        && inspect.out().contains("sha256"),
                inspect.out());

        Run verify = run("verify", out.toString());
        assertEquals(0, verify.exitCode(), verify.err());
        assertTrue(verify.out().contains("self-test passed"), verify.out());
    }

    @Test
    void convertTakesTheCheckpointAsItsFirstArgumentToo() {
        Path out = tmp.resolve("positional");
        Run convert = run("convert", TinyModel.checkpoint().toString(), "--out", out.toString(), "--no-progress");
        assertEquals(0, convert.exitCode(), convert.err());
        assertTrue(Files.isRegularFile(out.resolve("manifest.json")), convert.out());

        Run both = run(
                "convert",
                TinyModel.checkpoint().toString(),
                "--from",
                tmp.toString(),
                "--out",
                tmp.resolve("both").toString());
        assertEquals(2, both.exitCode(), "two different checkpoints named: " + both.err());
        assertTrue(both.err().contains("Name the checkpoint once"), both.err());
        Run none = run("convert", "--out", tmp.resolve("none").toString());
        assertEquals(2, none.exitCode());
        assertTrue(none.err().contains("e.g. unmask-pack convert models/tiny-llada"), none.err());
    }

    /**
     * The real {@code unmask-pack} process, as a user runs it: every line on stderr is one of its own (led by
     * {@code unmask-pack:}) or the progress bar; no two-line JUL record (a date line, then {@code INFO:}) and no SLF4J
     * warning.
     */
    @Test
    void convertPrintsOneLineRecordsOnly() throws Exception {
        Path out = tmp.resolve("logged");
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Process p = new ProcessBuilder(
                        javaBin,
                        "-cp",
                        cp,
                        UnmaskPack.class.getName(),
                        "convert",
                        TinyModel.checkpoint().toString(),
                        "--out",
                        out.toString())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), err);
        assertTrue(err.contains("unmask-pack: Loaded tiny-llada"), "the engine's load record, on one line: " + err);
        for (String line : err.lines().toList()) {
            assertTrue(line.startsWith("unmask-pack: ") || line.startsWith("["), "a line of its own: " + line);
        }
        assertFalse(err.contains("SLF4J"), err);
    }

    @Test
    void usageErrorsExitWith2() {
        assertEquals(2, run("convert", "--out", tmp.resolve("x").toString()).exitCode(), "missing --from");
        Run badDtype = run(
                "convert",
                "--from",
                TinyModel.checkpoint().toString(),
                "--out",
                tmp.resolve("y").toString(),
                "--dtype",
                "fp8");
        assertEquals(2, badDtype.exitCode());
        assertTrue(badDtype.err().contains("fp32 or fp16"), badDtype.err());
        assertEquals(2, run("frobnicate").exitCode());
        assertFalse(Files.exists(tmp.resolve("y")));
    }

    @Test
    void badCheckpointExitsWith3() throws IOException {
        Path ckpt = SafetensorsSurgery.copyTiny(tmp.resolve("ckpt"));
        Path config = ckpt.resolve("config.json");
        Files.writeString(config, Files.readString(config).replace("\"llada\"", "\"dream\""));
        Run r = run(
                "convert",
                "--from",
                ckpt.toString(),
                "--out",
                tmp.resolve("pkg").toString(),
                "--no-progress");
        assertEquals(3, r.exitCode());
        assertTrue(r.err().contains("model_type 'dream'"), r.err());
        assertFalse(Files.exists(tmp.resolve("pkg")));
    }

    @Test
    void existingOutputExitsWith5AndCorruptPackageWith4() throws IOException {
        Path out = tmp.resolve("pkg");
        assertEquals(
                0,
                run("convert", "--from", TinyModel.checkpoint().toString(), "--out", out.toString(), "--no-progress")
                        .exitCode());
        Run again =
                run("convert", "--from", TinyModel.checkpoint().toString(), "--out", out.toString(), "--no-progress");
        assertEquals(5, again.exitCode());
        assertTrue(again.err().contains("already exists"), again.err());

        Path tokenizer = out.resolve("tokenizer.json");
        Files.writeString(tokenizer, Files.readString(tokenizer).replace("<|endoftext|>", "<|endoftexT|>"));
        Run verify = run("verify", out.toString());
        assertEquals(4, verify.exitCode());
        assertTrue(verify.err().contains("tokenizer.json") && verify.err().contains("checksum"), verify.err());

        Run inspectNothing = run("inspect", tmp.resolve("nowhere").toString());
        assertEquals(4, inspectNothing.exitCode());
        assertTrue(inspectNothing.err().contains("No manifest.json"), inspectNothing.err());
    }
}
