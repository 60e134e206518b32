package dev.unmask.agent;

import dev.unmask.format.PackageManifest;

/**
 * Floating-point operations of one forward pass, from the model's shapes in the manifest: what "achieved GFLOP/s"
 * in {@code unmask bench} divides by the time in the model (docs/benchmarks.md, "Key/value caches (issue 14)").
 *
 * <p>Per row of the batch, with S query tokens (this forward's {@code input_ids}), P past tokens (cached keys and
 * values, 0 without a cache) and h head positions, a multiply-add counted as 2 operations:
 *
 * <pre>
 *   projections  2 · projectionParams · S        projectionParams = layers · (d·H·hd + 2·d·KV·hd + H·hd·d + 3·d·mlp)
 *   attention    layers · 4 · S · (P + S) · H·hd  (Q·Kᵀ and softmax·V, 2 · S · (P+S) · H·hd each)
 *   head         2 · d · embedding · h           (the output projection, at head positions only)
 * </pre>
 *
 * Norms, rotary, softmax and the head's top-k are left out: at these shapes they are under 1 % of the total.
 *
 * @param layers           transformer blocks
 * @param modelDim         d (d_model)
 * @param attentionDim     H·hd: query heads times head dimension
 * @param kvDim            KV·hd: key/value heads times head dimension
 * @param mlpHidden        the gated MLP's hidden size (gate, up and down projections)
 * @param headWidth        the output projection's width (embedding_size, which may pad vocab_size)
 */
record ModelFlops(int layers, int modelDim, int attentionDim, int kvDim, int mlpHidden, int headWidth) {

    static ModelFlops of(PackageManifest.Architecture a) {
        int headWidth = a.embeddingSize() > 0 ? a.embeddingSize() : a.vocabSize();
        return new ModelFlops(
                a.layers(),
                a.modelDim(),
                a.heads() * a.headDim(),
                a.kvHeads() * a.headDim(),
                a.mlpHiddenSize(),
                headWidth);
    }

    /** Weights a token passes through in the transformer blocks (embedding and head left out). */
    long projectionParams() {
        long d = modelDim;
        long perLayer = d * attentionDim + 2 * d * kvDim + (long) attentionDim * d + 3 * d * mlpHidden;
        return layers * perLayer;
    }

    /**
     * Operations of one forward.
     *
     * @param rows          batch rows
     * @param queryTokens   S: tokens run as queries per row (padding included: it is computed)
     * @param pastTokens    P: cached positions each query also attends to, per row
     * @param headPositions h: positions per row that get the output head
     */
    double forward(int rows, int queryTokens, int pastTokens, int headPositions) {
        double s = queryTokens;
        double projections = 2.0 * projectionParams() * s;
        double attention = 4.0 * layers * s * (pastTokens + s) * attentionDim;
        double head = 2.0 * modelDim * (double) headWidth * headPositions;
        return rows * (projections + attention + head);
    }
}
