package dev.unmask.agent;

import dev.unmask.engine.decode.CommitRule;
import dev.unmask.engine.decode.ConfidenceMeasure;
import dev.unmask.engine.decode.DecodingOptions;
import dev.unmask.engine.decode.Remasking;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.List;

/** The sampler's options on the command line; anything not given keeps the package's generation defaults. */
public final class DecodingArgs {

    @Option(names = "--gen-length", paramLabel = "<tokens>", description = "tokens to generate (a multiple of --block-length)")
    Integer genLength;

    @Option(names = "--block-length", paramLabel = "<tokens>", description = "semi-autoregressive block size")
    Integer blockLength;

    @Option(names = "--steps", paramLabel = "<n>", description = "denoising steps over all blocks (a multiple of the number of blocks)")
    Integer steps;

    @Option(names = "--remasking", paramLabel = "low_confidence|random", description = "which positions each step commits")
    String remasking;

    @Option(names = "--confidence", paramLabel = "probability|margin|entropy", description = "confidence measure (Dream's)")
    String confidence;

    @Option(names = "--temperature", paramLabel = "<t>", description = "0 = greedy; above 0 samples (Gumbel-max)")
    Double temperature;

    @Option(names = "--threshold", paramLabel = "<p>", description = "Fast-dLLM parallel decoding: commit every token at least this sure, e.g. 0.9")
    Double threshold;

    @Option(names = "--factor", paramLabel = "<f>", description = "Fast-dLLM factor rule, e.g. 1.0 (instead of --threshold)")
    Double factor;

    @Option(names = "--cfg-scale", paramLabel = "<s>", description = "classifier-free guidance (needs a --full-logits package)")
    Double cfgScale;

    @Option(names = "--top-k", paramLabel = "<k>", description = "sample among the k most likely tokens")
    Integer topK;

    @Option(names = "--top-p", paramLabel = "<p>", description = "nucleus sampling")
    Double topP;

    @Option(names = "--max-tokens", paramLabel = "<n>", description = "stop once the first n tokens are resolved")
    Integer maxTokens;

    @Option(names = "--stop", paramLabel = "<text>", description = "stop sequence (repeatable)")
    List<String> stop = new ArrayList<>();

    @Option(names = "--seed", paramLabel = "<n>", description = "random seed: the same seed gives the same text (default: 0)")
    Long seed;

    @Option(names = "--no-early-exit", description = "denoise the whole canvas even after the answer has ended")
    boolean noEarlyExit;

    public DecodingOptions apply(DecodingOptions defaults) {
        DecodingOptions.Builder b = defaults.toBuilder();
        if (genLength != null) {
            b.genLength(genLength);
            if (blockLength == null && genLength % defaults.blockLength() != 0) {
                b.blockLength(genLength);
            }
            if (steps == null) {
                b.steps(genLength); // one token per step, LLaDA's best quality
            }
        }
        if (blockLength != null) {
            b.blockLength(blockLength);
        }
        if (steps != null) {
            b.steps(steps);
        }
        if (remasking != null) {
            b.remasking(Remasking.parse(remasking));
        }
        if (confidence != null) {
            b.confidence(ConfidenceMeasure.parse(confidence));
        }
        if (temperature != null) {
            b.temperature(temperature);
        }
        if (threshold != null && factor != null) {
            throw new IllegalArgumentException("Use either --threshold or --factor, not both");
        }
        if (threshold != null) {
            b.commitRule(new CommitRule.Threshold(threshold));
        }
        if (factor != null) {
            b.commitRule(new CommitRule.Factor(factor));
        }
        if (cfgScale != null) {
            b.cfgScale(cfgScale);
        }
        if (topK != null) {
            b.topK(topK);
        }
        if (topP != null) {
            b.topP(topP);
        }
        if (maxTokens != null) {
            b.maxTokens(maxTokens);
        }
        if (!stop.isEmpty()) {
            b.stopSequences(stop);
        }
        if (seed != null) {
            b.seed(seed);
        }
        if (noEarlyExit) {
            b.earlyExit(false);
        }
        return b.build();
    }
}
