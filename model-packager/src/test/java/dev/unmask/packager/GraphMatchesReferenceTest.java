package dev.unmask.packager;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.engine.model.ExecutionProvider;
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
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ONNX graph against a plain Java forward of train.py's model, on random weights large enough that rotary
 * positions, grouped kv heads and the padding mask all change the answer (the tiny model's fixtures check real
 * weights; this checks every part of the graph whatever the weights).
 */
class GraphMatchesReferenceTest {

    @TempDir
    static Path tmp;

    static Path checkpoint;
    static Path pkg;

    static final long[] IDS = {0, 17, 3, 3, 200, 45, 3, 99, 3, 3, 120, 7};
    static final long[] HEADS = {2, 3, 6, 8, 9, 0, 11};

    @BeforeAll
    static void convert() {
        checkpoint = RandomLlada.write(tmp.resolve("random-llada"), 42);
        pkg = tmp.resolve("pkg");
        new PackageWriter(s -> {}, Progress.NONE)
                .convert(ConvertRequest.of(
                        checkpoint,
                        pkg,
                        GraphOptions.of(WeightFormat.FP32).withFullLogits(true).withTopK(5)));
    }

    @Test
    void logitsMatchTheReferenceForward() {
        double[][] expected = RandomLlada.forward(checkpoint, IDS, ones(IDS.length), HEADS);
        try (OnnxDenoiser model = OnnxDenoiser.load(ModelPackage.open(pkg), RuntimeOptions.defaults())) {
            HeadOutput out = model.forward(new long[][] {IDS}, new long[][] {ones(IDS.length)}, new long[][] {HEADS});
            double worst = 0;
            double spread = 0;
            for (int j = 0; j < HEADS.length; j++) {
                for (int v = 0; v < RandomLlada.VOCAB; v++) {
                    worst = Math.max(worst, Math.abs(expected[j][v] - out.logits()[j * out.vocab() + v]));
                    spread = Math.max(spread, Math.abs(expected[j][v]));
                }
                assertEquals(argmax(expected[j]), out.topkId(0, j, 0), "top-1 at position " + HEADS[j]);
                double lse = logsumexp(expected[j]);
                assertEquals(lse, out.logsumexp(0, j), 1e-3, "logsumexp at position " + HEADS[j]);
                double h = 0;
                for (double l : expected[j]) {
                    h -= Math.exp(l - lse) * (l - lse);
                }
                assertEquals(h, out.entropy(0, j), 1e-3, "entropy at position " + HEADS[j]);
            }
            System.out.printf("random LLaDA: worst |logit error| %.2g (logits up to %.1f)%n", worst, spread);
            assertTrue(spread > 1.0, "the random model is not degenerate");
            assertTrue(worst < 1e-3, "worst logit error " + worst);
        }
    }

    @Test
    void paddingIsNeverAttendedToAndChangesNothingForTheRealTokens() {
        int real = 8;
        long[] mask = ones(IDS.length);
        Arrays.fill(mask, real, IDS.length, 0L);
        long[] heads = {2, 3, 6, 7};
        double[][] expected = RandomLlada.forward(checkpoint, Arrays.copyOf(IDS, real), ones(real), heads);
        try (OnnxDenoiser model = OnnxDenoiser.load(ModelPackage.open(pkg), RuntimeOptions.defaults())) {
            // row 0: the first 8 tokens then padding; row 1: all 12 tokens, so the batch shares one length
            HeadOutput out = model.forward(
                    new long[][] {IDS, IDS}, new long[][] {mask, ones(IDS.length)}, new long[][] {heads, heads});
            HeadOutput unmasked =
                    model.forward(new long[][] {IDS}, new long[][] {ones(IDS.length)}, new long[][] {heads});
            double maskEffect = 0;
            for (int j = 0; j < heads.length; j++) {
                assertEquals(logsumexp(expected[j]), out.logsumexp(0, j), 1e-3, "padded row lse at " + heads[j]);
                assertEquals(argmax(expected[j]), out.topkId(0, j, 0), "padded row top-1 at " + heads[j]);
                maskEffect = Math.max(maskEffect, Math.abs(out.logsumexp(0, j) - unmasked.logsumexp(0, j)));
                assertEquals(
                        unmasked.logsumexp(0, j), out.logsumexp(1, j), 1e-4, "row 1 is unaffected by row 0's padding");
            }
            assertTrue(
                    maskEffect > 1e-2, "the mask matters for this model (else the test could not fail): " + maskEffect);
        }
    }

    @Test
    void unavailableProviderFallsBackToCpu() {
        try (OnnxDenoiser model =
                OnnxDenoiser.load(ModelPackage.open(pkg), new RuntimeOptions(ExecutionProvider.CUDA, 1))) {
            assertEquals(ExecutionProvider.CPU, model.executionProvider());
        }
    }

    @Test
    void inputsThatDoNotFitAreRefusedClearly() {
        try (OnnxDenoiser model = OnnxDenoiser.load(ModelPackage.open(pkg), RuntimeOptions.defaults())) {
            IllegalArgumentException ragged = assertThrows(
                    IllegalArgumentException.class,
                    () -> model.forward(
                            new long[][] {{0, 3, 3}, {0, 3}}, new long[][] {{1, 1, 1}, {1, 1}}, new long[][] {{1}, {1}
                            }));
            assertTrue(ragged.getMessage().contains("same length"), ragged.getMessage());
            IllegalArgumentException outside = assertThrows(
                    IllegalArgumentException.class,
                    () -> model.forward(new long[][] {{0, 3, 3}}, new long[][] {{1, 1, 1}}, new long[][] {{3}}));
            assertTrue(outside.getMessage().contains("outside the sequence"), outside.getMessage());
            long[] tooLong = new long[RandomLlada.MAX_SEQ + 1];
            IllegalArgumentException length = assertThrows(
                    IllegalArgumentException.class,
                    () -> model.forward(
                            new long[][] {tooLong}, new long[][] {ones(tooLong.length)}, new long[][] {{0}}));
            assertTrue(length.getMessage().contains("max_sequence_length"), length.getMessage());
        }
    }

    static int argmax(double[] a) {
        int best = 0;
        for (int i = 1; i < a.length; i++) {
            if (a[i] > a[best]) {
                best = i;
            }
        }
        return best;
    }

    static double logsumexp(double[] a) {
        double max = Arrays.stream(a).max().orElseThrow();
        double s = 0;
        for (double v : a) {
            s += Math.exp(v - max);
        }
        return max + Math.log(s);
    }

    static long[] ones(int n) {
        long[] a = new long[n];
        Arrays.fill(a, 1L);
        return a;
    }
}
