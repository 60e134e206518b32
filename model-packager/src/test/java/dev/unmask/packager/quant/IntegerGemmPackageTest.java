package dev.unmask.packager.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
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
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 17 §1, the quantized paths that are faster than fp32: which operator each scheme emits, with which
 * attributes, and that each stays within the quality gate's neighbourhood of the fp32 package on the fixture inputs
 * (every position). Speed itself is measured in docs/benchmarks.md ("Quantized compute"), never asserted here.
 */
class IntegerGemmPackageTest {

    @TempDir
    static Path tmp;

    static Path fp32;
    static int layers;

    @BeforeAll
    static void convertTheFloatReference() throws IOException {
        fp32 = convert("fp32", GraphOptions.of(WeightFormat.FP32).withFullLogits(true));
        layers = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(TinyModel.checkpoint().resolve("config.json").toFile())
                .get("n_layers")
                .asInt();
    }

    @Test
    void int8PerChannelIsOneDynamicQuantizeMatMulPerProjectionOverAConstantTransposeOfInt8Codes() throws IOException {
        Path pkg = convert("int8-channel", "int8:block=channel");
        ModelProto model = model(pkg);
        Map<String, Long> ops = opCounts(model);
        assertEquals(7L * layers + 1, ops.getOrDefault("DynamicQuantizeMatMul", 0L), "7 per layer + head");
        assertEquals(0L, ops.getOrDefault("MatMulNBits", 0L));
        assertEquals(0L, ops.getOrDefault("MatMul", 0L), "no float projection left");
        Map<String, TensorProto> init = initializers(model);
        Map<String, NodeProto> producers = producers(model);
        for (NodeProto n : nodes(model, "DynamicQuantizeMatMul")) {
            NodeProto transpose = producers.get(n.getInput(1));
            assertEquals("Transpose", transpose.getOpType(), n.getName() + ": B comes from a Transpose");
            TensorProto codes = init.get(transpose.getInput(0)); // a constant: ORT folds it before prepacking
            assertEquals(TensorProto.DataType.INT8_VALUE, codes.getDataType(), codes.getName());
            TensorProto scales = init.get(n.getInput(2));
            assertEquals(List.of(codes.getDims(0)), scales.getDimsList(), "one scale per output channel");
        }
        assertEquals(
                "int8:block=channel:sym:acc=4",
                ModelPackage.open(pkg).manifest().precision().quantization());
        assertCloseToFloat("int8 per channel (integer GEMM)", pkg, 0.9, 0.02);
    }

    @Test
    void int4QgemmKeepsInt4BlocksOnDiskAndFeedsTheIntegerGemmThroughConstantNodesOnly() throws IOException {
        Path pkg = convert("int4-qgemm", "int4:qgemm");
        Path int4 = convert("int4", "int4");
        ModelProto model = model(pkg);
        Map<String, Long> ops = opCounts(model);
        assertEquals(7L * layers + 1, ops.getOrDefault("DynamicQuantizeMatMul", 0L));
        assertEquals(0L, ops.getOrDefault("MatMulNBits", 0L));
        // the same codes (as native INT4) and block scales as the MatMulNBits package, plus one float per output
        // channel (each tensor aligned to 4 KiB in the data file): int4-sized, not int8-sized
        long int4Bytes = Files.size(int4.resolve("model.onnx.data"));
        long extra = Files.size(pkg.resolve("model.onnx.data")) - int4Bytes;
        assertTrue(extra >= 0 && extra < 0.03 * int4Bytes, "int4:qgemm data is int4-sized, " + extra + " bytes more");
        for (NodeProto cast : nodes(model, "Cast")) {
            TensorProto codes = initializers(model).get(cast.getInput(0));
            if (codes != null) {
                assertEquals(TensorProto.DataType.INT4_VALUE, codes.getDataType(), codes.getName() + ": native int4");
            }
        }
        assertEquals(0L, ops.getOrDefault("BitShift", 0L), "no nibble unpacking to fold at load");
        assertEquals(7L * layers + 1, ops.getOrDefault("QuantizeLinear", 0L), "one requantization per projection");
        // every node between the initializers and a DynamicQuantizeMatMul's B and scales reads constants only, so
        // constant folding turns it into an int8 initializer when the session is created
        Map<String, TensorProto> init = initializers(model);
        Map<String, NodeProto> producers = producers(model);
        for (NodeProto n : nodes(model, "DynamicQuantizeMatMul")) {
            for (String input : List.of(n.getInput(1), n.getInput(2))) {
                assertConstant(input, init, producers);
            }
        }
        assertEquals(
                "int4:block=32:sym:acc=4:qgemm",
                ModelPackage.open(pkg).manifest().precision().quantization());
        QuantizedPackageTest.Quality nbits = QuantizedPackageTest.compare(fp32, int4);
        QuantizedPackageTest.Quality qgemm = assertCloseToFloat("int4 qgemm (integer GEMM)", pkg, 0.5, 0.5);
        // the requantization to int8 adds a little on top of int4's own error, not a different error
        assertTrue(qgemm.meanKl() < 2 * nbits.meanKl() + 1e-3, "KL " + qgemm.meanKl() + " vs " + nbits.meanKl());
    }

    @Test
    void theDefaultSchemesStayOnMatMulNBitsWithInt8ComputeAndBlocksOf32() throws IOException {
        Path pkg = convert("int8-default", "int8");
        List<NodeProto> nbits = nodes(model(pkg), "MatMulNBits");
        assertEquals(7 * layers + 1, nbits.size());
        for (NodeProto n : nbits) {
            Map<String, Long> a = n.getAttributeList().stream()
                    .collect(Collectors.toMap(AttributeProto::getName, AttributeProto::getI));
            assertEquals(4L, a.get("accuracy_level"), n.getName());
            assertEquals(32L, a.get("block_size"), n.getName());
            assertEquals(8L, a.get("bits"), n.getName());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"int8:block=channel", "int4:qgemm", "int4:block=128:qgemm"})
    void integerGemmSchemesParseBackFromTheirCanonicalSpelling(String text) {
        QuantScheme s = QuantScheme.parse(text);
        assertTrue(s.integerGemm());
        assertEquals(s, QuantScheme.parse(s.toString()));
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "int4:block=channel",
                "int8:block=channel:asym",
                "int8:qgemm",
                "int4:qgemm:asym",
                "int4:qgemm:acc=0"
            })
    void integerGemmSchemesOutsideWhatTheOperatorComputesAreRefusedWithAnExample(String text) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> QuantScheme.parse(text));
        assertTrue(e.getMessage().contains("e.g."), e.getMessage());
    }

    @Test
    void quantizeOfAFloatPackageRefusesTheIntegerGemmAndNamesConvert() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> new OnnxModelQuantizer(QuantScheme.parse("int8:block=channel"), HeadPrecision.SAME));
        assertTrue(e.getMessage().contains("convert"), e.getMessage());
    }

    @Test
    void aRowQuantizesToSymmetricCodesWithItsLargestMagnitudeOn127() {
        byte[] codes = new byte[4];
        float scale = ChannelInt8Weights.quantizeRow("w", 0, new float[] {0.5f, -1.27f, 0.0049f, 0.0051f}, codes);
        assertEquals(0.01f, scale, 1e-7f);
        assertArrayEquals(new byte[] {50, -127, 0, 1}, codes);
        assertEquals(0f, ChannelInt8Weights.quantizeRow("w", 1, new float[4], codes), "a zero row");
        assertThrows(
                IllegalArgumentException.class,
                () -> ChannelInt8Weights.quantizeRow("w", 2, new float[] {Float.NaN, 0, 0, 0}, codes));
    }

    private static void assertConstant(String value, Map<String, TensorProto> init, Map<String, NodeProto> producers) {
        if (init.containsKey(value)) {
            return;
        }
        NodeProto p = producers.get(value);
        assertTrue(p != null, value + " is neither an initializer nor a node's output");
        for (String in : p.getInputList()) {
            assertConstant(in, init, producers);
        }
    }

    private static QuantizedPackageTest.Quality assertCloseToFloat(
            String label, Path pkg, double minTop1, double maxMeanKl) {
        QuantizedPackageTest.Quality q = QuantizedPackageTest.compare(fp32, pkg);
        System.out.printf(
                "%-34s top-1 agreement %.3f  mean KL %.2e nats over %d positions%n",
                label, q.top1Agreement(), q.meanKl(), q.positions());
        assertTrue(q.top1Agreement() >= minTop1, label + ": top-1 agreement " + q.top1Agreement());
        assertTrue(q.meanKl() <= maxMeanKl, label + ": mean KL " + q.meanKl());
        return q;
    }

    private static Path convert(String name, String scheme) {
        return convert(
                name,
                GraphOptions.of(WeightFormat.FP32)
                        .withFullLogits(true)
                        .withLinear(new MatMulNBitsLinear(QuantScheme.parse(scheme), WeightFormat.FP32)));
    }

    private static Path convert(String name, GraphOptions options) {
        Path out = tmp.resolve(name);
        if (!Files.exists(out)) {
            new PackageWriter(s -> {}, Progress.NONE).convert(ConvertRequest.of(TinyModel.checkpoint(), out, options));
        }
        return out;
    }

    private static ModelProto model(Path pkg) throws IOException {
        try (InputStream in = Files.newInputStream(pkg.resolve("model.onnx"))) {
            return ModelProto.parseFrom(in);
        }
    }

    private static Map<String, Long> opCounts(ModelProto model) {
        return model.getGraph().getNodeList().stream()
                .collect(Collectors.groupingBy(NodeProto::getOpType, Collectors.counting()));
    }

    private static List<NodeProto> nodes(ModelProto model, String opType) {
        return model.getGraph().getNodeList().stream()
                .filter(n -> n.getOpType().equals(opType))
                .toList();
    }

    private static Map<String, TensorProto> initializers(ModelProto model) {
        return model.getGraph().getInitializerList().stream()
                .collect(Collectors.toMap(TensorProto::getName, Function.identity()));
    }

    private static Map<String, NodeProto> producers(ModelProto model) {
        return model.getGraph().getNodeList().stream()
                .collect(Collectors.toMap(n -> n.getOutput(0), Function.identity(), (a, b) -> a));
    }
}
