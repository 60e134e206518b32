package dev.unmask.packager.arch;

import dev.unmask.packager.onnx.FloatLinear;
import dev.unmask.packager.onnx.LinearWeightSink;
import dev.unmask.packager.onnx.WeightFormat;

/**
 * What the graph builder chooses beyond the checkpoint.
 *
 * @param format     storage of float weights (embedding, projections, head)
 * @param topK       candidates per position in the sampling head (1 … 64)
 * @param fullLogits whether to add the optional {@code logits} output
 * @param linear     how projections are emitted (float MatMul, or a quantizer's)
 * @param attention  which operator the layers' attention is
 */
public record GraphOptions(
        WeightFormat format, int topK, boolean fullLogits, LinearWeightSink linear, AttentionKernel attention) {

    public static final int DEFAULT_TOP_K = 8;
    public static final int MAX_TOP_K = 64;

    public GraphOptions {
        if (topK < 1 || topK > MAX_TOP_K) {
            throw new IllegalArgumentException("top_k must be 1.." + MAX_TOP_K + ", got " + topK + " (e.g. --top-k 8)");
        }
        java.util.Objects.requireNonNull(attention, "attention");
    }

    public static GraphOptions of(WeightFormat format) {
        return new GraphOptions(format, DEFAULT_TOP_K, false, new FloatLinear(format), AttentionKernel.ONNX);
    }

    public GraphOptions withTopK(int k) {
        return new GraphOptions(format, k, fullLogits, linear, attention);
    }

    public GraphOptions withFullLogits(boolean full) {
        return new GraphOptions(format, topK, full, linear, attention);
    }

    public GraphOptions withLinear(LinearWeightSink sink) {
        return new GraphOptions(format, topK, fullLogits, sink, attention);
    }

    public GraphOptions withAttention(AttentionKernel kernel) {
        return new GraphOptions(format, topK, fullLogits, linear, kernel);
    }
}
