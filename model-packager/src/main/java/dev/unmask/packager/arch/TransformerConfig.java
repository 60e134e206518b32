package dev.unmask.packager.arch;

import dev.unmask.format.PackageManifest;

/**
 * The hyper-parameters every architecture's graph is built from, whatever its {@code config.json} calls them: a
 * {@link ModelArchitecture} reads its checkpoint's names into this record, and the graph, the tensor check and the
 * manifest's {@code architecture} record are all made from it.
 *
 * @param modelType         {@code config.json}'s {@code model_type}, e.g. {@code llada}
 * @param layers            transformer blocks
 * @param modelDim          hidden size {@code d_model}
 * @param heads             query heads
 * @param kvHeads           key/value heads (grouped-query attention when fewer than {@code heads})
 * @param headDim           size of one head; even (rotary embeddings rotate pairs)
 * @param mlpHiddenSize     inner size of the gated MLP
 * @param vocabSize         tokens the tokenizer can produce (the logits the head returns)
 * @param embeddingSize     rows of the embedding and of the head, {@code >= vocabSize} (padded vocabularies)
 * @param maxSequenceLength longest canvas, the rows of the rotary tables
 * @param ropeTheta         rotary base
 * @param rmsNormEps        epsilon of every RMSNorm
 * @param tiedEmbeddings    whether the head reuses the embedding matrix (no separate {@code lm_head} tensor)
 * @param bidirectional     whether attention sees the whole canvas (LLaDA, Dream); false for a block-causal family,
 *                          whose {@code blockSize} says what each position sees
 * @param logitsShift       whether the logits at position i predict token i+1 (Dream: the head reads position i-1)
 * @param qkvBias           whether the q/k/v projections have biases (Qwen2-style bodies)
 * @param tokens            special token ids that {@code config.json} declares (others come from the tokenizer)
 * @param blockSize         null for a fully bidirectional model; else attention is bidirectional inside blocks of this
 *                          many tokens (aligned at position 0) and causal across blocks (SDAR's {@code block_size}):
 *                          the graph adds the block-causal {@code attention_bias} and the manifest records
 *                          {@code architecture.block_size}
 */
public record TransformerConfig(
        String modelType,
        int layers,
        int modelDim,
        int heads,
        int kvHeads,
        int headDim,
        int mlpHiddenSize,
        int vocabSize,
        int embeddingSize,
        int maxSequenceLength,
        double ropeTheta,
        double rmsNormEps,
        boolean tiedEmbeddings,
        boolean bidirectional,
        boolean logitsShift,
        boolean qkvBias,
        SpecialTokenIds tokens,
        Integer blockSize) {

    /** Special token ids as {@code config.json} gives them; null where it does not. */
    public record SpecialTokenIds(Integer mask, Integer eos, Integer pad, Integer bos) {
        public static final SpecialTokenIds NONE = new SpecialTokenIds(null, null, null, null);
    }

    /** Checks what every graph relies on; the message names the field and its value, as config.json spells it. */
    public TransformerConfig {
        positive("layers", layers);
        positive("d_model", modelDim);
        positive("heads", heads);
        positive("kv heads", kvHeads);
        positive("head dim", headDim);
        positive("mlp hidden size", mlpHiddenSize);
        positive("vocab_size", vocabSize);
        positive("max sequence length", maxSequenceLength);
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException("has " + heads + " heads, not a multiple of its " + kvHeads
                    + " key/value heads (e.g. 32 heads with 8 or 32 key/value heads)");
        }
        if (headDim % 2 != 0) {
            throw new IllegalArgumentException(
                    "has head dim " + headDim + "; rotary embeddings need an even one (e.g. 128)");
        }
        if (embeddingSize < vocabSize) {
            throw new IllegalArgumentException("has embedding size " + embeddingSize + ", smaller than vocab_size "
                    + vocabSize + "; the embedding needs a row per token");
        }
        if (!(rmsNormEps > 0) || !(ropeTheta > 0)) {
            throw new IllegalArgumentException("needs positive rms_norm_eps and rope_theta (found " + rmsNormEps
                    + " and " + ropeTheta + "), e.g. 1e-5 and 10000");
        }
        tokens = tokens == null ? SpecialTokenIds.NONE : tokens;
        if (blockSize != null && (blockSize <= 0 || blockSize > maxSequenceLength)) {
            throw new IllegalArgumentException("has block size " + blockSize + "; a block-causal model needs one in 1.."
                    + maxSequenceLength + " (e.g. \"block_size\": 4)");
        }
    }

    /** A fully bidirectional (or causal) model: no block size. */
    public TransformerConfig(
            String modelType,
            int layers,
            int modelDim,
            int heads,
            int kvHeads,
            int headDim,
            int mlpHiddenSize,
            int vocabSize,
            int embeddingSize,
            int maxSequenceLength,
            double ropeTheta,
            double rmsNormEps,
            boolean tiedEmbeddings,
            boolean bidirectional,
            boolean logitsShift,
            boolean qkvBias,
            SpecialTokenIds tokens) {
        this(
                modelType,
                layers,
                modelDim,
                heads,
                kvHeads,
                headDim,
                mlpHiddenSize,
                vocabSize,
                embeddingSize,
                maxSequenceLength,
                ropeTheta,
                rmsNormEps,
                tiedEmbeddings,
                bidirectional,
                logitsShift,
                qkvBias,
                tokens,
                null);
    }

    /** Whether attention is block-causal ({@link #blockSize} set). */
    public boolean blockCausal() {
        return blockSize != null;
    }

    private static void positive(String what, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException("needs a positive " + what + ", found " + value);
        }
    }

    /** The width of all query heads together, {@code heads · headDim} (the attention's output). */
    public int queryDim() {
        return heads * headDim;
    }

    /** The width of all key (or value) heads together, {@code kvHeads · headDim}. */
    public int kvDim() {
        return kvHeads * headDim;
    }

    /** The manifest's {@code architecture} record for a package of this model. */
    public PackageManifest.Architecture manifestRecord(String family) {
        return new PackageManifest.Architecture(
                family,
                modelType,
                layers,
                modelDim,
                heads,
                kvHeads,
                headDim,
                mlpHiddenSize,
                vocabSize,
                embeddingSize,
                maxSequenceLength,
                ropeTheta,
                rmsNormEps,
                bidirectional,
                logitsShift,
                blockSize);
    }
}
