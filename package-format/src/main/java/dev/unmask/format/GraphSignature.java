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
    /**
     * Format 3: [batch, sequence] int64, each input token's absolute position in the canvas (its rotary position and,
     * in a block-causal model, its block). Without a cache it is {@code 0 … sequence-1}; with one, the positions of
     * the tokens run this time.
     */
    public static final String POSITION_IDS = "position_ids";
    /** [batch, positions] int64: the positions (indices into this forward's {@code sequence}) the head returns. */
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

    private static final String PAST_KEY = "past_key.";
    private static final String PAST_VALUE = "past_value.";
    private static final String PRESENT_KEY = "present_key.";
    private static final String PRESENT_VALUE = "present_value.";

    private GraphSignature() {}

    /** Format 3: [batch, past_sequence, kv_dim] float32, layer {@code i}'s cached keys (after rotary), any order. */
    public static String pastKey(int layer) {
        return PAST_KEY + layer;
    }

    /** Format 3: [batch, past_sequence, kv_dim] float32, layer {@code i}'s cached values, in the keys' order. */
    public static String pastValue(int layer) {
        return PAST_VALUE + layer;
    }

    /** Format 3: [batch, sequence, kv_dim] float32, layer {@code i}'s keys of this forward's tokens (after rotary). */
    public static String presentKey(int layer) {
        return PRESENT_KEY + layer;
    }

    /** Format 3: [batch, sequence, kv_dim] float32, layer {@code i}'s values of this forward's tokens. */
    public static String presentValue(int layer) {
        return PRESENT_VALUE + layer;
    }

    /**
     * A format 3 graph's inputs: {@code input_ids}, {@code attention_mask} (now over {@code past_sequence + sequence}
     * keys, the past first), {@code position_ids}, {@code head_positions}, then {@code past_key.i},
     * {@code past_value.i} for every layer.
     */
    public static List<PackageManifest.TensorSpec> inputs(PackageManifest.KvCache cache) {
        List<PackageManifest.TensorSpec> inputs = new ArrayList<>(List.of(
                new PackageManifest.TensorSpec(INPUT_IDS, "int64", List.of("batch", "sequence")),
                new PackageManifest.TensorSpec(ATTENTION_MASK, "int64", List.of("batch", "total_sequence")),
                new PackageManifest.TensorSpec(POSITION_IDS, "int64", List.of("batch", "sequence")),
                new PackageManifest.TensorSpec(HEAD_POSITIONS, "int64", List.of("batch", "positions"))));
        for (int i = 0; i < cache.layers(); i++) {
            inputs.add(new PackageManifest.TensorSpec(
                    pastKey(i), cache.dtype(), List.of("batch", "past_sequence", cache.kvDim())));
            inputs.add(new PackageManifest.TensorSpec(
                    pastValue(i), cache.dtype(), List.of("batch", "past_sequence", cache.kvDim())));
        }
        return List.copyOf(inputs);
    }

    /** A format 3 graph's outputs: those of {@link #outputs(int, int, boolean)}, then the present keys and values. */
    public static List<PackageManifest.TensorSpec> outputs(
            int topK, int vocabSize, boolean fullLogits, PackageManifest.KvCache cache) {
        List<PackageManifest.TensorSpec> outputs = new ArrayList<>(outputs(topK, vocabSize, fullLogits));
        for (int i = 0; i < cache.layers(); i++) {
            outputs.add(new PackageManifest.TensorSpec(
                    presentKey(i), cache.dtype(), List.of("batch", "sequence", cache.kvDim())));
            outputs.add(new PackageManifest.TensorSpec(
                    presentValue(i), cache.dtype(), List.of("batch", "sequence", cache.kvDim())));
        }
        return List.copyOf(outputs);
    }

    /** A format 1 or 2 graph's inputs (no cache) as the manifest records them. */
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
