package dev.unmask.packager;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unmask.engine.model.HeadOutput;
import dev.unmask.engine.model.OnnxDenoiser;
import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.format.ModelPackage;
import dev.unmask.packager.arch.GraphOptions;
import dev.unmask.packager.onnx.WeightFormat;
import dev.unmask.packager.pack.ConvertRequest;
import dev.unmask.packager.pack.PackageWriter;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Converting tiny-llada and running the package in ONNX Runtime reproduces the PyTorch golden forward
 * (fixtures/forward.json): the top-1 id at every masked position, and the log-probabilities of the fixture's top-5
 * within 1e-4 nats in fp32 and 2e-2 nats in fp16 (fp16 weights, fp32 activations).
 */
class ForwardFixtureTest {

    static final double FP32_LOGPROB_TOLERANCE = 1e-4;
    static final double FP16_LOGPROB_TOLERANCE = 2e-2;

    @TempDir
    Path tmp;

    private Path convert(Path checkpoint, WeightFormat format, boolean fullLogits) {
        Path out = tmp.resolve("pkg-" + format + "-" + fullLogits);
        GraphOptions options = GraphOptions.of(format).withFullLogits(fullLogits);
        new PackageWriter(s -> {}, Progress.NONE).convert(ConvertRequest.of(checkpoint, out, options));
        return out;
    }

    @ParameterizedTest(name = "{0}: top-1 exact, log-probs within {1} nats")
    @CsvSource({"FP32, 1e-4", "FP16, 2e-2"})
    void packageReproducesTheGoldenForward(WeightFormat format, double logProbTolerance) {
        Path pkg = convert(TinyModel.checkpoint(), format, true);
        try (OnnxDenoiser model = OnnxDenoiser.load(ModelPackage.open(pkg), RuntimeOptions.defaults())) {
            double worst = 0;
            for (JsonNode c : TinyModel.forwardFixture().get("cases")) {
                String name = c.get("name").asText();
                long[] ids = longs(c.get("input_ids"));
                long[] masked = longs(c.get("masked_positions"));
                HeadOutput head =
                        model.forward(new long[][] {ids}, new long[][] {ones(ids.length)}, new long[][] {masked});
                assertEquals(masked.length, head.positions());
                for (int j = 0; j < masked.length; j++) {
                    JsonNode topIds = c.get("top5_ids").get(j);
                    JsonNode topLp = c.get("top5_logprobs").get(j);
                    assertEquals(
                            topIds.get(0).asLong(),
                            head.topkId(0, j, 0),
                            name + " position " + masked[j] + ": top-1 id");
                    for (int r = 0; r < 5; r++) {
                        double expected = topLp.get(r).asDouble();
                        double fromLogits =
                                head.logits()[j * head.vocab() + topIds.get(r).asInt()] - head.logsumexp(0, j);
                        worst = Math.max(worst, Math.abs(fromLogits - expected));
                    }
                    // the fused head agrees with the full logits it was computed from
                    assertEquals(
                            head.logProb(0, j, 0),
                            topLp.get(0).asDouble(),
                            logProbTolerance,
                            name + ": head log-prob of top-1");
                    assertEquals(entropyOf(head, j), head.entropy(0, j), 1e-4, name + ": entropy");
                }
            }
            System.out.printf("%s: worst |log-prob error| over the fixture's top-5 = %.3g nats%n", format, worst);
            assertTrue(
                    worst <= logProbTolerance, format + ": worst log-prob error " + worst + " > " + logProbTolerance);
        }
    }

    @Test
    void paddedRowsInABatchGiveTheSameHeadAsTheRowAlone() {
        Path pkg = convert(TinyModel.checkpoint(), WeightFormat.FP32, false);
        JsonNode cases = TinyModel.forwardFixture().get("cases");
        long[] shortIds = longs(cases.get(0).get("input_ids")); // 14 tokens
        long[] longIds = longs(cases.get(1).get("input_ids")); // 19 tokens
        long[] shortMasked = longs(cases.get(0).get("masked_positions"));
        try (OnnxDenoiser model = OnnxDenoiser.load(ModelPackage.open(pkg), RuntimeOptions.defaults())) {
            HeadOutput alone = model.forward(
                    new long[][] {shortIds}, new long[][] {ones(shortIds.length)}, new long[][] {shortMasked});
            long[] padded = Arrays.copyOf(shortIds, longIds.length);
            Arrays.fill(padded, shortIds.length, padded.length, 1L); // pad id, never attended to
            long[] mask = new long[longIds.length];
            Arrays.fill(mask, 0, shortIds.length, 1L);
            long[] heads2 = Arrays.copyOf(longs(cases.get(1).get("masked_positions")), shortMasked.length);
            HeadOutput batch = model.forward(
                    new long[][] {padded, longIds},
                    new long[][] {mask, ones(longIds.length)},
                    new long[][] {shortMasked, heads2});
            for (int j = 0; j < shortMasked.length; j++) {
                assertEquals(alone.topkId(0, j, 0), batch.topkId(0, j, 0), "padded row, position " + j);
                assertEquals(alone.logsumexp(0, j), batch.logsumexp(0, j), 1e-4, "padded row lse, position " + j);
                assertEquals(
                        alone.topkLogit(0, j, 0), batch.topkLogit(0, j, 0), 1e-4, "padded row logit, position " + j);
            }
        }
    }

    @Test
    void shardedCheckpointConvertsToTheSameModel() throws Exception {
        Path sharded = SafetensorsReaderTest.splitTinyIntoShards(tmp.resolve("sharded"));
        Path a = convert(TinyModel.checkpoint(), WeightFormat.FP32, false);
        Path b = tmp.resolve("pkg-sharded");
        new PackageWriter(s -> {}, Progress.NONE)
                .convert(ConvertRequest.of(sharded, b, GraphOptions.of(WeightFormat.FP32)));
        assertEquals(
                dev.unmask.format.Sha256.ofFile(a.resolve("model.onnx.data")),
                dev.unmask.format.Sha256.ofFile(b.resolve("model.onnx.data")),
                "identical weights");
    }

    /** -Σ p log p from the full logits, in double. */
    static double entropyOf(HeadOutput head, int j) {
        double lse = head.logsumexp(0, j);
        double h = 0;
        for (int v = 0; v < head.vocab(); v++) {
            double lp = head.logits()[j * head.vocab() + v] - lse;
            h -= Math.exp(lp) * lp;
        }
        return h;
    }

    static long[] ones(int n) {
        long[] a = new long[n];
        Arrays.fill(a, 1L);
        return a;
    }

    static long[] longs(JsonNode array) {
        long[] out = new long[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asLong();
        }
        return out;
    }
}
