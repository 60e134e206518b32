package dev.unmask.engine.decode;

import dev.unmask.format.PackageManifest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * How one step's runs are split into forward passes: the batching policy of {@link BatchDenoiser}.
 *
 * <p>A batched forward pads every row to the longest query window and the longest past of its group (attention mask
 * 0), and a padded token costs the same as a real one. So one forward for everything is right when the rows have
 * about the same shape (eight cached steps of one 32-token block each: 256 query tokens at full matrix-product
 * efficiency) and wrong when they do not: a refresh row runs the whole canvas (say 192 tokens), and putting seven
 * cached 32-token rows with it pads them to 7 × 192 tokens, six times their own work. Likewise an uncached canvas
 * of 2 048 tokens beside eight of 64. Splitting has its own price, a forward's fixed cost (ONNX Runtime's per-node
 * dispatch, the inputs' copies, the head), which on a small model is worth a few dozen tokens of compute.
 *
 * <p>The rule: sort the rows by (query length, past length) and cut the sorted list into the contiguous groups whose
 * summed {@link #cost} is least (an exact dynamic programme over the cuts, O(n²) for n runs, microseconds at the
 * batch sizes served). Contiguous groups of the sorted list are optimal for the linear part of the cost and close for
 * the attention part; the batch never exceeds the scheduler's size anyway. Equal shapes always share a forward
 * (merging them adds no padding and saves a fixed cost), so rows of one kind are never split.
 *
 * <p>The cost of a group of {@code R} rows padded to {@code S} query and {@code P} past tokens, in units of one
 * token's projections and MLP: {@code fixed + R·S·(1 + (P + S) / attentionKeysPerToken)}. Per layer a token's
 * projections and MLP are about {@code 2·d² + 2·d·kv + 3·d·mlp} multiply-adds (q and o, k and v, the gated MLP) and
 * each key it attends to costs {@code 2·d} (q·k and the weighted v), hence {@link #attentionKeysPerToken} from the
 * manifest's shapes.
 *
 * @param fixedCostTokens       a forward's fixed cost in tokens of compute ({@link #DEFAULT_FIXED_COST_TOKENS})
 * @param attentionKeysPerToken how many attended keys cost as much as one token's projections and MLP
 */
public record ForwardGrouping(double fixedCostTokens, double attentionKeysPerToken) {

    /**
     * A forward's fixed cost, in tokens of compute: an estimate, not a calibration (the shared 2-core machine this
     * was written on ran at a load average of 20 to 35, where one forward's wall time says little). Where it matters
     * the choice is wide: a refresh of the whole canvas beside cached 32-token windows runs apart for any fixed cost
     * under about the canvas length, and equal shapes always merge. Too high a value errs towards one forward, the
     * behaviour before grouping; too low splits rows a padding of a few tokens would have joined.
     */
    public static final double DEFAULT_FIXED_COST_TOKENS = 48;

    /** Everything in one forward, whatever the shapes: the policy before grouping, for comparisons and tests. */
    public static final ForwardGrouping ONE_FORWARD = new ForwardGrouping(Double.POSITIVE_INFINITY, 1e9);

    public ForwardGrouping {
        if (!(fixedCostTokens >= 0) || !(attentionKeysPerToken > 0)) {
            throw new IllegalArgumentException("fixedCostTokens must be >= 0 and attentionKeysPerToken > 0, e.g. 48 "
                    + "and 1500; got " + fixedCostTokens + " and " + attentionKeysPerToken);
        }
    }

    /** The policy for a package: its shapes give the attention weight, the fixed cost is the default. */
    public static ForwardGrouping of(PackageManifest.Architecture a) {
        if (a.modelDim() <= 0) {
            return new ForwardGrouping(DEFAULT_FIXED_COST_TOKENS, 1);
        }
        double d = a.modelDim();
        double kv = a.kvHeads() > 0 && a.headDim() > 0 ? (double) a.kvHeads() * a.headDim() : d;
        double perToken = 2 * d * d + 2 * d * kv + 3 * d * a.mlpHiddenSize();
        return new ForwardGrouping(DEFAULT_FIXED_COST_TOKENS, Math.max(1, perToken / (2 * d)));
    }

    /**
     * What one run puts into a forward.
     *
     * @param rows    canvases (2 under classifier-free guidance)
     * @param queries tokens run as queries: the whole canvas without a cache, the window with one
     * @param past    cached keys attended to (0 without a cache, and on a refresh)
     */
    public record Shape(int rows, int queries, int past) {
        public Shape {
            if (rows < 1 || queries < 1 || past < 0) {
                throw new IllegalArgumentException(
                        "a run's shape needs rows >= 1, queries >= 1, past >= 0, e.g. (1, 32, 160); got (" + rows + ", "
                                + queries + ", " + past + ")");
            }
        }
    }

    /** The cost of one forward over {@code rows} rows padded to {@code queries} and {@code past} tokens. */
    public double cost(int rows, int queries, int past) {
        return fixedCostTokens + (double) rows * queries * (1 + (double) (past + queries) / attentionKeysPerToken);
    }

    /**
     * The forwards for one step: each an array of indices into {@code shapes}, increasing; every index in exactly
     * one group; groups ordered by their first index (so a step is deterministic in the runs' order).
     */
    public List<int[]> groups(List<Shape> shapes) {
        int n = shapes.size();
        if (n == 0) {
            return List.of();
        }
        Integer[] sorted = new Integer[n];
        for (int i = 0; i < n; i++) {
            sorted[i] = i;
        }
        Arrays.sort(
                sorted,
                Comparator.<Integer>comparingInt(i -> shapes.get(i).queries())
                        .thenComparingInt(i -> shapes.get(i).past())
                        .thenComparingInt(i -> i));
        // best[i] = least cost of the first i sorted runs; cut[i] = where the last group of that optimum starts
        double[] best = new double[n + 1];
        int[] cut = new int[n + 1];
        for (int i = 1; i <= n; i++) {
            best[i] = Double.POSITIVE_INFINITY;
            int rows = 0;
            int maxPast = 0;
            int queries = shapes.get(sorted[i - 1]).queries(); // the sort puts the longest window last
            for (int j = i - 1; j >= 0; j--) { // the group sorted[j..i)
                Shape s = shapes.get(sorted[j]);
                rows += s.rows();
                maxPast = Math.max(maxPast, s.past());
                double c = best[j] + cost(rows, queries, maxPast);
                if (c <= best[i]) { // ties to the larger group: fewer forwards
                    best[i] = c;
                    cut[i] = j;
                }
            }
        }
        List<int[]> groups = new ArrayList<>();
        for (int i = n; i > 0; i = cut[i]) {
            int[] g = new int[i - cut[i]];
            for (int k = 0; k < g.length; k++) {
                g[k] = sorted[cut[i] + k];
            }
            Arrays.sort(g);
            groups.add(g);
        }
        groups.sort(Comparator.comparingInt(g -> g[0]));
        return groups;
    }
}
