package dev.unmask.engine.decode;

import dev.unmask.engine.model.CachedForward;
import dev.unmask.engine.model.DenoisingModel;
import dev.unmask.engine.model.HeadOutput;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Advances several runs by one step with a single forward pass. Rows of different lengths are padded on the
 * right (attention mask 0), so rotary positions of real tokens stay {@code 0..n-1} as in an unbatched pass;
 * head positions are padded by repeating a row's last one.
 *
 * <p>With caches (any run whose options have one) a step takes at most two forwards: one for the rows that read no
 * past (refreshes, runs without a cache, a block-causal run's first forward) and one for the rows that do (windows
 * over their cached past, pasts of different lengths padded with attention_mask 0). Padding both kinds into one
 * forward would run every cached row as long as the longest canvas and every refresh row over the longest past
 * (docs/engine.md, "Batching with caches").
 */
public final class BatchDenoiser {

    private BatchDenoiser() {}

    /**
     * One step for every unfinished run in {@code runs}.
     *
     * @return the forward pass's wall time in nanoseconds (0 when every run had finished)
     */
    public static long step(DenoisingModel model, List<DenoisingRun> runs) {
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
                return cachedStep(model, active);
            }
        }
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

    /** One step of a batch in which some runs have caches: the rows without a past and those with one apart. */
    private static long cachedStep(DenoisingModel model, List<DenoisingRun> active) {
        int n = active.size();
        List<List<CachedForward.Row>> rowsOf = new ArrayList<>(n);
        for (DenoisingRun run : active) {
            rowsOf.add(run.forwardRows());
        }
        HeadOutput[] outs = new HeadOutput[n];
        int[] firstRows = new int[n];
        long[] nanos = new long[n];
        long total = 0;
        for (boolean withPast : new boolean[] {false, true}) {
            List<CachedForward.Row> rows = new ArrayList<>();
            List<Integer> members = new ArrayList<>();
            for (int r = 0; r < n; r++) {
                if (active.get(r).pastInLastRows() == withPast) {
                    firstRows[r] = rows.size();
                    rows.addAll(rowsOf.get(r));
                    members.add(r);
                }
            }
            if (rows.isEmpty()) {
                continue;
            }
            long started = System.nanoTime();
            HeadOutput out = model.forward(new CachedForward(rows));
            long forwardNanos = System.nanoTime() - started;
            total += forwardNanos;
            for (int r : members) {
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
