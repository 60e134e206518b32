package dev.unmask.engine.decode;

/**
 * How many of a step's candidates (masked positions of the current block, ranked by confidence, best first) are
 * committed.
 */
public sealed interface CommitRule {

    /**
     * @param rankedConfidence confidences of the candidates, best first (at least one)
     * @param scheduled        the count the plan's {@link StepSchedule} gives this step
     * @return how many of the best candidates to commit: between 1 and {@code rankedConfidence.length} for the rules
     *     that run a block until it is resolved (each step must make progress); for {@link Schedule} between 0 and
     *     {@code rankedConfidence.length}, because Dream's timesteps schedule gives early steps of a few masks
     *     {@code int(masked * (1 - s/t)) = 0} and the reference then commits nothing (the schedule's last step
     *     commits the rest, so the block still ends in its planned steps)
     */
    int count(double[] rankedConfidence, int scheduled);

    /** Whether the block's step count is fixed by {@code steps} (true) or runs until the block is resolved. */
    boolean scheduled();

    /**
     * The reference's: commit the count the plan's {@link StepSchedule} gives the step (LLaDA's even spread over each
     * block, or Dream's timesteps), possibly 0.
     */
    record Schedule() implements CommitRule {
        @Override
        public int count(double[] rankedConfidence, int scheduled) {
            return Math.min(scheduled, rankedConfidence.length);
        }

        @Override
        public boolean scheduled() {
            return true;
        }
    }

    /**
     * Fast-dLLM's parallel decoding: every candidate with confidence at or above {@code threshold}, and always the
     * best one so that each step makes progress.
     */
    record Threshold(double threshold) implements CommitRule {
        public Threshold {
            if (!(threshold > 0 && threshold <= 1)) {
                throw new IllegalArgumentException(
                        "threshold must be in (0, 1], e.g. --threshold 0.9 (Fast-dLLM's default); got " + threshold);
            }
        }

        @Override
        public int count(double[] rankedConfidence, int scheduled) {
            int n = 1;
            while (n < rankedConfidence.length && rankedConfidence[n] >= threshold) {
                n++;
            }
            return n;
        }

        @Override
        public boolean scheduled() {
            return false;
        }
    }

    /**
     * Fast-dLLM's factor rule ({@code get_transfer_index_dynamic}): commit the longest run of best candidates whose
     * n-th confidence (1-based) is at least {@code 1 - factor / (n + 1)}, and always the best one. This is the
     * rule as intended; the reference's loop also commits the last candidate when it is the one that fails.
     */
    record Factor(double factor) implements CommitRule {
        public Factor {
            if (!(factor > 0 && factor < 100)) {
                throw new IllegalArgumentException("factor must be positive, e.g. --factor 1.0; got " + factor);
            }
        }

        @Override
        public int count(double[] rankedConfidence, int scheduled) {
            int n = 1;
            while (n < rankedConfidence.length && rankedConfidence[n] >= 1 - factor / (n + 2)) {
                n++;
            }
            return n;
        }

        @Override
        public boolean scheduled() {
            return false;
        }
    }
}
