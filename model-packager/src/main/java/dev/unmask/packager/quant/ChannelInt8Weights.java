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
     * {@code int4:qgemm}: the int4 blocks of {@link QuantizedWeights#writeSignedInt4} (native ONNX {@code INT4}
     * codes {@code c − 8} {@code [N, k_blocks, block]}, scales {@code [N, k_blocks, 1]}) turned into per-channel
     * int8 by three nodes whose inputs are all constant, so ORT's constant folding evaluates them once at session
     * creation and the session holds int8 {@code [K, N]} (twice the int4 bytes in memory; the package stays
     * int4-sized on disk):
     *
     * <pre>
     * w      = Cast(codes, float) · scales            [N, k_blocks, block] float32: exactly MatMulNBits' dequantization
     * cscale = max(max_b |scales| · (8/127), 2^-126)  [N]   an initializer (8·|scale| is a block's largest magnitude;
     *                                                        the floor keeps a zero row's codes 0, not NaN)
     * q8     = QuantizeLinear(w, cscale, axis 0)      [N, k_blocks, block] int8: round half to even of w / cscale
     * Y      = DynamicQuantizeMatMul(A, Transpose(Reshape(q8, [N, K]))), cscale)
     * </pre>
     *
     * Why these ops: the first layout (before 2026-12-01 23:00 UTC, which still loads) unpacked the nibbles with
     * {@code BitwiseAnd}/{@code BitShift}/{@code Concat} and requantized with {@code Sub}/{@code Mul}/{@code Div}/
     * {@code Round}/{@code Cast}, about 17 folded nodes per projection, several of them full-size float tensors, which
     * made session creation take 12 s on tiny-llada (docs/benchmarks.md). {@code Cast} from {@code INT4} and
     * {@code QuantizeLinear} (MLAS's vectorized kernel: {@code x / scale}, round to nearest even, saturate) give the
     * same int8 codes (tested against the old chain in {@code IntegerGemmPackageTest}). Not {@code DequantizeLinear}
     * for the first step: ORT's constant folding skips every DequantizeLinear unless QDQ is disabled for the session
     * ({@code skip_dequantize_linear} in onnxruntime's {@code constant_folding.cc}), so it would run on every step.
     * The requantization adds at most {@code cscale/2} per weight, against int4's own error of up to
     * {@code |scale|/2}, so the weights stay int4's to within a few percent of its error.
     */
    static String linearFromSignedInt4(OnnxGraph graph, String name, String input, QuantizedLinear q) {
        int n = q.n();
        int k = q.k();
        int kBlocks = q.kBlocks();
        int block = q.scheme().blockSize();
        float[] channelScales = channelScales(q);
        String p = name + "/Int4ToInt8/";
        String scalesName = q.name() + "_channel_scales";
        graph.addInitializer(graph.data()
                .write(scalesName, DataType.FLOAT, new long[] {n}, sink -> sink.putFloats(channelScales, 0, n)));
        String weights = graph.op(
                "Mul",
                p + "Dequantized",
                List.of(
                        graph.op(
                                "Cast",
                                p + "CodesFloat",
                                List.of(q.name() + QuantizedWeights.SIGNED_INT4_SUFFIX),
                                OnnxGraph.attr("to", (long) DataType.FLOAT_VALUE)),
                        q.scalesName()));
        // com.microsoft's QuantizeLinear (the same MLAS kernel), not ONNX's: ONNX Runtime 1.23 registers
        // QuantizeLinear-23 with the wrong type constraint on y_scale and finds no kernel for it at the graph's opset
        // 23 (microsoft/onnxruntime#25932, fixed by PR #26491 after 1.23.2). The int8 zero points [N] (all 0) make
        // the output int8; contrib QuantizeLinear has no output_dtype.
        String zeroPoints = q.name() + "_channel_zero_points";
        graph.addInitializer(graph.data()
                .write(zeroPoints, DataType.INT8, new long[] {n}, sink -> sink.putBytes(new byte[n], 0, n)));
        String q8 = graph.msOp(
                "QuantizeLinear", p + "Int8", List.of(weights, scalesName, zeroPoints), OnnxGraph.attr("axis", 0L));
        String rows = graph.op("Reshape", p + "Rows", List.of(q8, graph.int64s(n, (long) kBlocks * block)));
        if ((long) kBlocks * block != k) { // K padded up to the block: drop the padding
            rows = graph.op("Slice", p + "Unpadded", List.of(rows, graph.int64s(0), graph.int64s(k), graph.int64s(1)));
        }
        String transposed = graph.op("Transpose", p + "TransposeB", List.of(rows), OnnxGraph.attrInts("perm", 1, 0));
        return graph.msOp(OP_TYPE, name + "/" + OP_TYPE, List.of(input, transposed, scalesName));
    }

    /**
     * {@code int4:qgemm}'s per-channel int8 scale of each output row: {@code max(max_b |scale[n, b]| · (8/127),
     * Float.MIN_NORMAL)}, in float arithmetic as the first layout's graph computed it.
     */
    static float[] channelScales(QuantizedLinear q) {
        float[] result = new float[q.n()];
        for (int row = 0; row < q.n(); row++) {
            float max = 0;
            for (int b = 0; b < q.kBlocks(); b++) {
                max = Math.max(max, Math.abs(q.scale(row, b)));
            }
            result[row] = Math.max(max * (8f / 127f), Float.MIN_NORMAL);
        }
        return result;
    }
}
