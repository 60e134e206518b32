package dev.unmask.packager.quant;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.unmask.packager.onnx.OnnxGraph;
import java.util.List;

/**
 * The first {@code int4:qgemm} layout (packages written before 2026-12-01 23:00 UTC): MatMulNBits' uint8 B and
 * scales turned into per-channel int8 by about 17 constant-folded nodes per projection. Kept here, out of the
 * packager, as the reference the current layout ({@link ChannelInt8Weights#linearFromSignedInt4}) must reproduce
 * code for code, and to measure the load time it cost.
 */
final class FirstInt4QgemmLayout {

    private FirstInt4QgemmLayout() {}

    /**
     * {@code int4:qgemm}: the int4 blocks as MatMulNBits stores them ({@code q} already written: B
     * {@code [N, k_blocks, block/2]} uint8, low nibble first, scales {@code [N, k_blocks]}, symmetric), turned into
     * per-channel int8 by nodes whose inputs are all constant, so ORT's constant folding evaluates them once at
     * session creation and the session holds int8 {@code [K, N]} (twice the int4 bytes in memory, the package stays
     * int4-sized on disk):
     *
     * <pre>
     * codes  = Concat(B &amp; 15, B &gt;&gt; 4) per byte     [N, k_blocks, block] uint8, element 2i from the low nibble
     * w      = (codes - 8) · scales                  [N, k_blocks, block] float32: exactly MatMulNBits' dequantization
     * cscale = max_b |scales| · 8 / 127              [N]    (8·|scale| is a block's largest magnitude)
     * q8     = round(w / cscale)                     [N, K] int8, within ±127; padding past K sliced off
     * Y      = DynamicQuantizeMatMul(A, q8ᵀ, cscale)
     * </pre>
     *
     * The requantization adds at most {@code cscale/2} per weight, against int4's own error of up to
     * {@code |scale|/2}, so the weights stay int4's to within a few percent of its error.
     */
    static String linearFromBlocks(OnnxGraph graph, String name, String input, QuantizedLinear q) {
        int n = q.n();
        int k = q.k();
        int kBlocks = q.kBlocks();
        int block = q.scheme().blockSize();
        String p = name + "/Int4ToInt8/";
        String b = q.packedName();
        String low = graph.op("BitwiseAnd", p + "Low", List.of(b, uint8(graph, p + "mask", 15)));
        String high = graph.op(
                "BitShift", p + "High", List.of(b, uint8(graph, p + "shift", 4)), stringAttr("direction", "RIGHT"));
        String last = graph.int64s(-1);
        String pairs = graph.op(
                "Concat",
                p + "Pairs",
                List.of(
                        graph.op("Unsqueeze", p + "LowAxis", List.of(low, last)),
                        graph.op("Unsqueeze", p + "HighAxis", List.of(high, last))),
                OnnxGraph.attr("axis", -1L));
        String codes = graph.op("Reshape", p + "Codes", List.of(pairs, graph.int64s(n, kBlocks, block)));
        String centred = graph.op(
                "Sub",
                p + "Centred",
                List.of(
                        graph.op("Cast", p + "CodesFloat", List.of(codes), OnnxGraph.attr("to", (long)
                                DataType.FLOAT_VALUE)),
                        float32(graph, p + "zero_point", 8f)));
        String weights = graph.op(
                "Mul",
                p + "Dequantized",
                List.of(centred, graph.op("Unsqueeze", p + "ScalesAxis", List.of(q.scalesName(), last))));
        String rowMax = graph.op(
                "ReduceMax",
                p + "RowMax",
                List.of(graph.op("Abs", p + "AbsScales", List.of(q.scalesName())), graph.int64s(1)),
                OnnxGraph.attr("keepdims", 1L));
        // a row of zeros has scale 0: keep the divisor positive so its codes are 0, not NaN
        String channelScale = graph.op(
                "Max",
                p + "ChannelScale",
                List.of(
                        graph.op("Mul", p + "RowMaxTimes8Over127", List.of(rowMax, float32(graph, p + "r", 8f / 127f))),
                        float32(graph, p + "tiny", Float.MIN_NORMAL)));
        String ratio = graph.op(
                "Div",
                p + "Ratio",
                List.of(weights, graph.op("Unsqueeze", p + "ChannelScaleAxis", List.of(channelScale, last))));
        String rows = graph.op(
                "Reshape",
                p + "Rows",
                List.of(graph.op("Round", p + "Round", List.of(ratio)), graph.int64s(n, (long) kBlocks * block)));
        if ((long) kBlocks * block != k) { // K padded up to the block: drop the padding
            rows = graph.op("Slice", p + "Unpadded", List.of(rows, graph.int64s(0), graph.int64s(k), graph.int64s(1)));
        }
        String q8 = graph.op("Cast", p + "Int8", List.of(rows), OnnxGraph.attr("to", (long) DataType.INT8_VALUE));
        String transposed = graph.op("Transpose", p + "TransposeB", List.of(q8), OnnxGraph.attrInts("perm", 1, 0));
        String scales = graph.op("Reshape", p + "Scales", List.of(channelScale, graph.int64s(n)));
        return graph.msOp(
                ChannelInt8Weights.OP_TYPE,
                name + "/" + ChannelInt8Weights.OP_TYPE,
                List.of(input, transposed, scales));
    }

    private static String uint8(OnnxGraph graph, String name, int value) {
        return graph.initializer(
                name, DataType.UINT8, new long[] {}, out -> out.putBytes(new byte[] {(byte) value}, 0, 1));
    }

    private static String float32(OnnxGraph graph, String name, float value) {
        return graph.initializer(name, DataType.FLOAT, new long[] {}, out -> out.putFloats(new float[] {value}, 0, 1));
    }

    private static ai.onnx.proto.OnnxMl.AttributeProto stringAttr(String name, String value) {
        return ai.onnx.proto.OnnxMl.AttributeProto.newBuilder()
                .setName(name)
                .setType(ai.onnx.proto.OnnxMl.AttributeProto.AttributeType.STRING)
                .setS(com.google.protobuf.ByteString.copyFromUtf8(value))
                .build();
    }
}
