package dev.unmask.engine.pack;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * {@code manifest.json}: the contract between the packager, the engine and the functions.
 * Field by field it is documented in {@code docs/package-format.md}; change it only with a bump of
 * {@link #CURRENT_FORMAT_VERSION}.
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
        @JsonProperty("self_test") SelfTest selfTest) {

    public static final String FORMAT = "unmask-package";
    public static final int CURRENT_FORMAT_VERSION = 1;
    public static final String FILE_NAME = "manifest.json";

    public PackageManifest {
        Objects.requireNonNull(architecture, "manifest.json has no 'architecture'");
        Objects.requireNonNull(specialTokens, "manifest.json has no 'special_tokens'");
        Objects.requireNonNull(graph, "manifest.json has no 'graph'");
        files = files == null ? Map.of() : Map.copyOf(files);
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
            @JsonProperty("logits_shift") boolean logitsShift) {}

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
            List<TensorSpec> outputs) {}

    /** Token ids; {@code eot} and {@code bos} may be absent (null). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record SpecialTokens(int mask, int eos, Integer eot, Integer bos, int pad) {}

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record GenerationDefaults(
            int steps,
            @JsonProperty("gen_length") int genLength,
            @JsonProperty("block_length") int blockLength,
            double temperature,
            String remasking,
            @JsonProperty("cfg_scale") double cfgScale) {}

    public record FileEntry(long bytes, String sha256) {}

    public record Packager(String name, String version, String created) {}

    /** A fixed input and the top-1 ids the graph must produce at {@code head_positions}. */
    public record SelfTest(
            @JsonProperty("input_ids") long[][] inputIds,
            @JsonProperty("head_positions") long[][] headPositions,
            @JsonProperty("expected_top1") long[][] expectedTop1) {}
}
