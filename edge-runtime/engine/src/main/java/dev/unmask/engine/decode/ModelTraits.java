package dev.unmask.engine.decode;

import dev.unmask.format.PackageManifest;

/**
 * What the decoder needs to know about a package: its special tokens and what its graph outputs.
 *
 * @param maskId            the {@code <|mdm_mask|>} id a canvas is filled with
 * @param eosId             end of text (LLaDA pads the canvas tail with it)
 * @param eotId             end of turn, or -1 when the model has none
 * @param padId             what padding and early-exit fill use
 * @param logitsShift       the head at position i predicts token i+1 (Dream)
 * @param headTopK          candidates per position in the graph's head
 * @param fullLogits        whether the graph also outputs the full {@code logits}
 * @param maxSequenceLength the longest canvas the model was built for
 * @param blockSize         0 for a fully bidirectional model; else attention is bidirectional inside blocks of this
 *                          many tokens (aligned at position 0) and causal across them (SDAR, BD3-LM)
 * @param kvCache           the graph's key/value cache (format 3), or null for a graph without one
 */
public record ModelTraits(
        long maskId,
        long eosId,
        long eotId,
        long padId,
        boolean logitsShift,
        int headTopK,
        boolean fullLogits,
        int maxSequenceLength,
        int blockSize,
        PackageManifest.KvCache kvCache) {

    /** A fully bidirectional model whose graph has no cache. */
    public ModelTraits(
            long maskId,
            long eosId,
            long eotId,
            long padId,
            boolean logitsShift,
            int headTopK,
            boolean fullLogits,
            int maxSequenceLength) {
        this(maskId, eosId, eotId, padId, logitsShift, headTopK, fullLogits, maxSequenceLength, 0, null);
    }

    public static ModelTraits of(PackageManifest manifest) {
        PackageManifest.SpecialTokens t = manifest.specialTokens();
        return new ModelTraits(
                t.mask(),
                t.eos(),
                t.eot() == null ? -1 : t.eot(),
                t.pad(),
                manifest.architecture().logitsShift(),
                manifest.graph().topK(),
                manifest.graph().fullLogits(),
                manifest.architecture().maxSequenceLength(),
                manifest.architecture().blockCausal() ? manifest.architecture().blockSize() : 0,
                manifest.graph().kvCache());
    }

    /** Whether attention is block-causal, which makes a cache of finished blocks exact. */
    public boolean blockCausal() {
        return blockSize > 0;
    }

    /** Whether the graph takes past keys and values (format 3). */
    public boolean supportsCache() {
        return kvCache != null;
    }

    public boolean isEnd(long token) {
        return token == eosId || (eotId >= 0 && token == eotId);
    }
}
