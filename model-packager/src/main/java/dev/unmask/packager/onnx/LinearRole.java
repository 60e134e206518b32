package dev.unmask.packager.onnx;

/**
 * What a linear weight is for in the graph, so that a {@link LinearWeightSink} (a quantizer, for one) can treat the
 * sampling head apart from the body's projections without guessing from node names.
 */
public enum LinearRole {
    /** A projection of the transformer body: Q, K, V, attention output, gate, up, down. */
    PROJECTION,
    /** The output head ({@code lm_head}): hidden state to vocabulary logits, read by the sampling head. */
    SAMPLING_HEAD
}
