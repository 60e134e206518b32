package dev.unmask.engine.decode;

import dev.unmask.engine.model.CachedForward;
import dev.unmask.engine.model.DenoisingModel;
import dev.unmask.engine.model.HeadOutput;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Advances several runs by one step, in as few forward passes as pays: {@link ForwardGrouping} splits the runs into
 * groups of similar shape (rows whose padding to each other would cost more than a forward's fixed cost run apart),
 * one forward each. Within a group rows of different lengths are padded on the right (attention mask 0), so rotary
 * positions of real tokens stay {@code 0..n-1} as in an unbatched pass; head positions are padded by repeating a
 * row's last one.
 *
 * <p>With caches (any run whose options have one) the shapes are each run's window and past: eight cached steps of
 * one block share a forward whatever their pasts (padding a past costs attention only), and a refresh (the whole
 * canvas, no past) runs apart from them, because padding it and them to each other would run every cached row as
 * long as the longest canvas and every refresh row over the longest past (docs/engine.md, "Batching with caches").
 */
public final class BatchDenoiser {

    private BatchDenoiser() {}

    /**
     * One step for every unfinished run in {@code runs}, grouped by the package's {@link ForwardGrouping}.
     *
     * @return the forward passes' wall time in nanoseconds (0 when every run had finished)
     */
    public static long step(DenoisingModel model, List<DenoisingRun> runs) {
        return step(model, runs, ForwardGrouping.of(model.manifest().architecture()));
    }

    /** As {@link #step(DenoisingModel, List)}, with the given grouping policy. */
    public static long step(DenoisingModel model, List<DenoisingRun> runs, ForwardGrouping grouping) {
        List<DenoisingRun> active = new ArrayList<>();
        for (DenoisingRun run : runs) {
            if (!run.finished()) {
                active.add(run);
            }
        }
        if (active.isEmpty()) {
            return 0;
        }
        for (DenoisingRun run : active) {
            if (run.cached()) {
                return cachedStep(model, active, grouping);
            }
        }
        List<ForwardGrouping.Shape> shapes = new ArrayList<>(active.size());
        for (DenoisingRun run : active) {
            shapes.add(new ForwardGrouping.Shape(run.rows(), run.sequenceLength(), 0));
        }
        long nanos = 0;
        for (int[] group : grouping.groups(shapes)) {
            List<DenoisingRun> members = new ArrayList<>(group.length);
            for (int i : group) {
                members.add(active.get(i));
            }
            nanos += plainForward(model, members);
        }
        return nanos;
    }

    /** One plain forward for {@code active} (all unfinished, none cached), padded to a common length; applies each. */
    private static long plainForward(DenoisingModel model, List<DenoisingRun> active) {
        int rows = 0;
        int sequence = 0;
        int positions = 0;
        List<long[]> heads = new ArrayList<>();
        for (DenoisingRun run : active) {
            rows += run.rows();
            sequence = Math.max(sequence, run.sequenceLength());
            long[] head = run.headPositions();
            heads.add(head);
            positions = Math.max(positions, head.length);
        }
        long[][] inputIds = new long[rows][sequence]; // [batch, sequence]
        long[][] attentionMask = new long[rows][sequence]; // [batch, sequence]
        long[][] headPositions = new long[rows][positions]; // [batch, positions]
        int row = 0;
        for (int r = 0; r < active.size(); r++) {
            DenoisingRun run = active.get(r);
            long[] head = heads.get(r);
            for (long[] ids : run.inputRows()) {
                System.arraycopy(ids, 0, inputIds[row], 0, ids.length);
                Arrays.fill(inputIds[row], ids.length, sequence, run.padId());
                Arrays.fill(attentionMask[row], 0, ids.length, 1L);
                System.arraycopy(head, 0, headPositions[row], 0, head.length);
                Arrays.fill(headPositions[row], head.length, positions, head[head.length - 1]);
                row++;
            }
        }
        long started = System.nanoTime();
        HeadOutput out = model.forward(inputIds, attentionMask, headPositions);
        long forwardNanos = System.nanoTime() - started;
        row = 0;
        for (DenoisingRun run : active) {
            run.countFullForward();
            run.apply(out, row, forwardNanos);
            row += run.rows();
        }
        return forwardNanos;
    }

    /**
     * One step of a batch in which some runs have caches: every run's forward rows first (their cache bookkeeping),
     * then one forward per group of similar window and past, then every run's step.
     */
    private static long cachedStep(DenoisingModel model, List<DenoisingRun> active, ForwardGrouping grouping) {
        int n = active.size();
        List<List<CachedForward.Row>> rowsOf = new ArrayList<>(n);
        List<ForwardGrouping.Shape> shapes = new ArrayList<>(n);
        for (DenoisingRun run : active) {
            List<CachedForward.Row> rows = run.forwardRows();
            rowsOf.add(rows);
            int window = 0;
            int past = 0;
            for (CachedForward.Row r : rows) {
                window = Math.max(window, r.inputIds().length);
                past = Math.max(past, r.past().length());
            }
            shapes.add(new ForwardGrouping.Shape(rows.size(), window, past));
        }
        HeadOutput[] outs = new HeadOutput[n];
        int[] firstRows = new int[n];
        long[] nanos = new long[n];
        long total = 0;
        for (int[] group : grouping.groups(shapes)) {
            List<CachedForward.Row> rows = new ArrayList<>();
            for (int r : group) {
                firstRows[r] = rows.size();
                rows.addAll(rowsOf.get(r));
            }
            long started = System.nanoTime();
            HeadOutput out = model.forward(new CachedForward(rows));
            long forwardNanos = System.nanoTime() - started;
            total += forwardNanos;
            for (int r : group) {
                outs[r] = out;
                nanos[r] = forwardNanos;
            }
        }
        for (int r = 0; r < n; r++) {
            active.get(r).apply(outs[r], firstRows[r], nanos[r]);
        }
        return total;
    }
}
