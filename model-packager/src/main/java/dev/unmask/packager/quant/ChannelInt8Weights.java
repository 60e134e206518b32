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
}
