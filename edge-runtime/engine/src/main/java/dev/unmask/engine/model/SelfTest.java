package dev.unmask.engine.model;

import dev.unmask.format.PackageManifest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Runs a package's stored self-test ({@code manifest.self_test}): a fixed canvas with masks, and the top-1 ids the
 * packager's own run of the graph produced at {@code head_positions}. A package passes when the model reproduces
 * every id.
 */
public final class SelfTest {

    private SelfTest() {}

    /**
     * @param mismatches one line per head position whose top-1 differs, e.g. "row 0 position 3: expected 402, got 19"
     */
    public record Result(boolean passed, int checked, List<String> mismatches, long[][] actualTop1) {
        public Result {
            mismatches = List.copyOf(mismatches);
        }

        public String summary() {
            return passed
                    ? "self-test passed: " + checked + " top-1 ids reproduced"
                    : "self-test FAILED: " + mismatches.size() + " of " + checked + " top-1 ids differ: "
                            + String.join("; ", mismatches.subList(0, Math.min(5, mismatches.size())));
        }
    }

    /** Runs {@code model.manifest().self_test()} through {@code model}. */
    public static Result run(DenoisingModel model) {
        return run(model, model.manifest().selfTest());
    }

    public static Result run(DenoisingModel model, PackageManifest.SelfTest test) {
        if (test == null || test.inputIds() == null || test.headPositions() == null || test.expectedTop1() == null) {
            throw new IllegalArgumentException("manifest.json has no complete self_test "
                    + "(input_ids, head_positions, expected_top1); re-package with 'unmask-pack convert'");
        }
        long[][] ids = test.inputIds();
        long[][] mask = new long[ids.length][];
        for (int b = 0; b < ids.length; b++) {
            mask[b] = new long[ids[b].length];
            Arrays.fill(mask[b], 1L);
        }
        HeadOutput out = model.forward(ids, mask, test.headPositions());
        long[][] actual = new long[out.batch()][out.positions()];
        List<String> mismatches = new ArrayList<>();
        int checked = 0;
        for (int b = 0; b < out.batch(); b++) {
            for (int p = 0; p < out.positions(); p++) {
                actual[b][p] = out.topkId(b, p, 0);
                long expected = test.expectedTop1()[b][p];
                checked++;
                if (actual[b][p] != expected) {
                    mismatches.add("row " + b + " position " + test.headPositions()[b][p] + ": expected " + expected
                            + ", got " + actual[b][p]);
                }
            }
        }
        return new Result(mismatches.isEmpty(), checked, mismatches, actual);
    }
}
