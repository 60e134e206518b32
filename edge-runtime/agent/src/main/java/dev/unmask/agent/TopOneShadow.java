package dev.unmask.agent;

import dev.unmask.engine.model.CachedForward;
import dev.unmask.engine.model.DenoisingModel;
import dev.unmask.engine.model.HeadOutput;
import dev.unmask.format.PackageManifest;
import java.util.Arrays;
import java.util.List;

/**
 * A {@link DenoisingModel} that, at every step that does not run the whole canvas, also runs the full forward on the
 * same canvas and counts the head positions whose top-1 token is the same in both: the per-step top-1 agreement of
 * a cache ({@code unmask bench --cache-quality}, issue 14's "Proof").
 *
 * <p>A full forward (no past, the whole canvas: an uncached step or a refresh) is its own reference, so it agrees at
 * every head position by definition and is counted so without running twice. The shadow keeps the canvas as it
 * stands: the request's starting canvas, with each forward's window written over it at its position ids. That is
 * the canvas the engine decodes, because a step only ever commits positions of the current block, and every
 * forward's window holds the current block (prefix: {@code [q0, L)}; dual: {@code [q0, e)}; block-causal:
 * {@code [w0, end)}).
 *
 * <p>One request at a time ({@link #nextRequest}), one thread; the rows of a forward share the starting canvas (no
 * classifier-free guidance, whose second row masks the prompt).
 */
final class TopOneShadow implements DenoisingModel {

    private final DenoisingModel model;
    private long[] start; // [canvas] the request's starting canvas
    private long[][] canvas; // [batch][canvas] the canvas as it stands, per row; null until the first forward
    private long steps;
    private long cachedSteps;
    private long positions;
    private long agreeing;
    private long cachedPositions;
    private long cachedAgreeing;

    TopOneShadow(DenoisingModel model) {
        this.model = model;
    }

    /** Starts a request whose canvas begins as {@code startingCanvas}; the counts go on. */
    void nextRequest(long[] startingCanvas) {
        start = startingCanvas.clone();
        canvas = null;
    }

    /** The plain forward always runs the whole canvas (padding aside): its own reference. */
    @Override
    public HeadOutput forward(long[][] inputIds, long[][] attentionMask, long[][] headPositions) {
        HeadOutput out = model.forward(inputIds, attentionMask, headPositions);
        canvas = new long[inputIds.length][];
        for (int r = 0; r < inputIds.length; r++) {
            canvas[r] = inputIds[r].clone();
        }
        long heads = (long) out.batch() * out.positions();
        steps++;
        positions += heads;
        agreeing += heads;
        return out;
    }

    @Override
    public HeadOutput forward(CachedForward forward) {
        HeadOutput out = model.forward(forward);
        List<CachedForward.Row> rows = forward.rows();
        if (start == null) {
            throw new IllegalStateException("nextRequest(startingCanvas) first: the shadow needs the canvas");
        }
        if (canvas == null) {
            canvas = new long[rows.size()][];
            for (int r = 0; r < canvas.length; r++) {
                canvas[r] = start.clone();
            }
        }
        boolean whole = true;
        long heads = 0;
        for (int r = 0; r < rows.size(); r++) {
            CachedForward.Row row = rows.get(r);
            for (int j = 0; j < row.inputIds().length; j++) {
                canvas[r][(int) row.positionIds()[j]] = row.inputIds()[j];
            }
            whole &= row.past().length() == 0 && row.inputIds().length == canvas[r].length;
            heads += row.headPositions().length;
        }
        steps++;
        positions += heads;
        if (whole) {
            agreeing += heads;
            return out;
        }
        long same = agreeWithFullForward(rows, out);
        agreeing += same;
        cachedSteps++;
        cachedPositions += heads;
        cachedAgreeing += same;
        return out;
    }

    /** Head positions of {@code rows} whose top-1 in {@code cached} equals the full forward's on the canvas. */
    private long agreeWithFullForward(List<CachedForward.Row> rows, HeadOutput cached) {
        int n = rows.size();
        long[][] ids = new long[n][];
        long[][] mask = new long[n][];
        long[][] heads = new long[n][];
        for (int r = 0; r < n; r++) {
            CachedForward.Row row = rows.get(r);
            ids[r] = canvas[r].clone();
            mask[r] = new long[ids[r].length];
            Arrays.fill(mask[r], 1L);
            // the window's head index j reads canvas position positionIds[j]; in the full forward index = position
            heads[r] = new long[row.headPositions().length];
            for (int j = 0; j < heads[r].length; j++) {
                heads[r][j] = row.positionIds()[(int) row.headPositions()[j]];
            }
        }
        HeadOutput reference = model.forward(ids, mask, heads);
        long same = 0;
        for (int r = 0; r < n; r++) {
            for (int p = 0; p < heads[r].length; p++) { // the row's own heads, not the batch's padding
                if (cached.topkId(r, p, 0) == reference.topkId(r, p, 0)) {
                    same++;
                }
            }
        }
        return same;
    }

    @Override
    public boolean supportsCache() {
        return model.supportsCache();
    }

    /** Forwards seen. */
    long steps() {
        return steps;
    }

    /** Forwards that did not run the whole canvas, each compared with a full forward. */
    long cachedSteps() {
        return cachedSteps;
    }

    /** Share of head positions, over every step, whose top-1 equals the full forward's (1 when none were seen). */
    double agreement() {
        return positions == 0 ? 1 : (double) agreeing / positions;
    }

    /** The same over cached steps only (NaN when there were none: every step ran the whole canvas). */
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
