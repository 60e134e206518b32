package dev.unmask.agent;

import dev.unmask.engine.model.DenoisingModel;
import dev.unmask.engine.model.HeadOutput;
import dev.unmask.format.PackageManifest;

/**
 * A {@link DenoisingModel} that counts what passes through it: forwards, query tokens, head positions and the
 * operations they cost ({@link ModelFlops}), for {@code unmask bench}. Counts are per {@link #reset()}; one thread.
 */
final class MeteredModel implements DenoisingModel {

    private final DenoisingModel model;
    private final ModelFlops flops;
    private long forwards;
    private long queryTokens; // summed over forwards: rows · sequence
    private long headPositions; // summed over forwards: rows · positions
    private double operations;

    MeteredModel(DenoisingModel model) {
        this.model = model;
        this.flops = ModelFlops.of(model.manifest().architecture());
    }

    @Override
    public HeadOutput forward(long[][] inputIds, long[][] attentionMask, long[][] headPositions) {
        int rows = inputIds.length;
        int sequence = rows == 0 ? 0 : inputIds[0].length;
        int positions = headPositions.length == 0 ? 0 : headPositions[0].length;
        count(rows, sequence, 0, positions);
        return model.forward(inputIds, attentionMask, headPositions);
    }

    private void count(int rows, int sequence, int past, int positions) {
        forwards++;
        queryTokens += (long) rows * sequence;
        headPositions += (long) rows * positions;
        operations += flops.forward(rows, sequence, past, positions);
    }

    /** Starts counting afresh (before each measured generation). */
    void reset() {
        forwards = 0;
        queryTokens = 0;
        headPositions = 0;
        operations = 0;
    }

    long forwards() {
        return forwards;
    }

    long queryTokens() {
        return queryTokens;
    }

    long headPositions() {
        return headPositions;
    }

    /** Floating-point operations since {@link #reset()}. */
    double operations() {
        return operations;
    }

    ModelFlops flops() {
        return flops;
    }

    @Override
    public PackageManifest manifest() {
        return model.manifest();
    }

    @Override
    public void close() {
        model.close();
    }
}
