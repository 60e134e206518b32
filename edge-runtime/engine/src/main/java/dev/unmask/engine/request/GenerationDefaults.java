package dev.unmask.engine.request;

import dev.unmask.engine.decode.ConfidenceMeasure;
import dev.unmask.engine.decode.KvCacheMode;
import dev.unmask.engine.decode.Remasking;
import dev.unmask.engine.decode.StepSchedule;
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
 * @param confidence  how positions are ranked
 * @param schedule    LLaDA's even spread, or Dream's timesteps (with its {@code eps}); under timesteps a request
 *                    that gives no {@code block_length} gets one block over the whole region, as Dream's
 *                    {@code _sample} has no blocks
 * @param algTemp     Dream's {@code alg_temp}, 0 = commit the most confident positions
 * @param topP        nucleus sampling, 1 = off
 * @param topK        sample among the k most likely tokens, 0 = off
 * @param cache       the key/value cache a request that names none gets, by the package's family ({@link #cacheFor});
 *                    the planner plans {@code none} instead on a package whose graph has no cache (format 1 or 2)
 */
public record GenerationDefaults(
        int genLength,
        int blockLength,
        int steps,
        double temperature,
        Remasking remasking,
        double cfgScale,
        ConfidenceMeasure confidence,
        StepSchedule schedule,
        double algTemp,
        double topP,
        int topK,
        KvCacheMode cache) {

    /**
     * LLaDA's default cache. {@code none} until the approximate caches' quality on the reference models is measured
     * ({@code unmask bench}, docs/benchmarks.md): Fast-dLLM's prefix and dual caches change the answer (a cached
     * position's keys were computed when the canvas held other tokens), so a default that changes every answer waits
     * for the numbers that say by how much. One constant per family, in the engine rather than in the manifest's
     * {@code generation_defaults}: the choice follows the engine's cache, not the checkpoint, and changing it here
     * reaches every package already converted without re-converting one.
     */
    public static final KvCacheMode LLADA_CACHE = KvCacheMode.NONE;

    /** Dream's (and DiffuCoder's) default cache: as {@link #LLADA_CACHE}, for the same reason. */
    public static final KvCacheMode DREAM_CACHE = KvCacheMode.NONE;

    /**
     * A block-causal family's default cache (SDAR, BD3-LM): {@code prefix}, which is exact there (a finished block
     * attends to no later one, so its keys and values never change) and what SDAR's own {@code generate.py} does.
     */
    public static final KvCacheMode BLOCK_CAUSAL_CACHE = KvCacheMode.PREFIX;

    /** LLaDA's reference defaults for a small model: 64 tokens, blocks of 32, one token per step, greedy. */
    public static final GenerationDefaults LLADA =
            new GenerationDefaults(64, 32, 64, 0.0, Remasking.LOW_CONFIDENCE, 0.0);

    public GenerationDefaults {
        if (genLength < 1 || blockLength < 1 || steps < 1) {
            throw new IllegalArgumentException(
                    "generation_defaults need a positive gen_length, block_length and steps, " + "e.g. 64, 32, 64; got "
                            + genLength + ", " + blockLength + ", " + steps);
        }
        java.util.Objects.requireNonNull(remasking, "remasking");
        java.util.Objects.requireNonNull(confidence, "confidence");
        java.util.Objects.requireNonNull(schedule, "schedule");
        java.util.Objects.requireNonNull(cache, "cache");
    }

    /** As the canonical constructor, with the LLaDA family's default cache. */
    public GenerationDefaults(
            int genLength,
            int blockLength,
            int steps,
            double temperature,
            Remasking remasking,
            double cfgScale,
            ConfidenceMeasure confidence,
            StepSchedule schedule,
            double algTemp,
            double topP,
            int topK) {
        this(
                genLength,
                blockLength,
                steps,
                temperature,
                remasking,
                cfgScale,
                confidence,
                schedule,
                algTemp,
                topP,
                topK,
                LLADA_CACHE);
    }

    /** LLaDA's six: probability ranking, the even schedule, no alg_temp, top-p and top-k off. */
    public GenerationDefaults(
            int genLength, int blockLength, int steps, double temperature, Remasking remasking, double cfgScale) {
        this(
                genLength,
                blockLength,
                steps,
                temperature,
                remasking,
                cfgScale,
                ConfidenceMeasure.PROBABILITY,
                remasking == Remasking.ORIGIN
                        ? new StepSchedule.Timesteps(StepSchedule.Timesteps.DREAM_EPS)
                        : new StepSchedule.Even(),
                0,
                1,
                0);
    }

    public static GenerationDefaults of(PackageManifest manifest) {
        return decoding(manifest).withCache(cacheFor(manifest.architecture()));
    }

    /**
     * The default cache of a package's family: {@link #BLOCK_CAUSAL_CACHE} for a block-causal one (whatever its
     * family's name), {@link #DREAM_CACHE} for Dream, else {@link #LLADA_CACHE}.
     */
    public static KvCacheMode cacheFor(PackageManifest.Architecture architecture) {
        if (architecture.blockCausal()) {
            return BLOCK_CAUSAL_CACHE;
        }
        return "dream".equals(architecture.family()) ? DREAM_CACHE : LLADA_CACHE;
    }

    /** These defaults with another default cache. */
    public GenerationDefaults withCache(KvCacheMode other) {
        return new GenerationDefaults(
                genLength,
                blockLength,
                steps,
                temperature,
                remasking,
                cfgScale,
                confidence,
                schedule,
                algTemp,
                topP,
                topK,
                other);
    }

    private static GenerationDefaults decoding(PackageManifest manifest) {
        PackageManifest.GenerationDefaults g = manifest.generationDefaults();
        if (g == null) {
            return LLADA;
        }
        Remasking remasking = g.remasking() == null ? Remasking.LOW_CONFIDENCE : Remasking.parse(g.remasking());
        double eps = g.eps() == null ? StepSchedule.Timesteps.DREAM_EPS : g.eps();
        // origin is defined on the timesteps (1 - s/t), so a package that reveals by origin decodes on them
        String schedule = g.schedule() != null ? g.schedule() : remasking == Remasking.ORIGIN ? "timesteps" : "even";
        return new GenerationDefaults(
                g.genLength(),
                g.blockLength(),
                g.steps(),
                g.temperature(),
                remasking,
                g.cfgScale(),
                g.confidence() == null ? ConfidenceMeasure.PROBABILITY : confidence(g.confidence()),
                StepSchedule.parse(schedule, eps),
                g.algTemp() == null ? 0 : g.algTemp(),
                g.topP() == null ? 1 : g.topP(),
                g.topK() == null ? 0 : g.topK());
    }

    /** The engine's measure names, or Dream's alg names for them ({@code maskgit_plus}, {@code topk_margin}). */
    private static ConfidenceMeasure confidence(String name) {
        try {
            return ConfidenceMeasure.parse(name);
        } catch (IllegalArgumentException notOurs) {
            return DreamAlg.parse(name).confidence();
        }
    }

    /** Whether the package decodes on Dream's timesteps (and so in one block by default). */
    public boolean timesteps() {
        return schedule instanceof StepSchedule.Timesteps;
    }

    /** Denoising steps per generated token by default. */
    public double stepsPerToken() {
        return (double) steps / genLength;
    }
}
