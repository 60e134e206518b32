package dev.unmask.packager.quant;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.unmask.packager.onnx.OnnxGraph;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * {@code int8:block=channel}: a weight {@code W [N, K]} as int8 codes with one symmetric scale per output channel,
 * multiplied by {@code com.microsoft::DynamicQuantizeMatMul}.
 *
 * <p>Why this op and not MatMulNBits for int8: profiled on the 200 M model (docs/benchmarks.md, "Quantized compute"),
 * ONNX Runtime 1.23's MatMulNBits with {@code accuracy_level} 4 runs its blockwise int8 kernel at about fp32's speed
 * on this CPU, and at accuracy level 0 it dequantizes B on every call (1.6× fp32). DynamicQuantizeMatMul quantizes
 * A to uint8 once per call (one scale and zero point for the tensor) and hands the product to MLAS's u8s8 QGEMM, the
 * kernel ORT's own dynamic quantization uses, which has AVX-512 VNNI and AMX paths and runs at several times the
 * fp32 rate at 256–512 rows. The op wants B as {@code [K, N]}; the package stores {@code [N, K]} (rows streamed from
 * the checkpoint as every other linear) behind a {@code Transpose} that ORT folds into a constant when the session
 * is created, before it prepacks B, so the run-time graph is one DynamicQuantizeMatMul per projection.
 *
 * <p>Numbers: {@code scale[n] = max_k |W[n, k]| / 127}, {@code q = clamp(round(W / scale), -127, 127)} (the code
 * −128 is never used, so the grid is symmetric), {@code W ≈ q · scale}; a row of zeros gets scale 0 and codes 0.
 * Initializers {@code <weight>_Q8C} int8 {@code [N, K]} and {@code <weight>_scales} float32 {@code [N]}.
 */
final class ChannelInt8Weights {

    static final String OP_TYPE = "DynamicQuantizeMatMul";
    static final String CODES_SUFFIX = "_Q8C";

    private ChannelInt8Weights() {}

    /**
     * Writes the codes and scales of {@code weight} into the graph's external data and adds
     * {@code Transpose → DynamicQuantizeMatMul}; returns the product's output {@code [..., N]}.
     *
     * @throws IllegalArgumentException for a NaN or infinite weight, naming it
     */
    static String linear(OnnxGraph graph, String name, String input, String weight, int n, int k, FloatRowSource rows) {
        float[] scales = new float[n];
        float[] row = new float[k];
        byte[] codes = new byte[k];
        graph.addInitializer(graph.data().write(weight + CODES_SUFFIX, DataType.INT8, new long[] {n, k}, sink -> {
            for (int r = 0; r < n; r++) {
                rows.readRow(r, row);
                scales[r] = quantizeRow(weight, r, row, codes);
                sink.putBytes(codes, 0, k);
            }
        }));
        ByteBuffer scaleBytes = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
        for (float s : scales) {
            scaleBytes.putFloat(s);
        }
        byte[] scaleArray = scaleBytes.array();
        String scalesName = weight + "_scales";
        graph.addInitializer(graph.data()
                .write(scalesName, DataType.FLOAT, new long[] {n}, sink -> sink.putBytes(scaleArray, 0, 4 * n)));
        // [N, K] -> [K, N], a constant: folded by ORT at session creation
        String transposed = graph.op(
                "Transpose", name + "/TransposeB", List.of(weight + CODES_SUFFIX), OnnxGraph.attrInts("perm", 1, 0));
        return graph.msOp(OP_TYPE, name + "/" + OP_TYPE, List.of(input, transposed, scalesName));
    }

    /** Codes of one row into {@code codes}; returns its scale. */
    static float quantizeRow(String weight, int r, float[] row, byte[] codes) {
        float max = 0;
        for (float v : row) {
            if (!Float.isFinite(v)) {
                throw new IllegalArgumentException(
                        weight + " row " + r + " holds " + v + "; a weight must be finite to quantize");
            }
            max = Math.max(max, Math.abs(v));
        }
        if (max == 0) {
            java.util.Arrays.fill(codes, (byte) 0);
            return 0f;
        }
        float scale = max / 127f;
        float inverse = 1f / scale;
        for (int i = 0; i < row.length; i++) {
            codes[i] = (byte) Math.max(-127, Math.min(127, Math.round(row[i] * inverse)));
        }
        return scale;
    }

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
        return graph.msOp(OP_TYPE, name + "/" + OP_TYPE, List.of(input, transposed, scales));
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
