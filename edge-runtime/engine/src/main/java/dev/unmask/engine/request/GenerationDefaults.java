package dev.unmask.engine.request;

import dev.unmask.engine.decode.Remasking;
import dev.unmask.format.PackageManifest;

/**
 * What a request gets for the fields it leaves out: a package's {@code generation_defaults}, or LLaDA's reference
 * values for a small model where the package has none. {@code steps / genLength} is the package's pace, the steps
 * per token a request of any length gets by default.
 *
 * @param genLength   tokens to generate
 * @param blockLength semi-autoregressive block size
 * @param steps       denoising steps for {@code genLength} tokens
 * @param temperature 0 = greedy
 * @param remasking   which positions each step commits
 * @param cfgScale    classifier-free guidance, 0 = off
 */
public record GenerationDefaults(
        int genLength, int blockLength, int steps, double temperature, Remasking remasking, double cfgScale) {

    /** LLaDA's reference defaults for a small model: 64 tokens, blocks of 32, one token per step, greedy. */
    public static final GenerationDefaults LLADA =
            new GenerationDefaults(64, 32, 64, 0.0, Remasking.LOW_CONFIDENCE, 0.0);

    public GenerationDefaults {
        if (genLength < 1 || blockLength < 1 || steps < 1) {
            throw new IllegalArgumentException(
                    "generation_defaults need a positive gen_length, block_length and steps, " + "e.g. 64, 32, 64; got "
                            + genLength + ", " + blockLength + ", " + steps);
        }
    }

    public static GenerationDefaults of(PackageManifest manifest) {
        PackageManifest.GenerationDefaults g = manifest.generationDefaults();
        if (g == null) {
            return LLADA;
        }
        return new GenerationDefaults(
                g.genLength(),
                g.blockLength(),
                g.steps(),
                g.temperature(),
                g.remasking() == null ? Remasking.LOW_CONFIDENCE : Remasking.parse(g.remasking()),
                g.cfgScale());
    }

    /** Denoising steps per generated token by default. */
    public double stepsPerToken() {
        return (double) steps / genLength;
    }
}
