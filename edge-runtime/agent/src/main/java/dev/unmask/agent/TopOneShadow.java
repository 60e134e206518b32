package dev.unmask.agent;

import dev.unmask.engine.model.DenoisingModel;
import dev.unmask.engine.model.HeadOutput;
import dev.unmask.format.PackageManifest;

/**
 * A {@link DenoisingModel} that, at every cached step, also runs the full forward on the same canvas and counts
 * the head positions whose top-1 token is the same in both: the per-step top-1 agreement of an approximate cache
 * ({@code unmask bench --cache-quality}, issue 14's "Proof").
 *
 * <p>A full forward (no past keys: an uncached step or a refresh) is its own reference, so it agrees at every head
 * position by definition and is counted as such without running twice. The canvas a cached step's window belongs to
 * is the last full forward's, with the window's tokens written over it at their positions: what lies outside the
 * window has not changed since that refresh (the prefix is fixed; a dual cache's suffix is still masked).
 *
 * <p>One request at a time, one thread.
 */
final class TopOneShadow implements DenoisingModel {

    private final DenoisingModel model;
    private long[][] canvas; // [batch][canvas] the last full forward's input ids
    private long steps;
    private long cachedSteps;
    private long positions;
    private long agreeing;
    private long cachedPositions;
    private long cachedAgreeing;

    TopOneShadow(DenoisingModel model) {
        this.model = model;
    }

    @Override
    public HeadOutput forward(long[][] inputIds, long[][] attentionMask, long[][] headPositions) {
        HeadOutput out = model.forward(inputIds, attentionMask, headPositions);
        canvas = copy(inputIds);
        long heads = (long) out.batch() * out.positions();
        steps++;
        positions += heads;
        agreeing += heads;
        return out;
    }

    /**
     * Compares a cached step's head with the full forward's on the same canvas.
     *
     * @param window      [batch][sequence] the cached step's input ids
     * @param positionIds [batch][sequence] their canvas positions
     * @param heads       [batch][positions] the cached step's head positions, indices into {@code window}
     * @param cached      the cached step's head output
     */
    void compare(long[][] window, long[][] positionIds, long[][] heads, HeadOutput cached) {
        if (canvas == null) {
            throw new IllegalStateException("a cached step before any full forward: the cache was never filled");
        }
        long[][] full = copy(canvas);
        long[][] mask = new long[full.length][];
        long[][] fullHeads = new long[heads.length][];
        for (int row = 0; row < full.length; row++) {
            for (int j = 0; j < window[row].length; j++) {
                full[row][(int) positionIds[row][j]] = window[row][j];
            }
            mask[row] = new long[full[row].length];
            java.util.Arrays.fill(mask[row], 1L);
            fullHeads[row] = new long[heads[row].length];
            for (int j = 0; j < heads[row].length; j++) {
                fullHeads[row][j] = positionIds[row][(int) heads[row][j]];
            }
        }
        HeadOutput reference = model.forward(full, mask, fullHeads);
        long same = 0;
        for (int row = 0; row < cached.batch(); row++) {
            for (int p = 0; p < cached.positions(); p++) {
                if (cached.topkId(row, p, 0) == reference.topkId(row, p, 0)) {
                    same++;
                }
            }
        }
        long heads1 = (long) cached.batch() * cached.positions();
        steps++;
        cachedSteps++;
        positions += heads1;
        agreeing += same;
        cachedPositions += heads1;
        cachedAgreeing += same;
    }

    private static long[][] copy(long[][] rows) {
        long[][] c = new long[rows.length][];
        for (int i = 0; i < rows.length; i++) {
            c[i] = rows[i].clone();
        }
        return c;
    }

    /** Starts a new request: forgets the canvas, keeps the counts. */
    void nextRequest() {
        canvas = null;
    }

    long steps() {
        return steps;
    }

    long cachedSteps() {
        return cachedSteps;
    }

    /** Share of head positions, over every step, whose top-1 equals the full forward's (1 when none were seen). */
    double agreement() {
        return positions == 0 ? 1 : (double) agreeing / positions;
    }

    /** The same over cached steps only (NaN when there were none: every step was a full forward). */
    double cachedAgreement() {
        return cachedPositions == 0 ? Double.NaN : (double) cachedAgreeing / cachedPositions;
    }

    @Override
    public PackageManifest manifest() {
        return model.manifest();
    }

    @Override
    public void close() {
        // the engine owns the model
    }
}
