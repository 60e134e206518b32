package dev.unmask.packager.dream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unmask.engine.model.HeadOutput;
import dev.unmask.engine.model.OnnxDenoiser;
import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.format.ModelPackage;
import dev.unmask.format.PackageManifest;
import dev.unmask.packager.Progress;
import dev.unmask.packager.arch.GraphOptions;
import dev.unmask.packager.onnx.WeightFormat;
import dev.unmask.packager.pack.ConvertRequest;
import dev.unmask.packager.pack.PackageWriter;
import dev.unmask.testing.Repo;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Converting models/tiny-dream and running the package in ONNX Runtime reproduces its fixtures/forward.json, made by
 * an independent PyTorch forward written from Dream's modeling code (not from our graph): at every masked position
 * the top-1 id, and the log-probabilities of the fixture's top-5 within 1e-4 nats in fp32 (2e-2 in fp16, as for
 * LLaDA: fp16 weights and fp32 biases, fp32 activations). The fixture's logits are Dream's
 * shifted ones (position i from hidden state i-1), so the test fails if the graph's shift is missing or doubled.
 */
class DreamForwardParityTest {

    static final double FP32_LOGPROB_TOLERANCE = 1e-4;
    static final double FP16_LOGPROB_TOLERANCE = 2e-2;

    @TempDir
    static Path tmp;

    static Path pkg;

    @BeforeAll
    static void convert() {
        pkg = tmp.resolve("tiny-dream");
        new PackageWriter(s -> {}, Progress.NONE)
                .convert(ConvertRequest.of(
                        Repo.tinyDreamCheckpoint(),
                        pkg,
                        GraphOptions.of(WeightFormat.FP32).withFullLogits(true)));
    }

    static JsonNode fixture() {
        return Repo.json(Repo.tinyDreamCheckpoint().resolve("fixtures/forward.json"));
    }

    @Test
    void theManifestDescribesADreamPackage() {
        PackageManifest m = ModelPackage.open(pkg).manifest();
        assertEquals("dream", m.architecture().family());
        assertEquals("Dream", m.architecture().modelType());
        assertTrue(m.architecture().logitsShift());
        assertEquals(fixture().get("mask_token_id").asInt(), m.specialTokens().mask());
        assertTrue(m.chatTemplate() != null && m.chatTemplate().contains("<|im_start|>"), "ChatML template");
        assertTrue(m.specialTokens().eot() != null, "<|im_end|> as end of turn");
        assertEquals("timesteps", m.generationDefaults().schedule());
        assertTrue(m.selfTest() != null, "the self-test ran and passed");
    }

    @Test
    void thePackageReproducesTheIndependentForwardWithin1e4Nats() {
        assertMatchesTheFixture(pkg, "fp32", FP32_LOGPROB_TOLERANCE);
    }

    @Test
    void anFp16PackageKeepsItsBiasesFloatAndStaysWithin2e2Nats() {
        Path fp16 = tmp.resolve("tiny-dream-fp16");
        new PackageWriter(s -> {}, Progress.NONE)
                .convert(ConvertRequest.of(
                        Repo.tinyDreamCheckpoint(),
                        fp16,
                        GraphOptions.of(WeightFormat.FP16).withFullLogits(true)));
        assertMatchesTheFixture(fp16, "fp16", FP16_LOGPROB_TOLERANCE);
    }

    private static void assertMatchesTheFixture(Path pkg, String label, double tolerance) {
        try (OnnxDenoiser model = OnnxDenoiser.load(ModelPackage.open(pkg), RuntimeOptions.defaults())) {
            double worst = 0;
            int positions = 0;
            for (JsonNode c : fixture().get("cases")) {
                String name = c.get("name").asText();
                long[] ids = Repo.longs(c.get("input_ids"));
                long[] masked = Repo.longs(c.get("masked_positions"));
                HeadOutput head =
                        model.forward(new long[][] {ids}, new long[][] {ones(ids.length)}, new long[][] {masked});
                for (int j = 0; j < masked.length; j++) {
                    JsonNode topIds = c.get("top5_ids").get(j);
                    JsonNode topLp = c.get("top5_logprobs").get(j);
                    assertEquals(
                            topIds.get(0).asLong(),
                            head.topkId(0, j, 0),
                            name + " position " + masked[j] + ": top-1 id");
                    for (int r = 0; r < 5; r++) {
                        double expected = topLp.get(r).asDouble();
                        double actual =
                                head.logits()[j * head.vocab() + topIds.get(r).asInt()] - head.logsumexp(0, j);
                        worst = Math.max(worst, Math.abs(actual - expected));
                    }
                    positions++;
                }
            }
            System.out.printf(
                    "tiny-dream %s: worst |log-prob error| over the fixture's top-5 at %d positions = %.3g nats%n",
                    label, positions, worst);
            assertTrue(positions > 0, "the fixture has masked positions");
            assertTrue(worst <= tolerance, label + ": worst log-prob error " + worst + " nats");
        }
    }

    static long[] ones(int n) {
        long[] a = new long[n];
        Arrays.fill(a, 1L);
        return a;
    }
}
