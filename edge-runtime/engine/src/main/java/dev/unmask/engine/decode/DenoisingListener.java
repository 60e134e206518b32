package dev.unmask.engine.decode;

import java.util.List;

/**
 * Sees a generation as it happens, for streaming and visualisation. Called on the thread that steps the run;
 * keep it quick. The canvases passed are copies the listener may keep.
 */
public interface DenoisingListener {

    DenoisingListener NONE = new DenoisingListener() {};

    /** After every step: what it committed and the canvas after it. */
    default void onStep(StepEvent event) {}

    /** After a block has no mask left. */
    default void onBlock(BlockEvent event) {}

    /**
     * One committed token.
     *
     * @param logprob the model's log-probability of the token at this step and its candidates; null where a caller
     *                built the commit without one
     */
    record Commit(int position, long token, double confidence, TokenLogprob logprob) {
        public Commit(int position, long token, double confidence) {
            this(position, token, confidence, null);
        }
    }

    /**
     * @param block     0-based block index
     * @param step      0-based step within the block
     * @param committed the positions this step committed, in position order
     * @param canvas    [sequence] the canvas after the step (mask id where still masked)
     */
    record StepEvent(int block, int step, List<Commit> committed, long[] canvas) {}

    /**
     * @param block  0-based block index
     * @param start  first position of the block
     * @param end    one past its last position
     * @param canvas [sequence] the canvas once the block is resolved
     */
    record BlockEvent(int block, int start, int end, long[] canvas) {}
}
