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
 */
public record ModelTraits(
        long maskId,
        long eosId,
        long eotId,
        long padId,
        boolean logitsShift,
        int headTopK,
        boolean fullLogits,
        int maxSequenceLength) {

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
                manifest.architecture().maxSequenceLength());
    }

    public boolean isEnd(long token) {
        return token == eosId || (eotId >= 0 && token == eotId);
    }
}
