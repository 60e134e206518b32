package dev.unmask.packager.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import com.fasterxml.jackson.databind.JsonNode;
import dev.unmask.engine.model.HeadOutput;
import dev.unmask.engine.model.OnnxDenoiser;
import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.format.ModelPackage;
import dev.unmask.packager.Progress;
import dev.unmask.packager.TinyModel;
import dev.unmask.packager.arch.GraphOptions;
import dev.unmask.packager.onnx.WeightFormat;
import dev.unmask.packager.pack.ConvertRequest;
import dev.unmask.packager.pack.PackageWriter;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Converting tiny-llada through {@link MatMulNBitsLinear}: every projection becomes MatMulNBits, the package
 * loads and passes its self-test in ONNX Runtime, the manifest records the scheme, and the quantized model
 * stays close to the fp32 package on the golden-fixture inputs (every position scored).
 */
class QuantizedPackageTest {

    @TempDir
    static Path tmp;

    static Path fp32;
    static Quality reference;

    @BeforeAll
    static void convertTheFloatReference() {
        fp32 = convert("fp32", GraphOptions.of(WeightFormat.FP32).withFullLogits(true));
    }

    @Test
    void int4EveryProjectionBecomesMatMulNBitsAndTheSchemeIsRecorded() throws IOException {
        QuantScheme scheme = QuantScheme.parse("int4");
        Path pkg = convert(
                "int4",
                GraphOptions.of(WeightFormat.FP32)
                        .withFullLogits(true)
                        .withLinear(new MatMulNBitsLinear(scheme, WeightFormat.FP32)));

        Map<String, Long> ops = opCounts(pkg);
        int layers = config().get("n_layers").asInt();
        assertEquals(
                7L * layers + 1, ops.getOrDefault("MatMulNBits", 0L), "q, k, v, o, gate, up, down per layer + head");
        assertEquals(0L, ops.getOrDefault("MatMul", 0L), "no float projection left");
        assertEquals(
                "int4:block=32:sym:acc=4",
                ModelPackage.open(pkg).manifest().precision().quantization());
        assertCloseToFloat("int4 block 32", pkg, 0.5, 0.5);
    }

    @Test
    void int8StaysWithinASmallKlOfTheFloatModel() {
        Path pkg = convert(
                "int8",
                GraphOptions.of(WeightFormat.FP32)
                        .withFullLogits(true)
                        .withLinear(new MatMulNBitsLinear(QuantScheme.parse("int8:acc=fp32"), WeightFormat.FP32)));
        assertCloseToFloat("int8 block 32", pkg, 0.9, 0.02);
    }

    @Test
    void theHeadCanStayFloatWhileTheLayersAreInt4() throws IOException {
        MatMulNBitsLinear linear =
                new MatMulNBitsLinear(QuantScheme.parse("int4:block=128:asym"), HeadPrecision.FLOAT, WeightFormat.FP16);
        Path pkg = convert(
                "int4-float-head",
                GraphOptions.of(WeightFormat.FP16).withFullLogits(true).withLinear(linear));
        Map<String, Long> ops = opCounts(pkg);
        assertEquals(1L, ops.getOrDefault("MatMul", 0L), "only the head is a float MatMul");
        assertEquals(
                "int4:block=128:asym:acc=4;head=float",
                ModelPackage.open(pkg).manifest().precision().quantization());
        assertCloseToFloat("int4 block 128 asym, fp16 head", pkg, 0.5, 0.5);
    }

    private static Path convert(String name, GraphOptions options) {
        Path out = tmp.resolve(name);
        new PackageWriter(s -> {}, Progress.NONE).convert(ConvertRequest.of(TinyModel.checkpoint(), out, options));
        return out;
    }

    private static JsonNode config() throws IOException {
        return new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(TinyModel.checkpoint().resolve("config.json").toFile());
    }

    private static Map<String, Long> opCounts(Path pkg) throws IOException {
        try (InputStream in = Files.newInputStream(pkg.resolve("model.onnx"))) {
            List<NodeProto> nodes = ModelProto.parseFrom(in).getGraph().getNodeList();
            return nodes.stream().collect(Collectors.groupingBy(NodeProto::getOpType, Collectors.counting()));
        }
    }

    /** Top-1 agreement and mean KL(fp32 ‖ quantized) over every position of the fixture inputs. */
    record Quality(int positions, double top1Agreement, double meanKl) {}

    private static void assertCloseToFloat(String label, Path pkg, double minTop1, double maxMeanKl) {
        Quality q = compare(fp32, pkg);
        long dataBytes = size(pkg.resolve("model.onnx.data"));
        System.out.printf(
                "%-32s data %,11d bytes (fp32 %,d)  top-1 agreement %.3f  mean KL %.2e nats over %d positions%n",
                label, dataBytes, size(fp32.resolve("model.onnx.data")), q.top1Agreement(), q.meanKl(), q.positions());
        assertTrue(dataBytes < size(fp32.resolve("model.onnx.data")), label + ": package not smaller than fp32");
        assertTrue(q.top1Agreement() >= minTop1, label + ": top-1 agreement " + q.top1Agreement() + " < " + minTop1);
        assertTrue(q.meanKl() <= maxMeanKl, label + ": mean KL " + q.meanKl() + " > " + maxMeanKl);
    }

    private static long size(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static Quality compare(Path referencePkg, Path quantizedPkg) {
        JsonNode fixture = TinyModel.forwardFixture();
        long mask = fixture.get("mask_token_id").asLong();
        try (OnnxDenoiser ref = OnnxDenoiser.load(ModelPackage.open(referencePkg), RuntimeOptions.defaults());
                OnnxDenoiser quant = OnnxDenoiser.load(ModelPackage.open(quantizedPkg), RuntimeOptions.defaults())) {
            int positions = 0;
            int agree = 0;
            double kl = 0;
            for (JsonNode c : fixture.get("cases")) {
                long[] ids = new long[c.get("input_ids").size()];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = c.get("input_ids").get(i).asLong();
                }
                assertTrue(Arrays.stream(ids).anyMatch(id -> id == mask), "fixture case has masks");
                long[] ones = new long[ids.length];
                Arrays.fill(ones, 1);
                long[] all = new long[ids.length];
                for (int i = 0; i < all.length; i++) {
                    all[i] = i;
                }
                HeadOutput a = ref.forward(new long[][] {ids}, new long[][] {ones}, new long[][] {all});
                HeadOutput b = quant.forward(new long[][] {ids}, new long[][] {ones}, new long[][] {all});
                for (int j = 0; j < all.length; j++) {
                    positions++;
                    if (a.topkId(0, j, 0) == b.topkId(0, j, 0)) {
                        agree++;
                    }
                    double lseA = a.logsumexp(0, j);
                    double lseB = b.logsumexp(0, j);
                    double sum = 0;
                    for (int v = 0; v < a.vocab(); v++) {
                        double lpA = a.logits()[j * a.vocab() + v] - lseA;
                        double lpB = b.logits()[j * b.vocab() + v] - lseB;
                        sum += Math.exp(lpA) * (lpA - lpB);
                    }
                    kl += sum;
                }
            }
            return new Quality(positions, (double) agree / positions, kl / positions);
        }
    }
}
