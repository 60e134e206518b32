package dev.unmask.packager.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.packager.ExitCode;
import dev.unmask.packager.TinyModel;
import dev.unmask.packager.cli.UnmaskPack;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code unmask-pack convert --quant …} and {@code unmask-pack quantize …} as a user types them. */
class QuantCliTest {

    @TempDir
    Path tmp;

    record Run(int exitCode, String out, String err) {}

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = UnmaskPack.newCommandLine();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void convertWithQuantWritesAQuantizedPackage() {
        Run r = run(
                "convert",
                "--from",
                TinyModel.checkpoint().toString(),
                "--out",
                tmp.resolve("int4").toString(),
                "--quant",
                "int4:block=64",
                "--quant-head",
                "int8",
                "--no-progress");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("int4:block=64:sym:acc=4;head=int8:block=64:sym:acc=4"), r.out());
    }

    @Test
    void aBadSchemeIsAUsageErrorThatShowsExamples() {
        Run r = run(
                "convert",
                "--from",
                TinyModel.checkpoint().toString(),
                "--out",
                tmp.resolve("x").toString(),
                "--quant",
                "int4:block=48",
                "--no-progress");
        assertEquals(ExitCode.USAGE.code(), r.exitCode());
        assertTrue(
                r.err().contains("block=32, block=64 or block=128") && r.err().contains("int4:block=128"), r.err());
    }

    @Test
    void quantizeTurnsAFloatPackageIntoAQuantizedOneAndRefusesToQuantizeTwice() {
        Path fp32 = tmp.resolve("fp32");
        assertEquals(
                0,
                run("convert", "--from", TinyModel.checkpoint().toString(), "--out", fp32.toString(), "--no-progress")
                        .exitCode());
        Run once = run(
                "quantize",
                fp32.toString(),
                "--out",
                tmp.resolve("int8").toString(),
                "--quant",
                "int8",
                "--quant-head",
                "float");
        assertEquals(0, once.exitCode(), once.err());
        assertTrue(once.out().contains("42 MatMulNBits"), once.out());
        assertEquals(0, run("verify", tmp.resolve("int8").toString()).exitCode());

        Run twice = run(
                "quantize",
                tmp.resolve("int8").toString(),
                "--out",
                tmp.resolve("again").toString());
        assertEquals(ExitCode.USAGE.code(), twice.exitCode());
        assertTrue(twice.err().contains("already quantized"), twice.err());
    }
}
