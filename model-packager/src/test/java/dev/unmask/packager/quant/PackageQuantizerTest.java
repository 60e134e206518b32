package dev.unmask.packager.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import com.fasterxml.jackson.databind.JsonNode;
import dev.unmask.engine.model.HeadOutput;
import dev.unmask.engine.model.OnnxDenoiser;
import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.engine.model.SelfTest;
import dev.unmask.format.ModelPackage;
import dev.unmask.packager.PackagerException;
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
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code unmask-pack quantize}: a float package or a bare model.onnx in, MatMulNBits out. */
class PackageQuantizerTest {

    @TempDir
    static Path tmp;

    static Path fp32;
    static Path fp16;

    @BeforeAll
    static void convertFloatPackages() {
        fp32 = convert("fp32", GraphOptions.of(WeightFormat.FP32).withFullLogits(true));
        fp16 = convert("fp16", GraphOptions.of(WeightFormat.FP16).withFullLogits(true));
    }

    @Test
    void quantizingAnFp32PackageGivesTheSameModelAsConvertingWithQuant() throws IOException {
        QuantScheme scheme = QuantScheme.parse("int4:block=64:asym");
        Path converted = convert(
                "converted-int4",
                GraphOptions.of(WeightFormat.FP32)
                        .withFullLogits(true)
                        .withLinear(new MatMulNBitsLinear(scheme, WeightFormat.FP32)));
        Path quantized = tmp.resolve("quantized-int4");
        PackageQuantizer.Written w =
                new PackageQuantizer(scheme, HeadPrecision.SAME, s -> {}).quantize(fp32, quantized, false);

        assertEquals(43, w.result().quantized(), "6 layers x 7 projections + head");
        assertEquals("int4:block=64:asym:acc=4", w.manifest().precision().quantization());
        assertSameFiles(converted, quantized);
        assertEquals(0f, maxLogitDifference(converted, quantized), "same weights, same packing, same graph");
    }

    /** One quantizer path: convert --quant and quantize write the same graph and data, byte for byte, for each head. */
    @ParameterizedTest
    @ValueSource(strings = {"same", "int8", "float"})
    void convertWithQuantAndQuantizeWriteIdenticalFilesWhateverTheHead(String headPrecision) throws IOException {
        QuantScheme scheme = QuantScheme.parse("int4");
        HeadPrecision head = HeadPrecision.parse(headPrecision);
        Path converted = convert(
                "converted-head-" + headPrecision,
                GraphOptions.of(WeightFormat.FP32)
                        .withFullLogits(true)
                        .withLinear(new MatMulNBitsLinear(scheme, head, WeightFormat.FP32)));
        Path quantized = tmp.resolve("quantized-head-" + headPrecision);
        PackageQuantizer.Written w = new PackageQuantizer(scheme, head, s -> {}).quantize(fp32, quantized, false);

        assertEquals(head == HeadPrecision.FLOAT ? 42 : 43, w.result().quantized());
        assertSameFiles(converted, quantized);
        assertEquals(head.describe(scheme), w.manifest().precision().quantization());
    }

    /**
     * The head is found by the role the graph builder recorded, not by its name: with every node renamed, a float
     * head is still the one MatMul left, and it is the one reading the recorded input.
     */
    @Test
    void theHeadIsFoundByItsRecordedRoleNotByItsNodeName() throws IOException {
        Path renamed = Files.createDirectories(tmp.resolve("renamed"));
        ModelProto model;
        try (InputStream in = Files.newInputStream(fp32.resolve("model.onnx"))) {
            model = ModelProto.parseFrom(in);
        }
        ai.onnx.proto.OnnxMl.GraphProto.Builder g = model.getGraph().toBuilder();
        for (int i = 0; i < g.getNodeCount(); i++) {
            g.setNode(i, g.getNode(i).toBuilder().setName("node" + i));
        }
        Files.write(
                renamed.resolve("model.onnx"),
                model.toBuilder().setGraph(g).build().toByteArray());
        Files.copy(fp32.resolve("model.onnx.data"), renamed.resolve("model.onnx.data"));
        String headInput = dev.unmask.packager.onnx.GraphMetadata.get(
                model, dev.unmask.packager.onnx.GraphMetadata.SAMPLING_HEAD_INPUT);

        Path out = tmp.resolve("renamed-float-head");
        new PackageQuantizer(QuantScheme.parse("int8"), HeadPrecision.FLOAT, s -> {})
                .quantize(renamed.resolve("model.onnx"), out, false);

        List<NodeProto> matMuls = nodes(out.resolve("model.onnx")).stream()
                .filter(n -> n.getOpType().equals("MatMul"))
                .toList();
        assertEquals(1, matMuls.size(), "only the head stays float");
        assertEquals(headInput, matMuls.get(0).getInput(0));
    }

    private static void assertSameFiles(Path converted, Path quantized) throws IOException {
        for (String file : List.of(ModelPackage.MODEL_FILE, ModelPackage.MODEL_DATA_FILE)) {
            assertEquals(
                    -1L,
                    Files.mismatch(converted.resolve(file), quantized.resolve(file)),
                    file + " differs between convert --quant and quantize");
        }
    }

    @Test
    void anFp16PackageLosesItsCastsAndPassesARecordedSelfTest() throws IOException {
        Path quantized = tmp.resolve("fp16-int8");
        PackageQuantizer.Written w = new PackageQuantizer(QuantScheme.parse("int8"), HeadPrecision.FLOAT, s -> {})
                .quantize(fp16, quantized, false);

        assertEquals(42, w.result().quantized(), "the head stays float");
        assertEquals("fp16", w.manifest().precision().dtype());
        assertEquals(
                "int8:block=32:sym:acc=4;head=float", w.manifest().precision().quantization());
        List<NodeProto> nodes = nodes(quantized.resolve("model.onnx"));
        long matMuls =
                nodes.stream().filter(n -> n.getOpType().equals("MatMul")).count();
        long casts = nodes.stream().filter(n -> n.getOpType().equals("Cast")).count();
        long castsBefore = nodes(fp16.resolve("model.onnx")).stream()
                .filter(n -> n.getOpType().equals("Cast"))
                .count();
        assertEquals(1, matMuls, "only the head");
        assertEquals(castsBefore - 42, casts, "each quantized weight's Cast to float is gone");
        try (OnnxDenoiser model = OnnxDenoiser.load(ModelPackage.open(quantized), RuntimeOptions.defaults())) {
            assertTrue(SelfTest.run(model).passed());
        }
        assertTrue(Files.size(quantized.resolve("model.onnx.data")) < Files.size(fp16.resolve("model.onnx.data")));
    }

    @Test
    void aBareOnnxModelBecomesAFolderWithModelAndData() throws IOException {
        Path out = tmp.resolve("bare-int4");
        PackageQuantizer.Written w = new PackageQuantizer(QuantScheme.parse("int4"), HeadPrecision.SAME, s -> {})
                .quantize(fp32.resolve("model.onnx"), out, false);
        assertEquals(null, w.manifest());
        assertTrue(
                Files.isRegularFile(out.resolve("model.onnx")) && Files.isRegularFile(out.resolve("model.onnx.data")));
        assertFalse(Files.exists(out.resolve("manifest.json")));
        assertEquals(
                43,
                nodes(out.resolve("model.onnx")).stream()
                        .filter(n -> n.getOpType().equals("MatMulNBits"))
                        .count());
    }

    @Test
    void anAlreadyQuantizedPackageOrAnExistingOutputIsRefused() {
        Path once = tmp.resolve("once-int4");
        PackageQuantizer quantizer = new PackageQuantizer(QuantScheme.parse("int4"), HeadPrecision.SAME, s -> {});
        quantizer.quantize(fp32, once, false);
        PackagerException twice =
                assertThrows(PackagerException.class, () -> quantizer.quantize(once, tmp.resolve("twice"), false));
        assertTrue(twice.getMessage().contains("already quantized"), twice.getMessage());
        PackagerException exists = assertThrows(PackagerException.class, () -> quantizer.quantize(fp32, once, false));
        assertTrue(exists.getMessage().contains("--force"), exists.getMessage());
    }

    private static Path convert(String name, GraphOptions options) {
        Path out = tmp.resolve(name);
        new PackageWriter(s -> {}, Progress.NONE).convert(ConvertRequest.of(TinyModel.checkpoint(), out, options));
        return out;
    }

    private static List<NodeProto> nodes(Path model) throws IOException {
        try (InputStream in = Files.newInputStream(model)) {
            return ModelProto.parseFrom(in).getGraph().getNodeList();
        }
    }

    /** Largest |logit difference| over every position of the fixture inputs. */
    private static float maxLogitDifference(Path a, Path b) {
        JsonNode fixture = TinyModel.forwardFixture();
        float worst = 0;
        try (OnnxDenoiser x = OnnxDenoiser.load(ModelPackage.open(a), RuntimeOptions.defaults());
                OnnxDenoiser y = OnnxDenoiser.load(ModelPackage.open(b), RuntimeOptions.defaults())) {
            for (JsonNode c : fixture.get("cases")) {
                long[] ids = new long[c.get("input_ids").size()];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = c.get("input_ids").get(i).asLong();
                }
                long[] ones = new long[ids.length];
                Arrays.fill(ones, 1);
                long[] all = new long[ids.length];
                for (int i = 0; i < all.length; i++) {
                    all[i] = i;
                }
                HeadOutput p = x.forward(new long[][] {ids}, new long[][] {ones}, new long[][] {all});
                HeadOutput q = y.forward(new long[][] {ids}, new long[][] {ones}, new long[][] {all});
                assertArrayEquals(p.topkIds(), q.topkIds());
                for (int i = 0; i < p.logits().length; i++) {
                    worst = Math.max(worst, Math.abs(p.logits()[i] - q.logits()[i]));
                }
            }
        }
        return worst;
    }
}
