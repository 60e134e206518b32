package dev.unmask.agent;

import dev.unmask.engine.model.CachedForward;
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
    private long pastForwards; // forwards that read a cached past
    private long pastNanos; // time in them
    private long fullNanos; // time in the others (whole canvas: uncached steps, refreshes)

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
        long started = System.nanoTime();
        HeadOutput out = model.forward(inputIds, attentionMask, headPositions);
        fullNanos += System.nanoTime() - started;
        return out;
    }

    /**
     * A cached forward: the model pads its rows to the longest window, past and head, so those are what it
     * computes for every row.
     */
    @Override
    public HeadOutput forward(CachedForward forward) {
        int sequence = 0;
        int past = 0;
        int positions = 0;
        for (CachedForward.Row row : forward.rows()) {
            sequence = Math.max(sequence, row.inputIds().length);
            past = Math.max(past, row.past().length());
            positions = Math.max(positions, row.headPositions().length);
        }
        count(forward.rows().size(), sequence, past, positions);
        long started = System.nanoTime();
        HeadOutput out = model.forward(forward);
        long nanos = System.nanoTime() - started;
        if (past > 0) {
            pastForwards++;
            pastNanos += nanos;
        } else {
            fullNanos += nanos;
        }
        return out;
    }

    @Override
    public boolean supportsCache() {
        return model.supportsCache();
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
        pastForwards = 0;
        pastNanos = 0;
        fullNanos = 0;
    }

    /** Forwards that read a cached past (the rest ran without one: uncached steps and refreshes). */
    long pastForwards() {
        return pastForwards;
    }

    long pastNanos() {
        return pastNanos;
    }

    long fullNanos() {
        return fullNanos;
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
