package dev.unmask.openai;

/** Sees the scheduler work, for metrics. Called on the scheduler's thread; keep it quick. */
public interface SchedulerObserver {

    SchedulerObserver NONE = new SchedulerObserver() {};

    /**
     * After one step of a batch.
     *
     * @param runs        requests advanced by this forward pass
     * @param stepNanos   wall time of the step (forward pass and sampling)
     */
    default void onStep(int runs, long stepNanos) {}

    /** A request finished; {@code tokens} generated, {@code steps} forward passes. */
    default void onFinished(int tokens, int steps) {}

    /** A request was refused because the queue was full. */
    default void onRejected() {}

    /** A request was dropped because its client went away. */
    default void onCancelled() {}
}
