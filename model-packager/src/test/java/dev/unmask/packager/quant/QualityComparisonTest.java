package dev.unmask.packager.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unmask.engine.model.OnnxDenoiser;
import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.format.ModelPackage;
import dev.unmask.packager.Progress;
import dev.unmask.packager.TinyModel;
import dev.unmask.packager.arch.GraphOptions;
import dev.unmask.packager.onnx.WeightFormat;
import dev.unmask.packager.pack.ConvertRequest;
import dev.unmask.packager.pack.PackageWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Top-1 agreement, KL and masked-token loss between a reference and a candidate package, on the fixture texts. */
class QualityComparisonTest {

    @TempDir
    static Path tmp;

    static Path fp32;
    static Path int4;
    static List<long[]> texts;

    @BeforeAll
    static void packages() {
        fp32 = convert("fp32", GraphOptions.of(WeightFormat.FP32).withFullLogits(true));
        int4 = convert(
                "int4",
                GraphOptions.of(WeightFormat.FP32)
                        .withFullLogits(true)
                        .withLinear(new MatMulNBitsLinear(QuantScheme.parse("int4"), WeightFormat.FP32)));
        texts = new ArrayList<>();
        for (JsonNode c : TinyModel.forwardFixture().get("cases")) { // the fixture canvases with the truth put back
            long[] ids = new long[c.get("input_ids").size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = c.get("input_ids").get(i).asLong();
            }
            for (int j = 0; j < c.get("masked_positions").size(); j++) {
                ids[c.get("masked_positions").get(j).asInt()] =
                        c.get("original_ids").get(j).asLong();
            }
            texts.add(ids);
        }
    }

    @Test
    void aModelComparedWithItselfAgreesEverywhereWithZeroKl() {
        try (OnnxDenoiser a = open(fp32);
                OnnxDenoiser b = open(fp32)) {
            QualityComparison.Metrics m = QualityComparison.compare(a, b, texts, 0.5, 7);
            assertEquals(1.0, m.top1Agreement());
            assertEquals(0.0, m.meanKlNats(), 1e-9);
            assertEquals(m.referenceLossNats(), m.candidateLossNats(), 1e-9);
            assertEquals(Math.round(0.5 * 14) + Math.round(0.5 * 19) * 2, m.positions());
        }
    }

    @Test
    void int4IsMeasuredAtEveryMaskFraction() {
        try (OnnxDenoiser a = open(fp32);
                OnnxDenoiser b = open(int4)) {
            for (double t : new double[] {0.25, 0.5, 0.75}) {
                QualityComparison.Metrics m = QualityComparison.compare(a, b, texts, t, 7);
                System.out.printf(
                        "int4 vs fp32 at t=%.2f: top-1 %.3f, KL %.2e nats, loss %.4f vs %.4f nats (%d positions)%n",
                        t,
                        m.top1Agreement(),
                        m.meanKlNats(),
                        m.candidateLossNats(),
                        m.referenceLossNats(),
                        m.positions());
                assertTrue(m.meanKlNats() > 0, "int4 changes the distribution");
                assertTrue(Double.isFinite(m.candidateLossNats()) && m.candidateLossNats() > 0);
            }
        }
    }

    @Test
    void masksAreRepeatableFromTheSeedAndCoverTheRequestedFraction() {
        int[] first = QualityComparison.choose(20, 0.25, new Random(5));
        assertArrayEquals(first, QualityComparison.choose(20, 0.25, new Random(5)));
        assertEquals(5, first.length);
        assertEquals(1, QualityComparison.choose(3, 0.01, new Random(1)).length, "at least one position");
    }

    @Test
    void packagesWithoutFullLogitsAreRefusedWithTheFix() {
        Path plain = convert("plain", GraphOptions.of(WeightFormat.FP32));
        try (OnnxDenoiser a = open(fp32);
                OnnxDenoiser b = open(plain)) {
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> QualityComparison.compare(a, b, texts, 0.5, 1));
            assertTrue(e.getMessage().contains("--full-logits"), e.getMessage());
        }
    }

    private static OnnxDenoiser open(Path pkg) {
        return OnnxDenoiser.load(ModelPackage.open(pkg), RuntimeOptions.defaults());
    }

    private static Path convert(String name, GraphOptions options) {
        Path out = tmp.resolve(name);
        new PackageWriter(s -> {}, Progress.NONE).convert(ConvertRequest.of(TinyModel.checkpoint(), out, options));
        return out;
    }
}
