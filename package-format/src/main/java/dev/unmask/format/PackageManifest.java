package dev.unmask.format;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * {@code manifest.json}: the contract between the packager, the engine and the functions.
 * Field by field it is documented in {@code docs/package-format.md}; change it only with a bump of
 * {@link #CURRENT_FORMAT_VERSION}, except for an optional field that readers may ignore (such as {@code quality}).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record PackageManifest(
        String format,
        @JsonProperty("format_version") int formatVersion,
        String name,
        Architecture architecture,
        Source source,
        Precision precision,
        Graph graph,
        @JsonProperty("special_tokens") SpecialTokens specialTokens,
        @JsonProperty("generation_defaults") GenerationDefaults generationDefaults,
        @JsonProperty("chat_template") String chatTemplate,
        Map<String, FileEntry> files,
        Packager packager,
        @JsonProperty("self_test") SelfTest selfTest,
        /* optional: what quantization costs against a reference package ('unmask-pack verify --against') */
        Quality quality) {

    public static final String FORMAT = "unmask-package";
    /**
     * 2 added the optional decoding fields of {@link GenerationDefaults} (other families than LLaDA); a version 1
     * manifest is read as one without them. 3 added the key/value cache: the graph's {@code position_ids},
     * {@code past_key.i}/{@code past_value.i} inputs and {@code present_key.i}/{@code present_value.i} outputs,
     * described by {@link Graph#kvCache()}, and {@link Architecture#blockSize()} for block-causal families; a
     * version 1 or 2 package has neither and runs without a cache.
     */
    public static final int CURRENT_FORMAT_VERSION = 3;

    /** The oldest {@code format_version} this reader accepts. */
    public static final int OLDEST_FORMAT_VERSION = 1;

    public static final String FILE_NAME = "manifest.json";

    @JsonCreator
    public PackageManifest {
        Objects.requireNonNull(architecture, "manifest.json has no 'architecture'");
        Objects.requireNonNull(specialTokens, "manifest.json has no 'special_tokens'");
        Objects.requireNonNull(graph, "manifest.json has no 'graph'");
        files = files == null ? Map.of() : Map.copyOf(files);
    }

    /** A manifest without a quality report (every package that was not verified against a reference). */
    public PackageManifest(
            String format,
            int formatVersion,
            String name,
            Architecture architecture,
            Source source,
            Precision precision,
            Graph graph,
            SpecialTokens specialTokens,
            GenerationDefaults generationDefaults,
            String chatTemplate,
            Map<String, FileEntry> files,
            Packager packager,
            SelfTest selfTest) {
        this(
                format,
                formatVersion,
                name,
                architecture,
                source,
                precision,
                graph,
                specialTokens,
                generationDefaults,
                chatTemplate,
                files,
                packager,
                selfTest,
                null);
    }

    /** This manifest with {@code quality} (null removes it). */
    public PackageManifest withQuality(Quality q) {
        return new PackageManifest(
                format,
                formatVersion,
                name,
                architecture,
                source,
                precision,
                graph,
                specialTokens,
                generationDefaults,
                chatTemplate,
                files,
                packager,
                selfTest,
                q);
    }

    /** Hyper-parameters the graph was built from. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Architecture(
            String family,
            @JsonProperty("model_type") String modelType,
            @JsonProperty("n_layers") int layers,
            @JsonProperty("d_model") int modelDim,
            @JsonProperty("n_heads") int heads,
            @JsonProperty("n_kv_heads") int kvHeads,
            @JsonProperty("head_dim") int headDim,
            @JsonProperty("mlp_hidden_size") int mlpHiddenSize,
            @JsonProperty("vocab_size") int vocabSize,
            @JsonProperty("embedding_size") int embeddingSize,
            @JsonProperty("max_sequence_length") int maxSequenceLength,
            @JsonProperty("rope_theta") double ropeTheta,
            @JsonProperty("rms_norm_eps") double rmsNormEps,
            boolean bidirectional,
            /* true for models (Dream) whose logits at position i predict token i+1 */
            @JsonProperty("logits_shift") boolean logitsShift,
            /*
             * format 3, block-causal families only (SDAR, BD3-LM, Fast-dLLM v2): attention is bidirectional inside
             * each block of this many tokens, blocks aligned at position 0, and causal across blocks; null for a
             * fully bidirectional model (LLaDA, Dream)
             */
            @JsonProperty("block_size") Integer blockSize) {

        @JsonCreator
        public Architecture {}

        /** A fully bidirectional (or causal) model: no {@code block_size}. */
        public Architecture(
                String family,
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
                boolean bidirectional,
                boolean logitsShift) {
            this(
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
                    null);
        }

        /** Whether attention is block-causal ({@link #blockSize} set). */
        public boolean blockCausal() {
            return blockSize != null;
        }
    }

    /** The checkpoint the package was made from: its folder name and the SHA-256 of every file read. */
    public record Source(String checkpoint, String sha256, Map<String, String> files) {}

    /** {@code dtype} of float weights and activations ({@code fp32}, {@code fp16}); {@code quantization} scheme or {@code none}. */
    public record Precision(String dtype, String quantization) {}

    public record TensorSpec(String name, String type, List<Object> shape) {}

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Graph(
            int opset,
            @JsonProperty("ir_version") int irVersion,
            @JsonProperty("top_k") int topK,
            @JsonProperty("full_logits") boolean fullLogits,
            List<TensorSpec> inputs,
            List<TensorSpec> outputs,
            /* format 3: the graph takes and returns per-layer keys and values; null for a graph without a cache */
            @JsonProperty("kv_cache") KvCache kvCache) {

        @JsonCreator
        public Graph {}

        /** A graph without a key/value cache (format 1 and 2). */
        public Graph(
                int opset,
                int irVersion,
                int topK,
                boolean fullLogits,
                List<TensorSpec> inputs,
                List<TensorSpec> outputs) {
            this(opset, irVersion, topK, fullLogits, inputs, outputs, null);
        }
    }

    /**
     * The key/value cache a format 3 graph carries (docs/package-format.md, "The key/value cache"): for each of
     * {@code layers} layers an input {@code past_key.i} / {@code past_value.i} and an output {@code present_key.i} /
     * {@code present_value.i}, all {@code [batch, tokens, kv_dim]} in {@code dtype}; keys after the rotary embedding.
     *
     * @param layers how many pairs of inputs and outputs
     * @param kvDim  {@code n_kv_heads · head_dim}: the width of one position's keys (or values) in one layer
     * @param dtype  {@code float32}
     */
    public record KvCache(
            int layers, @JsonProperty("kv_dim") int kvDim, String dtype) {

        /** Bytes one canvas position takes in the cache: keys and values of every layer. */
        public long bytesPerPosition() {
            return 2L * layers * kvDim * (dtype.equals("float16") ? 2 : 4);
        }
    }

    /** Token ids; {@code eot} and {@code bos} may be absent (null). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record SpecialTokens(int mask, int eos, Integer eot, Integer bos, int pad) {}

    /**
     * How the package's model is decoded when a request does not say. The first six fields are LLaDA's
     * ({@code generate.py}); the optional ones (format version 2) carry the other families' decoding, Dream's
     * {@code generation_config.json} among them. Absent optional fields mean LLaDA's behaviour.
     *
     * @param remasking  {@code low_confidence}, {@code random}, or {@code origin} (Dream's D3PM reveal: each masked
     *                   position is revealed with probability {@code 1 - s/t})
     * @param confidence how positions are ranked: {@code probability} (absent; LLaDA, Dream {@code maskgit_plus}),
     *                   {@code margin} (Dream {@code topk_margin}), {@code entropy} (Dream {@code entropy})
     * @param schedule   how many positions a step commits: {@code even} (absent; LLaDA's
     *                   {@code get_num_transfer_tokens} per block) or {@code timesteps} (Dream: {@code t} runs over
     *                   {@code linspace(1, eps, steps + 1)} and a step commits {@code int(masked * (1 - s/t))})
     * @param eps        the last timestep of the {@code timesteps} schedule (Dream's {@code eps}, 1e-3)
     * @param algTemp    above 0, the committed positions are drawn without replacement from
     *                   {@code softmax(confidence / alg_temp)} instead of taking the top ones (Dream's
     *                   {@code alg_temp}); absent or 0 takes the top ones
     * @param topP       nucleus filter of token sampling; absent = 1 (off)
     * @param topK       top-k filter of token sampling; absent = 0 (off)
     * @param threshold  optional (format 3, block-causal families): Fast-dLLM's / SDAR's threshold commit rule, each
     *                   step commits every masked position whose top-1 probability exceeds it (at least the
     *                   schedule's count); SDAR's {@code low_confidence_dynamic} with {@code confidence_threshold} 0.85.
     *                   Absent = the schedule alone
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record GenerationDefaults(
            int steps,
            @JsonProperty("gen_length") int genLength,
            @JsonProperty("block_length") int blockLength,
            double temperature,
            String remasking,
            @JsonProperty("cfg_scale") double cfgScale,
            String confidence,
            String schedule,
            Double eps,
            @JsonProperty("alg_temp") Double algTemp,
            @JsonProperty("top_p") Double topP,
            @JsonProperty("top_k") Integer topK,
            Double threshold) {

        @JsonCreator
        public GenerationDefaults {}

        /** LLaDA's defaults: the optional fields absent. */
        public GenerationDefaults(
                int steps, int genLength, int blockLength, double temperature, String remasking, double cfgScale) {
            this(steps, genLength, blockLength, temperature, remasking, cfgScale, null, null, null, null, null, null);
        }

        /** Format 2's fields: no threshold. */
        public GenerationDefaults(
                int steps,
                int genLength,
                int blockLength,
                double temperature,
                String remasking,
                double cfgScale,
                String confidence,
                String schedule,
                Double eps,
                Double algTemp,
                Double topP,
                Integer topK) {
            this(
                    steps,
                    genLength,
                    blockLength,
                    temperature,
                    remasking,
                    cfgScale,
                    confidence,
                    schedule,
                    eps,
                    algTemp,
                    topP,
                    topK,
                    null);
        }
    }

    public record FileEntry(long bytes, String sha256) {}

    public record Packager(String name, String version, String created) {}

    /** A fixed input and the top-1 ids the graph must produce at {@code head_positions}. */
    public record SelfTest(
            @JsonProperty("input_ids") long[][] inputIds,
            @JsonProperty("head_positions") long[][] headPositions,
            @JsonProperty("expected_top1") long[][] expectedTop1) {}

    /**
     * What quantization costs: this package compared with a float {@code reference} package on held-out text
     * ({@code unmask-pack verify --against}). Optional; readers that do not know it ignore it (format version 1).
     *
     * @param reference        the package compared against: name, precision and the SHA-256 of its model data
     * @param data             the held-out text: where from, how many windows of how many tokens
     * @param seed             seeds the masked positions (the same for both packages)
     * @param masked           one row per mask fraction t
     * @param generations      full generations on a fixed prompt set, temperature 0
     * @param minTop1Agreement the gate: every row's top-1 agreement was at least this (0 = no gate)
     * @param measured         when, ISO-8601 UTC
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Quality(
            Reference reference,
            String data,
            long seed,
            List<MaskedTokens> masked,
            Generations generations,
            @JsonProperty("min_top1_agreement") double minTop1Agreement,
            String measured) {

        public record Reference(
                String name,
                String precision,
                @JsonProperty("model_sha256") String modelSha256) {}

        /**
         * At mask fraction t, over {@code positions} masked tokens: share where both top-1 ids agree, mean
         * KL(reference ‖ this) in nats, and each package's masked-token loss (cross-entropy of the true token).
         */
        public record MaskedTokens(
                @JsonProperty("mask_fraction") double maskFraction,
                int positions,
                @JsonProperty("top1_agreement") double top1Agreement,
                @JsonProperty("mean_kl_nats") double meanKlNats,
                @JsonProperty("reference_loss_nats") double referenceLossNats,
                @JsonProperty("loss_nats") double lossNats) {}

        /** {@code identical} of {@code prompts} greedy generations equal the reference's token for token. */
        public record Generations(
                int prompts,
                int identical,
                @JsonProperty("gen_length") int genLength,
                @JsonProperty("block_length") int blockLength,
                int steps) {

            public double identicalShare() {
                return prompts == 0 ? 0 : (double) identical / prompts;
            }
        }
    }
}
