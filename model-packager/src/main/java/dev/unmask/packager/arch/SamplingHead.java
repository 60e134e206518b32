package dev.unmask.packager.arch;

import static dev.unmask.packager.onnx.OnnxGraph.attr;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.unmask.format.GraphSignature;
import dev.unmask.packager.onnx.GraphMetadata;
import dev.unmask.packager.onnx.LinearRole;
import dev.unmask.packager.onnx.OnnxGraph;
import java.util.List;

/**
 * The sampling head every package graph ends with, whatever the body (docs/package-format.md, "The graph"): the
 * vocabulary is projected only at {@code head_positions}, and the graph returns what the samplers need there.
 *
 * <pre>
 * hp       = GatherND(x, head_positions[..., None], batch_dims=1)      [B, P, d]   (positions − 1 when logits shift)
 * logits   = linear_head(RMSNorm(hp, final_norm))                      [B, P, V]   (sliced from E rows when padded)
 * topk_logits, topk_ids = TopK(logits, k);  probs = Softmax(logits)
 * logsumexp = topk_logits[..., 0] − log(ReduceMax(probs))            (= log Σ exp(logits), without ReduceLogSumExp)
 * entropy  = logsumexp − Σ probs · logits;                         logits (optional, full_logits)
 * </pre>
 *
 * The projection goes through the options' linear sink with {@link LinearRole#SAMPLING_HEAD}, and the value it reads
 * is recorded as {@link GraphMetadata#SAMPLING_HEAD_INPUT}, so a quantizer finds the head by its role.
 */
public final class SamplingHead {

    /**
     * @param finalNorm  the final RMSNorm's weight {@code [d]}
     * @param projection the head's weight {@code [embedding_size, d]}: {@code lm_head}, or the embedding when tied
     */
    public record Weights(String finalNorm, String projection) {}

    private SamplingHead() {}

    /**
     * Adds the head on {@code hidden [B, L, d]} and declares the graph's outputs ({@link GraphSignature#outputs}).
     *
     * @return the value the head's projection reads, also recorded in the model's metadata by {@link GraphBuilder}
     */
    static String build(TransformerOps ops, String hidden, Weights weights) {
        OnnxGraph g = ops.graph();
        TransformerConfig config = ops.config();
        String positions = GraphSignature.HEAD_POSITIONS;
        if (config.logitsShift()) {
            // logits at i predict token i+1: the prediction for position p is read at p-1 (position 0 reads itself)
            String before = g.op("Sub", "/head/positions/shift/Sub", List.of(positions, g.int64s(1)));
            positions = g.op("Max", "/head/positions/shift/Max", List.of(before, g.int64s(0)));
        }
        String idx = g.op("Unsqueeze", "/head/positions/Unsqueeze", List.of(positions, g.int64s(-1)));
        String picked = g.op("GatherND", "/head/GatherND", List.of(hidden, idx), attr("batch_dims", 1L)); // [B, P, d]
        String normed = ops.rmsNorm("/head/ln_f", picked, weights.finalNorm());
        String logits = ops.linear(
                "/head/lm_head",
                normed,
                weights.projection(),
                config.embeddingSize(),
                config.modelDim(),
                LinearRole.SAMPLING_HEAD); // [B, P, E]
        if (config.embeddingSize() != config.vocabSize()) {
            logits = g.op(
                    "Slice",
                    "/head/vocab/Slice",
                    List.of(logits, g.int64s(0), g.int64s(config.vocabSize()), g.int64s(-1)));
        }
        int k = ops.options().topK();
        g.nodeNamed(
                "TopK",
                "",
                "/head/TopK",
                List.of(logits, g.int64s(k)),
                List.of(GraphSignature.TOPK_LOGITS, GraphSignature.TOPK_IDS),
                attr("axis", -1L),
                attr("largest", 1L),
                attr("sorted", 1L));
        String lastAxis = g.int64s(-1);
        String probs = g.op("Softmax", "/head/Softmax", List.of(logits), attr("axis", -1L)); // [B, P, V]
        // logsumexp without ORT's ReduceLogSumExp (a generic reduction, 8x the Softmax beside it: 5.6 ms for
        // 256 x 4096 logits, docs/benchmarks.md "Where a batched cached step goes"). With m = max(logits), the
        // softmax's largest value is exp(m - m) / Σ exp(l - m) = 1 / Σ exp(l - m), so
        //   logsumexp = m + log Σ exp(l - m) = m - log(max(softmax)).
        // m is topk_logits[..., 0] (TopK is sorted, largest first); max(softmax) is a plain ReduceMax of the
        // probabilities the entropy needs anyway. Exact up to fp32 rounding: max(softmax) >= 1/V, so its log has
        // the same relative error as the softmax's sum.
        String largest = g.op(
                "Gather",
                "/head/logsumexp/Gather",
                List.of(GraphSignature.TOPK_LOGITS, g.int64s(0)),
                attr("axis", -1L));
        String largestProb =
                g.op("ReduceMax", "/head/logsumexp/ReduceMax", List.of(probs, lastAxis), attr("keepdims", 0L));
        String logLargestProb = g.op("Log", "/head/logsumexp/Log", List.of(largestProb)); // [B, P]
        String offset = g.op("Squeeze", "/head/logsumexp/Squeeze", List.of(largest, lastAxis)); // [B, P]
        g.nodeNamed(
                "Sub", "", "/head/logsumexp/Sub", List.of(offset, logLargestProb), List.of(GraphSignature.LOGSUMEXP));
        String weighted = g.op("Mul", "/head/entropy/Mul", List.of(probs, logits));
        String expected =
                g.op("ReduceSum", "/head/entropy/ReduceSum", List.of(weighted, lastAxis), attr("keepdims", 0L));
        g.nodeNamed(
                "Sub",
                "",
                "/head/entropy/Sub",
                List.of(GraphSignature.LOGSUMEXP, expected),
                List.of(GraphSignature.ENTROPY));

        g.output(GraphSignature.TOPK_IDS, DataType.INT64, "batch", "positions", k);
        g.output(GraphSignature.TOPK_LOGITS, DataType.FLOAT, "batch", "positions", k);
        g.output(GraphSignature.LOGSUMEXP, DataType.FLOAT, "batch", "positions");
        g.output(GraphSignature.ENTROPY, DataType.FLOAT, "batch", "positions");
        if (ops.options().fullLogits()) {
            g.nodeNamed("Identity", "", "/head/logits/Identity", List.of(logits), List.of(GraphSignature.LOGITS));
            g.output(GraphSignature.LOGITS, DataType.FLOAT, "batch", "positions", config.vocabSize());
        }
        return normed;
    }
}
