package dev.unmask.packager.quant;

import static dev.unmask.packager.quant.QuantCliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.format.Manifests;
import dev.unmask.format.ModelPackage;
import dev.unmask.format.PackageManifest;
import dev.unmask.format.PackageManifest.Quality;
import dev.unmask.packager.ExitCode;
import dev.unmask.packager.Progress;
import dev.unmask.packager.TinyModel;
import dev.unmask.packager.arch.GraphOptions;
import dev.unmask.packager.onnx.WeightFormat;
import dev.unmask.packager.pack.ConvertRequest;
import dev.unmask.packager.pack.PackageWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --against}: what a quantized package costs against the fp32 package, on tiny-llada's held-out text, and the
 * gate that refuses to write a package below {@code --min-top1-agreement}.
 *
 * <p>The gate used here, 0.95, sits between what int8 measures on tiny-llada (about 0.99) and what int4 with blocks
 * of 128 measures (about 0.92); a smaller sample than the CLI default (8 windows, 2 prompts) keeps the test fast.
 */
class QualityGateTest {

    static final String GATE = "0.95";

    @TempDir
    static Path tmp;

    static Path reference;
    static Path heldOut;

    @BeforeAll
    static void packages() {
        // converted here: ReferencePackages' cache sits in a module downstream of the packager
        reference = tmp.resolve("tiny-llada");
        new PackageWriter(line -> {}, Progress.NONE)
                .convert(ConvertRequest.of(TinyModel.checkpoint(), reference, GraphOptions.of(WeightFormat.FP32))
                        .withName("tiny-llada"));
        heldOut = TinyModel.checkpoint().resolve("heldout");
    }

    static String[] against(String... args) {
        List<String> all = new java.util.ArrayList<>(List.of(args));
        all.addAll(List.of(
                "--against",
                reference.toString(),
                "--heldout",
                heldOut.toString(),
                "--windows",
                "8",
                "--prompts",
                "2"));
        return all.toArray(String[]::new);
    }

    @Test
    void int4WithBlocksOf128BelowTheGateExitsWithQualityGateAndWritesNoPackage() {
        Path out = tmp.resolve("int4-128");
        QuantCliTest.Run r = run(against(
                "quantize",
                reference.toString(),
                "--out",
                out.toString(),
                "--quant",
                "int4:block=128",
                "--min-top1-agreement",
                GATE));
        assertEquals(ExitCode.QUALITY_GATE.code(), r.exitCode(), r.err());
        assertTrue(
                r.err().contains("below --min-top1-agreement 0.9500") && r.err().contains("no package was written"),
                r.err());
        assertTrue(r.out().contains("| 0.25 |") && r.out().contains("FAILED"), "the table is printed: " + r.out());
        assertFalse(Files.exists(out), "no package");
        assertEquals(List.of(), leftovers("int4-128"), "no partial folder left behind");
    }

    @Test
    void convertWithQuantRunsTheGateBeforeThePackageIsRenamedIntoPlace() {
        Path out = tmp.resolve("converted-int4-128");
        QuantCliTest.Run r = run(against(
                "convert",
                "--from",
                TinyModel.checkpoint().toString(),
                "--out",
                out.toString(),
                "--quant",
                "int4:block=128",
                "--no-progress",
                "--min-top1-agreement",
                GATE));
        assertEquals(ExitCode.QUALITY_GATE.code(), r.exitCode(), r.err());
        assertFalse(Files.exists(out));
        assertEquals(List.of(), leftovers("converted-int4-128"));
    }

    @Test
    void int8PassesTheSameGateAndTheReportLandsInTheManifest() {
        Path out = tmp.resolve("int8");
        QuantCliTest.Run r = run(against(
                "quantize",
                reference.toString(),
                "--out",
                out.toString(),
                "--quant",
                "int8",
                "--min-top1-agreement",
                GATE));
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(
                r.out().contains("| t | masked tokens | top-1 agreement | mean KL (nats)")
                        && r.out().contains("passed"),
                r.out());

        PackageManifest m = ModelPackage.open(out).manifest(); // checksums still hold: quality is outside "files"
        Quality q = m.quality();
        assertNotNull(q, "manifest.quality");
        assertEquals("tiny-llada", q.reference().name());
        assertEquals(
                List.of(0.25, 0.5, 0.75),
                q.masked().stream().map(Quality.MaskedTokens::maskFraction).toList());
        for (Quality.MaskedTokens row : q.masked()) {
            assertTrue(row.top1Agreement() >= 0.95 && row.top1Agreement() <= 1, row.toString());
            assertTrue(row.meanKlNats() > 0 && row.meanKlNats() < 1e-2, row.toString());
            assertTrue(row.positions() > 0 && Double.isFinite(row.lossNats()), row.toString());
        }
        assertEquals(2, q.generations().prompts());
        assertEquals(0.95, q.minTop1Agreement());
    }

    @Test
    void verifyAgainstPrintsTheTableAndRecordsItOnlyWhenAsked() {
        Path int8 = tmp.resolve("int8-for-verify");
        new PackageQuantizer(QuantScheme.parse("int8"), HeadPrecision.parse("same"), s -> {})
                .quantize(reference, int8, false);

        QuantCliTest.Run plain = run(against("verify", int8.toString()));
        assertEquals(0, plain.exitCode(), plain.err());
        assertTrue(plain.out().contains("| 0.50 |") && plain.out().contains("Identical generations:"), plain.out());
        assertNull(Manifests.read(int8).quality(), "verify alone leaves the manifest as it is");

        QuantCliTest.Run recorded = run(against("verify", int8.toString(), "--record"));
        assertEquals(0, recorded.exitCode(), recorded.err());
        assertNotNull(ModelPackage.open(int8).manifest().quality());

        QuantCliTest.Run strict = run(against("verify", int8.toString(), "--min-top1-agreement", "1"));
        assertTrue(
                strict.exitCode() == ExitCode.QUALITY_GATE.code()
                        || strict.out().contains("passed"),
                "either int8 agrees everywhere or the gate of 1 fails it: " + strict.out());
    }

    @Test
    void aPackageMeasuredAgainstItselfAgreesEverywhereThroughItsFullLogitsView() {
        QualityVerifier v =
                new QualityVerifier(QualityVerifier.Settings.defaults(heldOut).withSample(4, 2), s -> {});
        Quality q = v.measure(reference, reference);
        for (Quality.MaskedTokens row : q.masked()) {
            assertEquals(1.0, row.top1Agreement());
            assertEquals(0.0, row.meanKlNats(), 1e-9);
            assertEquals(row.referenceLossNats(), row.lossNats(), 1e-9);
            assertTrue(row.referenceLossNats() > 0 && row.referenceLossNats() < Math.log(4096) + 1);
        }
        assertEquals(2, q.generations().identical());
        assertEquals("heldout: 4 windows of 256 tokens", q.data());
    }

    @Test
    void heldOutTextIsCutIntoWindowsRoundRobinOverTheFiles() {
        QualityVerifier v =
                new QualityVerifier(QualityVerifier.Settings.defaults(heldOut).withSample(12, 0), s -> {});
        PackageManifest m = Manifests.read(reference);
        try (dev.unmask.engine.text.Tokenizer tok =
                dev.unmask.engine.text.Tokenizer.load(reference.resolve("tokenizer.json"))) {
            List<long[]> w = v.windows(tok, m);
            assertEquals(12, w.size());
            for (long[] window : w) {
                assertEquals(256, window.length);
            }
            long bos = m.specialTokens().bos();
            assertTrue(
                    w.subList(0, 9).stream().allMatch(x -> x[0] == bos), "the first round starts each of the 9 files");
        }
    }

    @Test
    void aMissingHeldOutFolderIsAUsageErrorWithAnExample() {
        QuantCliTest.Run r = run(
                "verify",
                reference.toString(),
                "--against",
                reference.toString(),
                "--heldout",
                tmp.resolve("nope").toString());
        assertEquals(ExitCode.USAGE.code(), r.exitCode());
        assertTrue(r.err().contains("--heldout models/tiny-llada/heldout"), r.err());
    }

    private static List<Path> leftovers(String name) {
        try (Stream<Path> s = Files.list(tmp)) {
            return s.filter(p -> p.getFileName().toString().startsWith("." + name + "."))
                    .toList();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
