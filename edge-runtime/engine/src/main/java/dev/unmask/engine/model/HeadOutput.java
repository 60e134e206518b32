package dev.unmask.engine.model;

/**
 * The sampling head of one forward pass, flattened row-major.
 *
 * @param batch      rows in the batch
 * @param positions  head positions per row
 * @param topK       candidates per position
 * @param topkIds    [batch, positions, topK] candidate ids, best first
 * @param topkLogits [batch, positions, topK] their logits
 * @param logsumexp  [batch, positions] log-sum-exp of the logits over the vocabulary
 * @param entropy    [batch, positions] entropy of softmax(logits) in nats
 * @param logits     [batch, positions, vocab] full logits, or null when the package has no full-logits output
 * @param vocab      width of {@code logits} (0 when absent)
 */
public record HeadOutput(
        int batch,
        int positions,
        int topK,
        long[] topkIds,
        float[] topkLogits,
        float[] logsumexp,
        float[] entropy,
        float[] logits,
        int vocab) {

    public long topkId(int row, int position, int rank) {
        return topkIds[(row * positions + position) * topK + rank];
    }

    public float topkLogit(int row, int position, int rank) {
        return topkLogits[(row * positions + position) * topK + rank];
    }

    public float logsumexp(int row, int position) {
        return logsumexp[row * positions + position];
    }

    public float entropy(int row, int position) {
        return entropy[row * positions + position];
    }

    /** log-probability of the rank-th candidate: logit - logsumexp. */
    public double logProb(int row, int position, int rank) {
        return (double) topkLogit(row, position, rank) - logsumexp(row, position);
    }

    public boolean hasLogits() {
        return logits != null;
    }
}
