package dev.unmask.engine.request;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unmask.engine.decode.ConfidenceMeasure;
import dev.unmask.engine.decode.KvCacheMode;
import dev.unmask.engine.decode.Remasking;
import dev.unmask.engine.text.ChatMessage;
import java.util.List;
import java.util.Objects;

/**
 * One generation as a user asks for it, on any surface (the command line, the desktop agent's API, the functions'):
 * what to generate and every sampling field, each null when absent so that the package's
 * {@code generation_defaults} apply. Plain data: the {@link DecodingPlanner} checks it and turns it into a
 * {@link DecodingPlan}.
 *
 * <pre>{@code
 * GenerationRequest r = GenerationRequest.builder(new Prompt.Continuation("def fibonacci(n):"))
 *         .length(40).steps(40).build();
 * }</pre>
 *
 * @param prompt        what to generate
 * @param length        tokens to generate (the region's length): {@code --gen-length}, {@code max_tokens}; for
 *                      {@link Prompt.Placeholders} the placeholders decide it and this is ignored
 * @param blockLength   semi-autoregressive block size; blocks are resolved left to right
 * @param steps         denoising steps over all blocks, a multiple of the number of blocks
 * @param temperature   0 = greedy
 * @param remasking     which positions each step commits
 * @param confidence    how sure the model is about a position
 * @param threshold     Fast-dLLM parallel decoding: commit every position at least this sure
 * @param factor        Fast-dLLM's factor rule (instead of a threshold)
 * @param cfgScale      classifier-free guidance, 0 = off
 * @param topK          sample among the k most likely tokens, 0 = off
 * @param topP          nucleus sampling, 1 = off
 * @param maxTokens     stop once the first n generated tokens are resolved (the text keeps at most n), 0 = off
 * @param stop          stop sequences: the text ends before the first one; never null
 * @param earlyExit     stop once an end-of-text token follows resolved text (continuations); default on
 * @param seed          the sampler's seed; default 0
 * @param alg           Dream's decoding algorithm: sets remasking and confidence ({@link DreamAlg}) and the timesteps
 *                      schedule; on a LLaDA package too (each block then runs Dream's schedule)
 * @param algTemp       Dream's {@code alg_temp}: above 0 the ranked positions are drawn from
 *                      {@code softmax(confidence / alg_temp)}; 0 = the most confident
 * @param eps           where Dream's timesteps end, in (0, 1); only with the timesteps schedule
 * @param responseSchema structured output: a JSON Schema the answer follows ({@link JsonSkeleton}); null = free text
 * @param cache         the key/value cache ({@code none}, {@code prefix}, {@code dual}); null = the package family's
 *                      default ({@link GenerationDefaults#cache()}), which is {@code none} on a package without one
 * @param cacheRefresh  refresh the cache every N steps within a block as well as at each block's start; 0 = at block
 *                      starts only (Fast-dLLM's rule), 1 = every step (the uncached answer); null = 0
 */
public record GenerationRequest(
        Prompt prompt,
        Integer length,
        Integer blockLength,
        Integer steps,
        Double temperature,
        Remasking remasking,
        ConfidenceMeasure confidence,
        Double threshold,
        Double factor,
        Double cfgScale,
        Integer topK,
        Double topP,
        Integer maxTokens,
        List<String> stop,
        Boolean earlyExit,
        Long seed,
        DreamAlg alg,
        Double algTemp,
        Double eps,
        JsonNode responseSchema,
        KvCacheMode cache,
        Integer cacheRefresh) {

    public GenerationRequest {
        Objects.requireNonNull(prompt, "prompt");
        stop = stop == null ? List.of() : List.copyOf(stop);
    }

    /** What to generate. */
    public sealed interface Prompt {

        /** A plain prompt, encoded with the BOS and followed by the region (LLaDA's {@code generate()}). */
        record Continuation(String text) implements Prompt {
            public Continuation {
                Objects.requireNonNull(text, "text");
            }
        }

        /**
         * A chat rendered with the package's template, the assistant's turn opened; the region is the answer.
         *
         * @param messages           the conversation, oldest first
         * @param allowSpecialTokens whether a control token spelled out in a message's content (say
         *                           {@code <|start_header_id|>}) is read as that token; false (the default) reads it
         *                           as plain text, so that no message can forge a turn of another role. Only the
         *                           template's own text then holds control tokens.
         */
        record Chat(List<ChatMessage> messages, boolean allowSpecialTokens) implements Prompt {
            public Chat {
                messages = List.copyOf(messages);
            }

            /** A chat whose message contents are read as plain text, control-token spellings and all. */
            public Chat(List<ChatMessage> messages) {
                this(messages, false);
            }
        }

        /** Fill in the middle: the region lies between {@code prefix} and {@code suffix}. */
        record Infill(String prefix, String suffix) implements Prompt {
            public Infill {
                Objects.requireNonNull(prefix, "prefix");
                Objects.requireNonNull(suffix, "suffix");
            }
        }

        /** A text whose {@code <|mdm_mask|>} placeholders are written; every other token stays as it is. */
        record Placeholders(String text) implements Prompt {
            public Placeholders {
                Objects.requireNonNull(text, "text");
            }
        }
    }

    public static Builder builder(Prompt prompt) {
        return new Builder(prompt);
    }

    public Builder toBuilder() {
        return new Builder(prompt)
                .length(length)
                .blockLength(blockLength)
                .steps(steps)
                .temperature(temperature)
                .remasking(remasking)
                .confidence(confidence)
                .threshold(threshold)
                .factor(factor)
                .cfgScale(cfgScale)
                .topK(topK)
                .topP(topP)
                .maxTokens(maxTokens)
                .stop(stop)
                .earlyExit(earlyExit)
                .seed(seed)
                .alg(alg)
                .algTemp(algTemp)
                .eps(eps)
                .responseSchema(responseSchema)
                .cache(cache)
                .cacheRefresh(cacheRefresh);
    }

    /** Sets fields one by one; unset ones stay absent (the package's defaults). */
    public static final class Builder {
        private Prompt prompt;
        private Integer length;
        private Integer blockLength;
        private Integer steps;
        private Double temperature;
        private Remasking remasking;
        private ConfidenceMeasure confidence;
        private Double threshold;
        private Double factor;
        private Double cfgScale;
        private Integer topK;
        private Double topP;
        private Integer maxTokens;
        private List<String> stop = List.of();
        private Boolean earlyExit;
        private Long seed;
        private DreamAlg alg;
        private Double algTemp;
        private Double eps;
        private JsonNode responseSchema;
        private KvCacheMode cache;
        private Integer cacheRefresh;

        private Builder(Prompt prompt) {
            this.prompt = prompt;
        }

        public Builder prompt(Prompt v) {
            prompt = v;
            return this;
        }

        public Builder length(Integer v) {
            length = v;
            return this;
        }

        public Builder blockLength(Integer v) {
            blockLength = v;
            return this;
        }

        public Builder steps(Integer v) {
            steps = v;
            return this;
        }

        public Builder temperature(Double v) {
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

        public Builder threshold(Double v) {
            threshold = v;
            return this;
        }

        public Builder factor(Double v) {
            factor = v;
            return this;
        }

        public Builder cfgScale(Double v) {
            cfgScale = v;
            return this;
        }

        public Builder topK(Integer v) {
            topK = v;
            return this;
        }

        public Builder topP(Double v) {
            topP = v;
            return this;
        }

        public Builder maxTokens(Integer v) {
            maxTokens = v;
            return this;
        }

        public Builder stop(List<String> v) {
            stop = v;
            return this;
        }

        public Builder earlyExit(Boolean v) {
            earlyExit = v;
            return this;
        }

        public Builder seed(Long v) {
            seed = v;
            return this;
        }

        public Builder alg(DreamAlg v) {
            alg = v;
            return this;
        }

        public Builder algTemp(Double v) {
            algTemp = v;
            return this;
        }

        public Builder eps(Double v) {
            eps = v;
            return this;
        }

        public Builder responseSchema(JsonNode v) {
            responseSchema = v;
            return this;
        }

        public Builder cache(KvCacheMode v) {
            cache = v;
            return this;
        }

        public Builder cacheRefresh(Integer v) {
            cacheRefresh = v;
            return this;
        }

        public GenerationRequest build() {
            return new GenerationRequest(
                    prompt,
                    length,
                    blockLength,
                    steps,
                    temperature,
                    remasking,
                    confidence,
                    threshold,
                    factor,
                    cfgScale,
                    topK,
                    topP,
                    maxTokens,
                    stop,
                    earlyExit,
                    seed,
                    alg,
                    algTemp,
                    eps,
                    responseSchema,
                    cache,
                    cacheRefresh);
        }
    }
}
