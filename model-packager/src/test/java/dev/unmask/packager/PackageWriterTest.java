package dev.unmask.packager;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.engine.model.OnnxDenoiser;
import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.engine.model.SelfTest;
import dev.unmask.format.GraphSignature;
import dev.unmask.format.Manifests;
import dev.unmask.format.ModelPackage;
import dev.unmask.format.PackageManifest;
import dev.unmask.format.Sha256;
import dev.unmask.packager.arch.GraphOptions;
import dev.unmask.packager.onnx.WeightFormat;
import dev.unmask.packager.pack.ConvertRequest;
import dev.unmask.packager.pack.PackageWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The package the writer produces: its manifest and its self-test. (What the loader checks on any package is tested
 * with the format, in package-format's ModelPackageTest.)
 */
class PackageWriterTest {

    @TempDir
    static Path shared;

    static Path pkg;

    @TempDir
    Path tmp;

    @BeforeAll
    static void convertOnce() {
        pkg = shared.resolve("tiny-llada");
        new PackageWriter(s -> {}, Progress.NONE)
                .convert(ConvertRequest.of(TinyModel.checkpoint(), pkg, GraphOptions.of(WeightFormat.FP32)));
    }

    @Test
    void manifestDescribesThePackage() {
        PackageManifest m = Manifests.read(pkg);
        assertEquals("tiny-llada", m.name());
        assertEquals(PackageManifest.CURRENT_FORMAT_VERSION, m.formatVersion());
        assertEquals(6, m.architecture().layers());
        assertEquals(2, m.architecture().kvHeads());
        assertEquals(new PackageManifest.SpecialTokens(3, 1, 2, 0, 1), m.specialTokens());
        assertEquals(new PackageManifest.Precision("fp32", "none"), m.precision());
        assertEquals(32, m.generationDefaults().blockLength());
        assertTrue(m.chatTemplate().contains("<|start_header_id|>"), "chat template from tokenizer_config.json");
        assertEquals(
                java.util.Set.of("model.onnx", "model.onnx.data", "tokenizer.json"),
                m.files().keySet());
        for (Map.Entry<String, PackageManifest.FileEntry> f : m.files().entrySet()) {
            assertEquals(Sha256.ofFile(pkg.resolve(f.getKey())), f.getValue().sha256(), f.getKey());
        }
        assertEquals(
                Sha256.ofFile(TinyModel.checkpoint().resolve("model.safetensors")),
                m.source().files().get("model.safetensors"));
        assertEquals(8, m.graph().topK());
        assertEquals(
                java.util.List.of("topk_ids", "topk_logits", "logsumexp", "entropy"),
                m.graph().outputs().stream()
                        .map(PackageManifest.TensorSpec::name)
                        .limit(4)
                        .toList());
        assertEquals(new PackageManifest.KvCache(6, 64, "float32"), m.graph().kvCache());
        assertEquals(GraphSignature.inputs(m.graph().kvCache()), m.graph().inputs());
        assertEquals(
                4 + 2 * 6, m.graph().outputs().size(), "the head's outputs, then present keys and values per layer");
    }

    @Test
    void selfTestIsStoredAndPasses() {
        PackageManifest m = Manifests.read(pkg);
        assertNotNull(m.selfTest());
        assertEquals(
                m.specialTokens().mask(),
                m.selfTest().inputIds()[0][(int) m.selfTest().headPositions()[0][0]]);
        try (OnnxDenoiser model = OnnxDenoiser.load(ModelPackage.open(pkg), RuntimeOptions.defaults())) {
            SelfTest.Result r = SelfTest.run(model);
            assertTrue(r.passed(), r.summary());
            assertEquals(6, r.checked());
        }
    }

    @Test
    void selfTestFailsWhenTheExpectedIdsAreWrong() {
        PackageManifest.SelfTest t = Manifests.read(pkg).selfTest();
        long[][] wrong = {t.expectedTop1()[0].clone()};
        wrong[0][0] = (wrong[0][0] + 1) % 4096;
        try (OnnxDenoiser model = OnnxDenoiser.load(ModelPackage.open(pkg), RuntimeOptions.defaults())) {
            SelfTest.Result r =
                    SelfTest.run(model, new PackageManifest.SelfTest(t.inputIds(), t.headPositions(), wrong));
            assertFalse(r.passed());
            assertTrue(r.summary().contains("expected " + wrong[0][0]), r.summary());
        }
    }

    @Test
    void anExistingOutputIsNeverOverwrittenWithoutReplace() throws IOException {
        Path out = tmp.resolve("existing");
        Files.createDirectories(out);
        Files.writeString(out.resolve("keep.txt"), "mine");
        PackagerException e = assertThrows(
                PackagerException.class,
                () -> new PackageWriter(s -> {}, Progress.NONE)
                        .convert(ConvertRequest.of(TinyModel.checkpoint(), out, GraphOptions.of(WeightFormat.FP32))));
        assertEquals(ExitCode.IO, e.exitCode());
        assertTrue(e.getMessage().contains("--force"), e.getMessage());
        assertEquals("mine", Files.readString(out.resolve("keep.txt")));

        new PackageWriter(s -> {}, Progress.NONE)
                .convert(ConvertRequest.of(TinyModel.checkpoint(), out, GraphOptions.of(WeightFormat.FP32))
                        .withReplace(true));
        assertFalse(Files.exists(out.resolve("keep.txt")), "replaced as a whole");
        ModelPackage.open(out);
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(
                    0, s.filter(p -> p.getFileName().toString().startsWith(".")).count(), "no leftovers");
        }
    }

    @Test
    void topKAndSkippedSelfTestAreRecorded() {
        Path out = tmp.resolve("k3");
        new PackageWriter(s -> {}, Progress.NONE)
                .convert(ConvertRequest.of(
                                TinyModel.checkpoint(),
                                out,
                                GraphOptions.of(WeightFormat.FP16).withTopK(3))
                        .withSelfTest(false)
                        .withName("tiny-k3"));
        PackageManifest m = ModelPackage.open(out).manifest();
        assertEquals("tiny-k3", m.name());
        assertEquals(3, m.graph().topK());
        assertEquals("fp16", m.precision().dtype());
        assertEquals(null, m.selfTest());
        try (OnnxDenoiser model = OnnxDenoiser.load(ModelPackage.open(out), RuntimeOptions.defaults())) {
            var head = model.forward(new long[][] {{0, 3, 3}}, new long[][] {{1, 1, 1}}, new long[][] {{1, 2}});
            assertEquals(3, head.topK());
            assertTrue(head.topkLogit(0, 0, 0) >= head.topkLogit(0, 0, 1), "best first");
        }
    }
}
