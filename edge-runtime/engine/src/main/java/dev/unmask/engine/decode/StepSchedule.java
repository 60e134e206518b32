package dev.unmask.engine.decode;

/**
 * How many of a block's masked positions a step commits under a scheduled rule ({@link CommitRule.Schedule}), and,
 * for Dream's {@link Remasking#ORIGIN} reveal, with what probability each masked position is revealed. A block of
 * {@code steps} steps always ends resolved: the last step commits whatever is still masked.
 */
public sealed interface StepSchedule {

    /**
     * @param step          the step within the block, 0-based
     * @param steps         the block's planned steps
     * @param maskedAtStart the block's masked positions when it began
     * @param maskedNow     its masked positions before this step
     * @return positions to commit this step, between 0 and {@code maskedNow}
     */
    int count(int step, int steps, int maskedAtStart, int maskedNow);

    /** The manifest's and the API's name: {@code even} or {@code timesteps}. */
    String id();

    /** LLaDA's {@code get_num_transfer_tokens}: every step gets masked/steps, the first masked%steps one more. */
    record Even() implements StepSchedule {
        @Override
        public int count(int step, int steps, int maskedAtStart, int maskedNow) {
            if (step >= steps - 1) {
                return maskedNow;
            }
            int scheduled = maskedAtStart / steps + (step < maskedAtStart % steps ? 1 : 0);
            return Math.min(scheduled, maskedNow);
        }

        @Override
        public String id() {
            return "even";
        }
    }

    /**
     * Dream's schedule ({@code _sample} in {@code HKUNLP/Dream}'s {@code generation_utils.py}, read in the copies of
     * {@code NVlabs/Fast-dLLM}): {@code timesteps = torch.linspace(1, eps, steps + 1)}; step i goes from
     * {@code t = timesteps[i]} to {@code s = timesteps[i + 1]} and commits {@code int(masked * (1 - s / t))} of the
     * still-masked positions, all of them on the last step. The count may be 0 (early steps of few masks), which
     * is why {@link CommitRule.Schedule} may commit nothing in a step under this schedule.
     *
     * <p>Computed in float32 as the reference does: {@code linspace} the way PyTorch's CPU kernel computes it
     * ({@code step = (end - start) / (n - 1)}, the first half {@code fma(step, i, start)}, the second half
     * {@code fma(-step, n - 1 - i, end)}; checked value for value against {@code torch.linspace} 2.13 on CPU for
     * steps 4 to 512), then {@code 1 - s / t} and {@code masked * (1 - s / t)} in float32, truncated.
     *
     * @param eps where t ends, in (0, 1): Dream's {@code eps}, 1e-3 by default
     */
    record Timesteps(double eps) implements StepSchedule {

        /** Dream's {@code generation_config} default. */
        public static final double DREAM_EPS = 1e-3;

        public Timesteps {
            if (!(eps > 0 && eps < 1)) {
                throw new IllegalArgumentException(
                        "eps must be in (0, 1), e.g. eps 0.001 (Dream's default); got " + eps);
            }
        }

        /** {@code timesteps[i]} of {@code linspace(1, eps, steps + 1)} in float32, as PyTorch computes it. */
        public float t(int i, int steps) {
            int n = steps + 1;
            float start = 1f;
            float end = (float) eps;
            float step = (end - start) / (n - 1);
            return i < n / 2 ? Math.fma(step, (float) i, start) : Math.fma(-step, (float) (n - 1 - i), end);
        }

        /** {@code 1 - s / t} of step {@code step} (float32), 1 on the last step: the share of masks it resolves. */
        public float revealProbability(int step, int steps) {
            if (step >= steps - 1) {
                return 1f;
            }
            return 1f - t(step + 1, steps) / t(step, steps);
        }

        @Override
        public int count(int step, int steps, int maskedAtStart, int maskedNow) {
            if (step >= steps - 1) {
                return maskedNow;
            }
            return Math.min(maskedNow, (int) ((float) maskedNow * revealProbability(step, steps)));
        }

        @Override
        public String id() {
            return "timesteps";
        }
    }

    /** Reads {@code even} or {@code timesteps} (with {@code eps}). */
    static StepSchedule parse(String id, double eps) {
        return switch (id.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "even" -> new Even();
            case "timesteps" -> new Timesteps(eps);
            default ->
                throw new IllegalArgumentException(
                        "Unknown schedule '" + id + "': use even (LLaDA's) or timesteps (Dream's), e.g. timesteps");
        };
    }
}
