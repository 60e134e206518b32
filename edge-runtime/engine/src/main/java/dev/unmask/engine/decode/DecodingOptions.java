package dev.unmask.engine.decode;

import dev.unmask.format.PackageManifest;

import java.util.List;
import java.util.Objects;

/**
 * Every knob of one generation. Values are checked here on their own (ranges); checks against a canvas and a
 * model (prompt length, divisibility, what the package can do) happen when a {@link DenoisingRun} starts.
 *
 * @param genLength     tokens to generate (the masked region's length); a multiple of {@code blockLength}
 * @param blockLength   semi-autoregressive block size: blocks are resolved left to right
 * @param steps         denoising steps over all blocks (LLaDA: {@code steps / blocks} per block); with a threshold
 *                      or factor rule the blocks run until resolved and {@code steps} only has to be in range
 * @param temperature   0 = greedy; above 0, Gumbel-max sampling from {@code softmax(logits / temperature)}
 * @param remasking     which positions each step commits
 * @param confidence    how sure the model is about a position (ranks positions, feeds the threshold rules)
 * @param commitRule    how many positions each step commits
 * @param cfgScale      classifier-free guidance; 0 = off; needs a package with the full {@code logits} output
 * @param topK          sample among the k most likely tokens only; 0 = off
 * @param topP          nucleus sampling: the smallest set of tokens whose probability reaches p; 1 = off
 * @param maxTokens     stop once the first {@code maxTokens} generated tokens are resolved; 0 = off
 * @param stopSequences stop once the resolved text contains one of these; the text is cut before it
 * @param earlyExit     stop once an EOS is committed and everything before it is resolved; the rest becomes EOS
 * @param seed          seeds the sampler's random generator: the same seed gives the same tokens
 */
public record DecodingOptions(
        int genLength,
        int blockLength,
        int steps,
        double temperature,
        Remasking remasking,
        ConfidenceMeasure confidence,
        CommitRule commitRule,
        double cfgScale,
        int topK,
        double topP,
        int maxTokens,
        List<String> stopSequences,
        boolean earlyExit,
        long seed) {

    public static final int MAX_GEN_LENGTH = 1 << 16;

    public DecodingOptions {
        Objects.requireNonNull(remasking, "remasking");
        Objects.requireNonNull(confidence, "confidence");
        Objects.requireNonNull(commitRule, "commitRule");
        stopSequences = stopSequences == null ? List.of() : List.copyOf(stopSequences);
        require(genLength >= 1 && genLength <= MAX_GEN_LENGTH,
                "gen_length must be between 1 and " + MAX_GEN_LENGTH + ", e.g. --gen-length 64; got " + genLength);
        require(blockLength >= 1, "block_length must be at least 1, e.g. --block-length 32; got " + blockLength);
        require(genLength % blockLength == 0, "gen_length " + genLength + " is not a multiple of block_length "
                + blockLength + ": use e.g. --gen-length " + roundUp(genLength, blockLength) + " --block-length "
                + blockLength + ", or --block-length " + genLength);
        int blocks = genLength / blockLength;
        require(steps >= blocks && steps <= genLength, "steps must be between " + blocks
                + " (one per block: gen_length / block_length) and " + genLength + " (gen_length), e.g. --steps "
                + genLength + "; got " + steps);
        require(steps % blocks == 0, "steps " + steps + " must be a multiple of the number of blocks " + blocks
                + " (gen_length " + genLength + " / block_length " + blockLength + "), e.g. --steps "
                + Math.max(blocks, steps / blocks * blocks));
        require(Double.isFinite(temperature) && temperature >= 0 && temperature <= 100,
                "temperature must be between 0 (greedy) and 100, e.g. --temperature 0.7; got " + temperature);
        require(Double.isFinite(cfgScale) && cfgScale >= 0 && cfgScale <= 100,
                "cfg_scale must be between 0 (off) and 100, e.g. --cfg-scale 1.5; got " + cfgScale);
        require(topK >= 0, "top_k must be 0 (off) or positive, e.g. --top-k 8; got " + topK);
        require(topP > 0 && topP <= 1, "top_p must be in (0, 1], 1 = off, e.g. --top-p 0.95; got " + topP);
        require(maxTokens >= 0 && maxTokens <= genLength, "max_tokens must be between 0 (off) and gen_length "
                + genLength + ", e.g. --max-tokens " + genLength + "; got " + maxTokens);
        for (String s : stopSequences) {
            require(s != null && !s.isEmpty(), "stop sequences must not be empty, e.g. --stop \"\\n\\n\"");
        }
    }

    /** LLaDA's reference defaults for a small model: 64 tokens, blocks of 32, one token per step, greedy. */
    public static DecodingOptions defaults() {
        return new DecodingOptions(64, 32, 64, 0.0, Remasking.LOW_CONFIDENCE, ConfidenceMeasure.PROBABILITY,
                new CommitRule.Schedule(), 0.0, 0, 1.0, 0, List.of(), true, 0L);
    }

    /** The package's {@code generation_defaults}, or {@link #defaults()} where it has none. */
    public static DecodingOptions defaults(PackageManifest manifest) {
        PackageManifest.GenerationDefaults g = manifest.generationDefaults();
        if (g == null) {
            return defaults();
        }
        return defaults().toBuilder()
                .genLength(g.genLength()).blockLength(g.blockLength()).steps(g.steps())
                .temperature(g.temperature())
                .remasking(g.remasking() == null ? Remasking.LOW_CONFIDENCE : Remasking.parse(g.remasking()))
                .cfgScale(g.cfgScale())
                .build();
    }

    public int blocks() {
        return genLength / blockLength;
    }

    public int stepsPerBlock() {
        return steps / blocks();
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    private static int roundUp(int value, int multiple) {
        return (value + multiple - 1) / multiple * multiple;
    }

    private static void require(boolean condition, String message) {
        if (!condition) {
            throw new IllegalArgumentException(message);
        }
    }

    /** Changes some options of a valid set; {@link #build()} validates the result. */
    public static final class Builder {
        private int genLength;
        private int blockLength;
        private int steps;
        private double temperature;
        private Remasking remasking;
        private ConfidenceMeasure confidence;
        private CommitRule commitRule;
        private double cfgScale;
        private int topK;
        private double topP;
        private int maxTokens;
        private List<String> stopSequences;
        private boolean earlyExit;
        private long seed;

        private Builder(DecodingOptions o) {
            genLength = o.genLength;
            blockLength = o.blockLength;
            steps = o.steps;
            temperature = o.temperature;
            remasking = o.remasking;
            confidence = o.confidence;
            commitRule = o.commitRule;
            cfgScale = o.cfgScale;
            topK = o.topK;
            topP = o.topP;
            maxTokens = o.maxTokens;
            stopSequences = o.stopSequences;
            earlyExit = o.earlyExit;
            seed = o.seed;
        }

        public Builder genLength(int v) { genLength = v; return this; }
        public Builder blockLength(int v) { blockLength = v; return this; }
        public Builder steps(int v) { steps = v; return this; }
        public Builder temperature(double v) { temperature = v; return this; }
        public Builder remasking(Remasking v) { remasking = v; return this; }
        public Builder confidence(ConfidenceMeasure v) { confidence = v; return this; }
        public Builder commitRule(CommitRule v) { commitRule = v; return this; }
        public Builder threshold(double v) { commitRule = new CommitRule.Threshold(v); return this; }
        public Builder factor(double v) { commitRule = new CommitRule.Factor(v); return this; }
        public Builder cfgScale(double v) { cfgScale = v; return this; }
        public Builder topK(int v) { topK = v; return this; }
        public Builder topP(double v) { topP = v; return this; }
        public Builder maxTokens(int v) { maxTokens = v; return this; }
        public Builder stopSequences(List<String> v) { stopSequences = v; return this; }
        public Builder earlyExit(boolean v) { earlyExit = v; return this; }
        public Builder seed(long v) { seed = v; return this; }

        public DecodingOptions build() {
            return new DecodingOptions(genLength, blockLength, steps, temperature, remasking, confidence, commitRule,
                    cfgScale, topK, topP, maxTokens, stopSequences, earlyExit, seed);
        }
    }
}
