package dev.unmask.packager.onnx;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;

/**
 * Facts about a package graph that its nodes' names must not be trusted to carry, recorded in the model's
 * {@code metadata_props} by the graph builder and read back by tools that rewrite the graph (the quantizer finds the
 * output head this way, whatever the architecture calls its nodes).
 */
public final class GraphMetadata {

    /**
     * The value the sampling head's projection reads: the normed hidden state at {@code head_positions},
     * {@code [batch, positions, d_model]}. The head is the one MatMul whose first input is this value.
     */
    public static final String SAMPLING_HEAD_INPUT = "dev.unmask.sampling_head.input";

    private GraphMetadata() {}

    public static StringStringEntryProto entry(String key, String value) {
        return StringStringEntryProto.newBuilder().setKey(key).setValue(value).build();
    }

    /** The value of {@code key} in {@code model}'s metadata_props, or null. */
    public static String get(ModelProto model, String key) {
        for (StringStringEntryProto e : model.getMetadataPropsList()) {
            if (e.getKey().equals(key)) {
                return e.getValue();
            }
        }
        return null;
    }
}
