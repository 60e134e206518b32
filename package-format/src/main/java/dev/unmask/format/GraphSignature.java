package dev.unmask.format;

import java.util.ArrayList;
import java.util.List;

/**
 * The names, types and shapes of a package graph's inputs and outputs: the one list that the graph builders, the
 * package writer (which records it in {@code manifest.json}) and the engine's ONNX Runtime session all read, so the
 * three cannot drift apart. {@code docs/package-format.md} documents each of them.
 */
public final class GraphSignature {

    /** [batch, sequence] int64: the canvas, mask ids where the model is to write. */
    public static final String INPUT_IDS = "input_ids";
    /** [batch, sequence] int64: 1 for real tokens, 0 for padding (a row shorter than the batch's longest). */
    public static final String ATTENTION_MASK = "attention_mask";
    /** [batch, positions] int64: the positions whose predictions the sampling head returns. */
    public static final String HEAD_POSITIONS = "head_positions";
    /** [batch, positions, top_k] int64: the top-k token ids at each head position, most likely first. */
    public static final String TOPK_IDS = "topk_ids";
    /** [batch, positions, top_k] float32: their logits. */
    public static final String TOPK_LOGITS = "topk_logits";
    /** [batch, positions] float32: log-sum-exp of the logits over the vocabulary. */
    public static final String LOGSUMEXP = "logsumexp";
    /** [batch, positions] float32: the entropy of the predicted distribution, in nats. */
    public static final String ENTROPY = "entropy";
    /** [batch, positions, vocab] float32: the full logits, present only in packages converted with them. */
    public static final String LOGITS = "logits";

    private GraphSignature() {}

    /** The graph's inputs as the manifest records them. */
    public static List<PackageManifest.TensorSpec> inputs() {
        return List.of(
                new PackageManifest.TensorSpec(INPUT_IDS, "int64", List.of("batch", "sequence")),
                new PackageManifest.TensorSpec(ATTENTION_MASK, "int64", List.of("batch", "sequence")),
                new PackageManifest.TensorSpec(HEAD_POSITIONS, "int64", List.of("batch", "positions")));
    }

    /**
     * The graph's outputs as the manifest records them.
     *
     * @param topK       candidates per head position
     * @param vocabSize  the vocabulary, for the full logits
     * @param fullLogits whether the graph also returns the full logits
     */
    public static List<PackageManifest.TensorSpec> outputs(int topK, int vocabSize, boolean fullLogits) {
        List<PackageManifest.TensorSpec> outputs = new ArrayList<>(List.of(
                new PackageManifest.TensorSpec(TOPK_IDS, "int64", List.of("batch", "positions", topK)),
                new PackageManifest.TensorSpec(TOPK_LOGITS, "float32", List.of("batch", "positions", topK)),
                new PackageManifest.TensorSpec(LOGSUMEXP, "float32", List.of("batch", "positions")),
                new PackageManifest.TensorSpec(ENTROPY, "float32", List.of("batch", "positions"))));
        if (fullLogits) {
            outputs.add(new PackageManifest.TensorSpec(LOGITS, "float32", List.of("batch", "positions", vocabSize)));
        }
        return List.copyOf(outputs);
    }
}
