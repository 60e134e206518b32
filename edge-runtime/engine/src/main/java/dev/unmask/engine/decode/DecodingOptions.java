package dev.unmask.engine.decode;

import java.util.List;
import java.util.Objects;

/**
 * The sampler's knobs and the stop rules of one generation. How long the region is, how it splits into blocks and
 * how many steps each block gets is the {@link Block} list of a plan, not an option: one policy,
 * {@code dev.unmask.engine.request.DecodingPlanner}, decides it and checks every value here before a run starts.
 *
 * @param temperature   0 = greedy; above 0, Gumbel-max sampling from {@code softmax(logits / temperature)}
 * @param remasking     which positions each step commits
 * @param confidence    how sure the model is about a position (ranks positions, feeds the threshold rules)
 * @param commitRule    how many positions each step commits; with a threshold or factor rule a block runs until it
 *                      is resolved and its planned steps only feed the schedule's count
 * @param schedule      how many positions a step of the {@link CommitRule.Schedule} rule commits: LLaDA's even
 *                      spread or Dream's timesteps (which {@link Remasking#ORIGIN} needs)
 * @param algTemp       Dream's {@code alg_temp}: 0 commits the most confident positions; above 0 the positions are
 *                      drawn without replacement from {@code softmax(confidence / algTemp)} (Gumbel-top-k)
 * @param cfgScale      classifier-free guidance; 0 = off; needs a package with the full {@code logits} output
 * @param topK          sample among the k most likely tokens only; 0 = off
 * @param topP          nucleus sampling: the smallest set of tokens whose probability reaches p; 1 = off
 * @param maxTokens     stop once the first {@code maxTokens} generated tokens are resolved; 0 = off
 * @param stopSequences stop once the resolved text contains one of these; the text is cut before it
 * @param earlyExit     stop once an EOS is committed and everything before it is resolved; the rest becomes EOS
 * @param seed          seeds the sampler's random generator: the same seed gives the same tokens
 * @param cache         which keys and values steps reuse, and how often they are refreshed ({@link KvCache#NONE}:
 *                      every step runs the whole canvas)
 */
public record DecodingOptions(
        double temperature,
        Remasking remasking,
        ConfidenceMeasure confidence,
        CommitRule commitRule,
        StepSchedule schedule,
        double algTemp,
        double cfgScale,
        int topK,
        double topP,
        int maxTokens,
        List<String> stopSequences,
        boolean earlyExit,
        long seed,
        KvCache cache) {

    public DecodingOptions {
        Objects.requireNonNull(cache, "cache (KvCache.NONE for none)");
        Objects.requireNonNull(remasking, "remasking");
        Objects.requireNonNull(confidence, "confidence");
        Objects.requireNonNull(commitRule, "commitRule");
        Objects.requireNonNull(schedule, "schedule");
        if (!(algTemp >= 0 && algTemp < Double.POSITIVE_INFINITY)) {
            throw new IllegalArgumentException("algTemp must be 0 or positive and finite, e.g. 0.5; got " + algTemp);
        }
        if (remasking == Remasking.ORIGIN && !(schedule instanceof StepSchedule.Timesteps)) {
            throw new IllegalArgumentException(
                    "remasking origin reveals positions with probability 1 - s/t of the timesteps schedule: "
                            + "use new StepSchedule.Timesteps(0.001) with it; got " + schedule);
        }
        stopSequences = stopSequences == null ? List.of() : List.copyOf(stopSequences);
    }

    /**
     * Greedy LLaDA: low-confidence remasking by probability, its even schedule, no guidance, early exit, seed 0.
     */
    public static DecodingOptions defaults() {
        return new DecodingOptions(
                0.0,
                Remasking.LOW_CONFIDENCE,
                ConfidenceMeasure.PROBABILITY,
                new CommitRule.Schedule(),
                new StepSchedule.Even(),
                0.0,
                0.0,
                0,
                1.0,
                0,
                List.of(),
                true,
                0L,
                KvCache.NONE);
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    /** Changes some options. */
    public static final class Builder {
        private double temperature;
        private Remasking remasking;
        private ConfidenceMeasure confidence;
        private CommitRule commitRule;
        private StepSchedule schedule;
        private double algTemp;
        private double cfgScale;
        private int topK;
        private double topP;
        private int maxTokens;
        private List<String> stopSequences;
        private boolean earlyExit;
        private long seed;
        private KvCache cache;

        private Builder(DecodingOptions o) {
            temperature = o.temperature;
            remasking = o.remasking;
            confidence = o.confidence;
            commitRule = o.commitRule;
            schedule = o.schedule;
            algTemp = o.algTemp;
            cfgScale = o.cfgScale;
            topK = o.topK;
            topP = o.topP;
            maxTokens = o.maxTokens;
            stopSequences = o.stopSequences;
            earlyExit = o.earlyExit;
            seed = o.seed;
            cache = o.cache;
        }

        public Builder temperature(double v) {
            temperature = v;
            return this;
        }

        public Builder remasking(Remasking v) {
            remasking = v;
            return this;
        }

        public Builder confidence(ConfidenceMeasure v) {
            confidence = v;
            return this;
        }

        public Builder commitRule(CommitRule v) {
            commitRule = v;
            return this;
        }

        public Builder threshold(double v) {
            commitRule = new CommitRule.Threshold(v);
            return this;
        }

        public Builder factor(double v) {
            commitRule = new CommitRule.Factor(v);
            return this;
        }

        public Builder schedule(StepSchedule v) {
            schedule = v;
            return this;
        }

        public Builder algTemp(double v) {
            algTemp = v;
            return this;
        }

        public Builder cfgScale(double v) {
            cfgScale = v;
            return this;
        }

        public Builder topK(int v) {
            topK = v;
            return this;
        }

        public Builder topP(double v) {
            topP = v;
            return this;
        }

        public Builder maxTokens(int v) {
            maxTokens = v;
            return this;
        }

        public Builder stopSequences(List<String> v) {
            stopSequences = v;
            return this;
        }

        public Builder earlyExit(boolean v) {
            earlyExit = v;
            return this;
        }

        public Builder seed(long v) {
            seed = v;
            return this;
        }

        public Builder cache(KvCache v) {
            cache = v;
            return this;
        }

        public DecodingOptions build() {
            return new DecodingOptions(
                    temperature,
                    remasking,
                    confidence,
                    commitRule,
                    schedule,
                    algTemp,
                    cfgScale,
                    topK,
                    topP,
                    maxTokens,
                    stopSequences,
                    earlyExit,
                    seed,
                    cache);
        }
    }
}
