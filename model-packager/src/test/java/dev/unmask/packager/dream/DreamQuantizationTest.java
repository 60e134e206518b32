package dev.unmask.packager.dream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.unmask.format.ModelPackage;
import dev.unmask.format.PackageManifest;
import dev.unmask.format.PackageManifest.Quality;
import dev.unmask.packager.Progress;
import dev.unmask.packager.TinyModel;
import dev.unmask.packager.arch.GraphOptions;
import dev.unmask.packager.cli.UnmaskPack;
import dev.unmask.packager.onnx.WeightFormat;
import dev.unmask.packager.pack.ConvertRequest;
import dev.unmask.packager.pack.PackageWriter;
import dev.unmask.testing.Repo;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * tiny-dream quantized as LLaDA is: int8 and int4 through `unmask-pack quantize` and `convert --quant`, each package
 * passing its self-test (the conversion fails otherwise) and measured against the fp32 package on held-out code
 * (the Python standard library windows tiny-llada's gate uses) at mask fractions 0.25 / 0.5 / 0.75, the report in
 * the manifest; the gate at 0.95 top-1 agreement lets int8 through.
 *
 * <p>The checkpoint is tiny-dream with {@code "alg": "maskgit_plus"} in its generation_config.json: the gate's greedy
 * generations load an engine with the package's defaults, and maskgit_plus (top-1 probability, LLaDA's
 * low_confidence) is what every engine decodes; tiny-dream's own {@code origin} is the engine's to test.
 */
class DreamQuantizationTest {

    static final String GATE = "0.95";

    @TempDir
    static Path tmp;

    static Path checkpoint;
    static Path reference;

    @BeforeAll
    static void convertTheFloatReference() throws IOException {
        checkpoint = Files.createDirectories(tmp.resolve("tiny-dream-maskgit"));
        try (var files = Files.list(Repo.tinyDreamCheckpoint())) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                Files.copy(f, checkpoint.resolve(f.getFileName()));
            }
        }
        ObjectMapper json = new ObjectMapper();
        Path generation = checkpoint.resolve("generation_config.json");
        ObjectNode g = (ObjectNode) json.readTree(generation.toFile());
        json.writeValue(generation.toFile(), g.put("alg", "maskgit_plus"));
        reference = tmp.resolve("tiny-dream");
        new PackageWriter(line -> {}, Progress.NONE)
                .convert(ConvertRequest.of(checkpoint, reference, GraphOptions.of(WeightFormat.FP32))
                        .withName("tiny-dream"));
    }

    record Run(int exitCode, String out, String err) {}

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = UnmaskPack.newCommandLine();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        return new Run(cl.execute(args), out.toString(), err.toString());
    }

    static List<String> gate(String... args) {
        List<String> all = new java.util.ArrayList<>(List.of(args));
        all.addAll(List.of(
                "--against",
                reference.toString(),
                "--heldout",
                TinyModel.checkpoint().resolve("heldout").toString(),
                "--windows",
                "8",
                "--prompts",
                "2"));
        return all;
    }

    @Test
    void int8PassesTheGateAndTheReportLandsInTheManifest() {
        Path out = tmp.resolve("int8");
        Run r = run(gate(
                        "quantize",
                        reference.toString(),
                        "--out",
                        out.toString(),
                        "--quant",
                        "int8",
                        "--min-top1-agreement",
                        GATE)
                .toArray(String[]::new));
        assertEquals(0, r.exitCode(), r.err());
        System.out.println("tiny-dream int8:\n" + r.out());
        PackageManifest m = ModelPackage.open(out).manifest();
        assertEquals("dream", m.architecture().family());
        assertTrue(m.architecture().logitsShift(), "quantizing keeps the architecture record");
        assertNotNull(m.selfTest(), "the quantized package carries a self-test");
        Quality q = m.quality();
        assertNotNull(q, "manifest.quality");
        assertEquals(
                List.of(0.25, 0.5, 0.75),
                q.masked().stream().map(Quality.MaskedTokens::maskFraction).toList());
        for (Quality.MaskedTokens row : q.masked()) {
            assertTrue(row.top1Agreement() >= 0.95, row.toString());
            assertTrue(row.meanKlNats() > 0 && row.meanKlNats() < 1e-2, row.toString());
        }
    }

    @Test
    void int4ConvertsWithItsSelfTestAndIsMeasuredAgainstFp32() {
        Path out = tmp.resolve("int4");
        Run r = run(gate(
                        "convert",
                        "--from",
                        checkpoint.toString(),
                        "--out",
                        out.toString(),
                        "--quant",
                        "int4",
                        "--no-progress",
                        "--min-top1-agreement",
                        "0")
                .toArray(String[]::new));
        assertEquals(0, r.exitCode(), r.err());
        System.out.println("tiny-dream int4:\n" + r.out());
        PackageManifest m = ModelPackage.open(out).manifest();
        assertEquals("int4:block=32:sym:acc=4", m.precision().quantization());
        assertNotNull(m.selfTest(), "the self-test ran and passed");
        for (Quality.MaskedTokens row : m.quality().masked()) {
            // int4 on a 6-layer model is lossy but far from chance (1/4096); int8 holds the 0.95 gate
            assertTrue(row.top1Agreement() >= 0.6, row.toString());
            assertTrue(Double.isFinite(row.meanKlNats()), row.toString());
        }
    }
}
