package dev.unmask.packager.onnx;

import dev.unmask.packager.checkpoint.TensorData;
import java.util.List;

/**
 * {@code MatMul(x, Wᵀ)}: the weight stored transposed, {@code [in, out]}, in fp32 or fp16 (fp16 followed by a
 * {@code Cast} to fp32). The transpose is done in tiles of input features so that only ~32 MiB is in the heap at once,
 * whatever the tensor's size.
 */
public final class FloatLinear implements LinearWeightSink {

    private static final int TILE_FLOATS = 8 << 20;

    /** Appended to the checkpoint weight's name for its transposed initializer, e.g. {@code ….q_proj.weight.T}. */
    public static final String TRANSPOSED_SUFFIX = ".T";

    private final WeightFormat format;

    public FloatLinear(WeightFormat format) {
        this.format = format;
    }

    @Override
    public String linear(OnnxGraph graph, String name, String input, LinearWeight weight) {
        int out = weight.outFeatures();
        int in = weight.inFeatures();
        String w = graph.initializer(
                weight.name() + TRANSPOSED_SUFFIX,
                format.onnxType(),
                new long[] {in, out},
                sink -> writeTransposed(weight, sink));
        String w32 = format == WeightFormat.FP32
                ? w
                : graph.op("Cast", name + "/weight/Cast", List.of(w), OnnxGraph.attr("to", (long)
                        ai.onnx.proto.OnnxMl.TensorProto.DataType.FLOAT_VALUE));
        return graph.op("MatMul", name + "/MatMul", List.of(input, w32));
    }

    /** Streams {@code Wᵀ} row by row: row {@code i} of the output is column {@code i} of {@code W [out, in]}. */
    static void writeTransposed(LinearWeight weight, TensorBytes sink) {
        int out = weight.outFeatures();
        int in = weight.inFeatures();
        int tileRows = Math.max(1, Math.min(in, TILE_FLOATS / out));
        float[] tile = new float[tileRows * out];
        float[] column = new float[tileRows];
        try (TensorData data = weight.map()) {
            for (int i0 = 0; i0 < in; i0 += tileRows) {
                int rows = Math.min(tileRows, in - i0);
                for (int o = 0; o < out; o++) {
                    data.readRow(o, i0, rows, column, 0);
                    for (int r = 0; r < rows; r++) {
                        tile[r * out + o] = column[r];
                    }
                }
                sink.putFloats(tile, 0, rows * out);
            }
        }
    }

    @Override
    public String quantization() {
        return "none";
    }

    public WeightFormat format() {
        return format;
    }
}
