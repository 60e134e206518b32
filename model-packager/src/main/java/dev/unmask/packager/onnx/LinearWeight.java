package dev.unmask.packager.onnx;

import dev.unmask.packager.checkpoint.Checkpoint;
import dev.unmask.packager.checkpoint.TensorData;
import dev.unmask.packager.checkpoint.TensorEntry;

/**
 * An {@code nn.Linear} weight of the checkpoint, {@code W [outFeatures, inFeatures]} (PyTorch layout: one row per
 * output feature), not yet read, and the role it plays in the graph. {@link #map()} memory-maps it; close the result
 * when done.
 */
public record LinearWeight(Checkpoint checkpoint, TensorEntry entry, int outFeatures, int inFeatures, LinearRole role) {

    public LinearWeight(Checkpoint checkpoint, TensorEntry entry, int outFeatures, int inFeatures) {
        this(checkpoint, entry, outFeatures, inFeatures, LinearRole.PROJECTION);
    }

    public TensorData map() {
        return checkpoint.map(entry);
    }

    public String name() {
        return entry.name();
    }
}
