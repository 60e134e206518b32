package dev.unmask.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unmask.engine.Engine;
import dev.unmask.engine.decode.ConfidenceMeasure;
import dev.unmask.engine.decode.KvCacheMode;
import dev.unmask.engine.decode.Remasking;
import dev.unmask.engine.request.DecodingPlan;
import dev.unmask.engine.request.DreamAlg;
import dev.unmask.engine.request.GenerationRequest;
import dev.unmask.engine.request.InvalidRequestException;
import dev.unmask.engine.request.JsonSkeleton;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * The sampler's options on the command line, as a {@link GenerationRequest}: anything not given keeps the package's
 * generation defaults, and the engine's planner decides blocks and steps exactly as it does for the API.
 */
public final class DecodingArgs {

    @Option(
            names = "--gen-length",
            paramLabel = "<tokens>",
            description = "tokens to generate; the last block is shorter when --block-length does not divide it")
    Integer genLength;

    @Option(names = "--block-length", paramLabel = "<tokens>", description = "semi-autoregressive block size")
    Integer blockLength;

    @Option(
            names = "--steps",
            paramLabel = "<n>",
            description =
                    "denoising steps over all blocks, a multiple of the number of blocks (default: the package's pace)")
    Integer steps;

    @Option(
            names = "--remasking",
            paramLabel = "low_confidence|random|origin",
            description = "which positions each step commits")
    String remasking;

    @Option(
            names = "--confidence",
            paramLabel = "probability|margin|entropy",
            description = "confidence measure (Dream's)")
    String confidence;

    @Option(
            names = "--alg",
            paramLabel = "origin|maskgit_plus|topk_margin|entropy",
            description = "Dream's decoding: sets --remasking and --confidence and Dream's timesteps schedule, "
                    + "one block by default (works on LLaDA packages too)")
    String alg;

    @Option(
            names = "--alg-temp",
            paramLabel = "<t>",
            description = "Dream's alg_temp: above 0 the positions a step commits are drawn from "
                    + "softmax(confidence / t); 0 = the most confident")
    Double algTemp;

    @Option(
            names = "--eps",
            paramLabel = "<eps>",
            description = "where Dream's timesteps end, in (0, 1), e.g. 0.001 (with --alg or a Dream package)")
    Double eps;

    @Option(names = "--temperature", paramLabel = "<t>", description = "0 = greedy; above 0 samples (Gumbel-max)")
    Double temperature;

    @Option(
            names = "--threshold",
            paramLabel = "<p>",
            description = "Fast-dLLM parallel decoding: commit every token at least this sure, e.g. 0.9")
    Double threshold;

    @Option(
            names = "--factor",
            paramLabel = "<f>",
            description = "Fast-dLLM factor rule, e.g. 1.0 (instead of --threshold)")
    Double factor;

    @Option(
            names = "--cfg-scale",
            paramLabel = "<s>",
            description = "classifier-free guidance (needs a --full-logits package)")
    Double cfgScale;

    @Option(names = "--top-k", paramLabel = "<k>", description = "sample among the k most likely tokens")
    Integer topK;

    @Option(names = "--top-p", paramLabel = "<p>", description = "nucleus sampling")
    Double topP;

    @Option(names = "--max-tokens", paramLabel = "<n>", description = "stop once the first n tokens are resolved")
    Integer maxTokens;

    @Option(names = "--stop", paramLabel = "<text>", description = "stop sequence (repeatable)")
    List<String> stop = new ArrayList<>();

    @Option(
            names = "--seed",
            paramLabel = "<n>",
            description = "random seed: the same seed gives the same text (default: 0)")
    Long seed;

    @Option(names = "--no-early-exit", description = "denoise the whole canvas even after the answer has ended")
    boolean noEarlyExit;

    @Option(
            names = "--json-schema",
            paramLabel = "<file>",
            description = "structured output: the answer is JSON that follows the JSON Schema in this file "
                    + "(see docs/structured-output.md for the supported keywords)")
    Path jsonSchema;

    @Option(
            names = "--cache",
            paramLabel = "none|prefix|dual",
            description = "key/value cache: prefix keeps what precedes the block, dual also what follows it "
                    + "(Fast-dLLM's; approximate on LLaDA and Dream, exact on a block-causal model); default: the "
                    + "model family's, none for LLaDA and Dream, prefix for a block-causal model")
    String cache;

    @Option(
            names = "--cache-refresh",
            paramLabel = "<steps>",
            description = "with a cache, also refresh it every n steps within a block; 0 = at block starts only "
                    + "(default), 1 = every step (the uncached answer)")
    Integer cacheRefresh;

    /** {@code --cache} as the engine's mode, or null when not given; a name it does not know shows the right ones. */
    private KvCacheMode cacheMode() {
        if (cache == null) {
            return null;
        }
        try {
            return KvCacheMode.parse(cache);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "--cache must be none, prefix or dual, e.g. --cache dual; got " + cache, e);
        }
    }

    /** The schema file's JSON, or null without {@code --json-schema}. */
    private JsonNode responseSchema() {
        if (jsonSchema == null) {
            return null;
        }
        try {
            return new ObjectMapper().readTree(Files.readString(jsonSchema));
        } catch (IOException e) {
            throw new IllegalArgumentException("--json-schema " + jsonSchema + " cannot be read as JSON ("
                    + e.getMessage().lines().findFirst().orElse("") + "): give a file holding a schema, e.g. "
                    + JsonSkeleton.EXAMPLE);
        }
    }

    /** The request for {@code prompt} with the options given; the others stay absent (the package's defaults). */
    public GenerationRequest request(GenerationRequest.Prompt prompt) {
        return GenerationRequest.builder(prompt)
                .length(genLength)
                .blockLength(blockLength)
                .steps(steps)
                .remasking(remasking == null ? null : Remasking.parse(remasking))
                .confidence(confidence == null ? null : ConfidenceMeasure.parse(confidence))
                .temperature(temperature)
                .threshold(threshold)
                .factor(factor)
                .cfgScale(cfgScale)
                .topK(topK)
                .topP(topP)
                .maxTokens(maxTokens)
                .stop(stop)
                .seed(seed)
                .earlyExit(noEarlyExit ? Boolean.FALSE : null)
                .alg(alg == null ? null : DreamAlg.parse(alg))
                .algTemp(algTemp)
                .eps(eps)
                .responseSchema(responseSchema())
                .cache(cacheMode())
                .cacheRefresh(cacheRefresh)
                .build();
    }

    /** The engine's plan for {@code request}, its violations in the flags' words. */
    static DecodingPlan plan(Engine engine, GenerationRequest request, CliFields fields) {
        try {
            return engine.plan(request);
        } catch (InvalidRequestException e) {
            throw e.phrased(fields);
        }
    }

    /** The plan for {@code prompt} with the options given. */
    public DecodingPlan plan(Engine engine, GenerationRequest.Prompt prompt) {
        return plan(engine, request(prompt), CliFields.GENERATE);
    }
}
