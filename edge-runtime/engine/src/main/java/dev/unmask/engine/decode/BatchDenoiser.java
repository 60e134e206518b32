package dev.unmask.engine.decode;

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
        List<ForwardGrouping.Shape> shapes = new ArrayList<>(active.size());
        for (DenoisingRun run : active) {
            shapes.add(shape(run));
        }
        long nanos = 0;
        for (int[] group : grouping.groups(shapes)) {
            List<DenoisingRun> rows = new ArrayList<>(group.length);
            for (int i : group) {
                rows.add(active.get(i));
            }
            nanos += forward(model, rows);
        }
        return nanos;
    }

    /** What {@code run}'s next step puts into a forward. */
    static ForwardGrouping.Shape shape(DenoisingRun run) {
        return new ForwardGrouping.Shape(run.rows(), run.sequenceLength(), 0);
    }

    /** One forward pass for {@code active} (all unfinished), padded to a common length; applies each run's step. */
    private static long forward(DenoisingModel model, List<DenoisingRun> active) {
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
            run.apply(out, row, forwardNanos);
            row += run.rows();
        }
        return forwardNanos;
    }
}
