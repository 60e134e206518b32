package dev.unmask.engine.decode;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.engine.decode.ForwardGrouping.Shape;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** How a step's runs are split into forward passes: the batching policy, specified on shapes alone. */
class ForwardGroupingTest {

    /** The tiny package's weights: d_model 256, 2 kv heads of 32, MLP 704. */
    static final ForwardGrouping TINY = new ForwardGrouping(48, (2.0 * 256 * 256 + 2 * 256 * 64 + 3 * 256 * 704) / 512);

    static List<Shape> times(int n, Shape s) {
        return Collections.nCopies(n, s);
    }

    static List<Shape> concat(List<Shape> a, List<Shape> b) {
        List<Shape> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }

    @Test
    void eightCachedStepsOfOneBlockShareOneForward() {
        List<int[]> groups = TINY.groups(times(8, new Shape(1, 32, 160)));
        assertEquals(1, groups.size());
        assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5, 6, 7}, groups.get(0));
    }

    @Test
    void cachedRowsWithDifferentPastLengthsStillShareOneForward() {
        // eight requests at different blocks: their caches differ by whole blocks, the window is the same
        List<Shape> shapes = List.of(
                new Shape(1, 32, 64),
                new Shape(1, 32, 96),
                new Shape(1, 32, 128),
                new Shape(1, 32, 160),
                new Shape(1, 32, 192),
                new Shape(1, 32, 64),
                new Shape(1, 32, 224),
                new Shape(1, 32, 96));
        assertEquals(1, TINY.groups(shapes).size(), "padding a past costs attention only, less than a forward");
    }

    @Test
    void aRefreshRowRunsApartFromTheCachedRowsItWouldPadSixfold() {
        // row 3 starts a block: a refresh over the whole 192-token canvas; the others run their 32-token block
        List<Shape> shapes = new ArrayList<>(times(7, new Shape(1, 32, 160)));
        shapes.add(3, new Shape(1, 192, 0));
        List<int[]> groups = TINY.groups(shapes);
        assertEquals(2, groups.size());
        assertArrayEquals(new int[] {0, 1, 2, 4, 5, 6, 7}, groups.get(0), "the cached rows, ordered by first index");
        assertArrayEquals(new int[] {3}, groups.get(1), "the refresh alone");
    }

    @Test
    void twoRefreshesShareTheirForward() {
        List<Shape> shapes = concat(times(6, new Shape(1, 32, 160)), times(2, new Shape(1, 192, 0)));
        List<int[]> groups = TINY.groups(shapes);
        assertEquals(2, groups.size());
        assertArrayEquals(new int[] {6, 7}, groups.get(1));
    }

    @Test
    void uncachedCanvasesOfSimilarLengthShareOneForward() {
        List<Shape> shapes =
                List.of(new Shape(1, 70, 0), new Shape(1, 64, 0), new Shape(1, 60, 0), new Shape(2, 66, 0));
        assertEquals(1, TINY.groups(shapes).size(), "a few tokens of padding cost less than a forward");
    }

    @Test
    void oneLongCanvasDoesNotPadEightShortOnesToItsLength() {
        List<Shape> shapes = concat(times(8, new Shape(1, 64, 0)), List.of(new Shape(1, 2048, 0)));
        List<int[]> groups = TINY.groups(shapes);
        assertEquals(2, groups.size());
        assertArrayEquals(new int[] {8}, groups.get(1));
    }

    @Test
    void aGuidedRunsTwoRowsCountTwice() {
        // a short guided run (2 rows) beside a long one: padding it costs twice a single row's
        double one = TINY.cost(1, 100, 0);
        double two = TINY.cost(2, 100, 0);
        assertEquals(two - 48, 2 * (one - 48), 1e-9, "the variable cost is per row");
    }

    @Test
    void oneForwardIsThePolicyThatNeverSplits() {
        List<Shape> shapes = concat(times(3, new Shape(1, 32, 160)), List.of(new Shape(1, 2048, 0)));
        assertEquals(1, ForwardGrouping.ONE_FORWARD.groups(shapes).size());
    }

    /** Every index once, each group increasing, groups by first index; and the least cost of all partitions. */
    @Test
    void theGroupsAreAPartitionOfLeastCostAmongAllPartitions() {
        SplittableRandom random = new SplittableRandom(17);
        for (int trial = 0; trial < 300; trial++) {
            int n = 1 + random.nextInt(7);
            List<Shape> shapes = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                shapes.add(new Shape(1 + random.nextInt(2), 1 + random.nextInt(400), 0));
            }
            List<int[]> groups = TINY.groups(shapes);
            boolean[] seen = new boolean[n];
            int previousFirst = -1;
            for (int[] g : groups) {
                assertTrue(g[0] > previousFirst, "groups ordered by their first index");
                previousFirst = g[0];
                for (int k = 0; k < g.length; k++) {
                    assertTrue(k == 0 || g[k] > g[k - 1], "indices increase within a group");
                    assertTrue(!seen[g[k]], "index " + g[k] + " in one group only");
                    seen[g[k]] = true;
                }
            }
            for (boolean s : seen) {
                assertTrue(s, "every run is in a group");
            }
            assertEquals(bruteForce(shapes), cost(shapes, groups), 1e-6, "least cost for " + shapes);
        }
    }

    private static double cost(List<Shape> shapes, List<int[]> groups) {
        double total = 0;
        for (int[] g : groups) {
            int rows = 0;
            int queries = 0;
            int past = 0;
            for (int i : g) {
                rows += shapes.get(i).rows();
                queries = Math.max(queries, shapes.get(i).queries());
                past = Math.max(past, shapes.get(i).past());
            }
            total += TINY.cost(rows, queries, past);
        }
        return total;
    }

    /** The least cost over every set partition (restricted growth strings), for a handful of shapes. */
    private static double bruteForce(List<Shape> shapes) {
        int n = shapes.size();
        int[] label = new int[n];
        double best = Double.POSITIVE_INFINITY;
        while (true) {
            int groupCount = 0;
            for (int l : label) {
                groupCount = Math.max(groupCount, l + 1);
            }
            List<int[]> groups = new ArrayList<>();
            for (int g = 0; g < groupCount; g++) {
                int size = 0;
                for (int l : label) {
                    size += l == g ? 1 : 0;
                }
                int[] members = new int[size];
                int k = 0;
                for (int i = 0; i < n; i++) {
                    if (label[i] == g) {
                        members[k++] = i;
                    }
                }
                groups.add(members);
            }
            best = Math.min(best, cost(shapes, groups));
            // next restricted growth string: label[i] <= 1 + max(label[0..i))
            int i = n - 1;
            while (i > 0) {
                int max = 0;
                for (int j = 0; j < i; j++) {
                    max = Math.max(max, label[j]);
                }
                if (label[i] <= max) {
                    label[i]++;
                    for (int j = i + 1; j < n; j++) {
                        label[j] = 0;
                    }
                    break;
                }
                i--;
            }
            if (i == 0) {
                return best;
            }
        }
    }
}
