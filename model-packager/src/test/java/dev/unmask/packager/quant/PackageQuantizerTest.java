package dev.unmask.packager.quant;

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
import dev.unmask.packager.llada.GraphOptions;
import dev.unmask.packager.onnx.WeightFormat;
import dev.unmask.packager.pack.ConvertRequest;
import dev.unmask.packager.pack.PackageWriter;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
    void quantizingAnFp32PackageGivesTheSameModelAsConvertingWithQuant() {
        QuantScheme scheme = QuantScheme.parse("int4:block=64:asym");
        Path converted = convert("converted-int4", GraphOptions.of(WeightFormat.FP32).withFullLogits(true)
                .withLinear(new MatMulNBitsLinear(scheme, WeightFormat.FP32)));
        Path quantized = tmp.resolve("quantized-int4");
        PackageQuantizer.Written w = new PackageQuantizer(scheme, HeadPrecision.SAME, s -> { })
                .quantize(fp32, quantized, false);

        assertEquals(43, w.result().quantized(), "6 layers x 7 projections + head");
        assertEquals("int4:block=64:asym:acc=4", w.manifest().precision().quantization());
        assertEquals(0f, maxLogitDifference(converted, quantized), "same weights, same packing, same graph");
    }

    @Test
    void anFp16PackageLosesItsCastsAndPassesARecordedSelfTest() throws IOException {
        Path quantized = tmp.resolve("fp16-int8");
        PackageQuantizer.Written w = new PackageQuantizer(QuantScheme.parse("int8"), HeadPrecision.FLOAT, s -> { })
                .quantize(fp16, quantized, false);

        assertEquals(42, w.result().quantized(), "the head stays float");
        assertEquals("fp16", w.manifest().precision().dtype());
        assertEquals("int8:block=32:sym:acc=4;head=float", w.manifest().precision().quantization());
        List<NodeProto> nodes = nodes(quantized.resolve("model.onnx"));
        long matMuls = nodes.stream().filter(n -> n.getOpType().equals("MatMul")).count();
        long casts = nodes.stream().filter(n -> n.getOpType().equals("Cast")).count();
        long castsBefore = nodes(fp16.resolve("model.onnx")).stream().filter(n -> n.getOpType().equals("Cast")).count();
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
        PackageQuantizer.Written w = new PackageQuantizer(QuantScheme.parse("int4"), HeadPrecision.SAME, s -> { })
                .quantize(fp32.resolve("model.onnx"), out, false);
        assertEquals(null, w.manifest());
        assertTrue(Files.isRegularFile(out.resolve("model.onnx")) && Files.isRegularFile(out.resolve("model.onnx.data")));
        assertFalse(Files.exists(out.resolve("manifest.json")));
        assertEquals(43, nodes(out.resolve("model.onnx")).stream().filter(n -> n.getOpType().equals("MatMulNBits")).count());
    }

    @Test
    void anAlreadyQuantizedPackageOrAnExistingOutputIsRefused() {
        Path once = tmp.resolve("once-int4");
        PackageQuantizer quantizer = new PackageQuantizer(QuantScheme.parse("int4"), HeadPrecision.SAME, s -> { });
        quantizer.quantize(fp32, once, false);
        PackagerException twice = assertThrows(PackagerException.class,
                () -> quantizer.quantize(once, tmp.resolve("twice"), false));
        assertTrue(twice.getMessage().contains("already quantized"), twice.getMessage());
        PackagerException exists = assertThrows(PackagerException.class, () -> quantizer.quantize(fp32, once, false));
        assertTrue(exists.getMessage().contains("--force"), exists.getMessage());
    }

    private static Path convert(String name, GraphOptions options) {
        Path out = tmp.resolve(name);
        new PackageWriter(s -> { }, Progress.NONE).convert(ConvertRequest.of(TinyModel.checkpoint(), out, options));
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
