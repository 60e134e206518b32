package dev.unmask.packager.llada;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unmask.packager.ExitCode;
import dev.unmask.packager.PackagerException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The hyper-parameters of a LLaDA checkpoint, read from its {@code config.json} and checked for the features this
 * packager builds (RMSNorm, SwiGLU, RoPE, no biases, bidirectional attention).
 */
public record LladaConfig(
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
        boolean weightTying,
        Integer maskTokenId,
        Integer eosTokenId,
        Integer padTokenId,
        Integer bosTokenId) {

    /** model_type values this packager converts. */
    public static final List<String> SUPPORTED_MODEL_TYPES = List.of("llada");

    public static LladaConfig read(Path checkpointDir) {
        Path file = checkpointDir.resolve("config.json");
        if (!Files.isRegularFile(file)) {
            throw new PackagerException(ExitCode.BAD_CHECKPOINT, "No config.json in " + checkpointDir
                    + ": point --from at a Hugging Face checkpoint folder, e.g. --from models/tiny-llada");
        }
        JsonNode c;
        try {
            c = new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new PackagerException(ExitCode.BAD_CHECKPOINT, file + " is not valid JSON: " + e.getMessage(), e);
        }
        if (c == null || !c.isObject()) {
            throw new PackagerException(ExitCode.BAD_CHECKPOINT, file + " is not a JSON object");
        }
        String modelType = c.path("model_type").asText(null);
        if (modelType == null || !SUPPORTED_MODEL_TYPES.contains(modelType)) {
            throw new PackagerException(ExitCode.BAD_CHECKPOINT, file + " has model_type "
                    + (modelType == null ? "(none)" : "'" + modelType + "'") + "; unmask-pack converts "
                    + SUPPORTED_MODEL_TYPES + " (e.g. \"model_type\": \"llada\" as in GSAI-ML/LLaDA-8B-Instruct)");
        }
        int dModel = requireInt(c, file, "d_model");
        int heads = requireInt(c, file, "n_heads");
        int kvHeads = c.has("n_kv_heads") && !c.get("n_kv_heads").isNull() ? requireInt(c, file, "n_kv_heads") : heads;
        int vocab = requireInt(c, file, "vocab_size");
        int embedding = c.has("embedding_size") && !c.get("embedding_size").isNull() ? requireInt(c, file, "embedding_size") : vocab;
        int mlp = c.has("mlp_hidden_size") && !c.get("mlp_hidden_size").isNull()
                ? requireInt(c, file, "mlp_hidden_size")
                : (int) Math.round(c.path("mlp_ratio").asDouble(4) * dModel);
        if (dModel % heads != 0) {
            throw invalid(file, "d_model " + dModel + " is not a multiple of n_heads " + heads);
        }
        if (heads % kvHeads != 0) {
            throw invalid(file, "n_heads " + heads + " is not a multiple of n_kv_heads " + kvHeads);
        }
        if (embedding < vocab) {
            throw invalid(file, "embedding_size " + embedding + " is smaller than vocab_size " + vocab);
        }
        requireValue(c, file, "layer_norm_type", "rms");
        requireValue(c, file, "activation_type", "silu");
        requireValue(c, file, "block_type", "llama");
        requireFalse(c, file, "include_bias");
        requireFalse(c, file, "include_qkv_bias");
        requireFalse(c, file, "scale_logits");
        requireFalse(c, file, "input_emb_norm");
        if (c.has("rope") && !c.get("rope").asBoolean(true)) {
            throw invalid(file, "\"rope\": false; LLaDA packages use rotary embeddings (\"rope\": true)");
        }
        return new LladaConfig(modelType,
                requireInt(c, file, "n_layers"), dModel, heads, kvHeads, dModel / heads, mlp, vocab, embedding,
                c.path("max_sequence_length").asInt(4096),
                c.path("rope_theta").asDouble(10000.0),
                c.path("rms_norm_eps").asDouble(1e-5),
                c.path("weight_tying").asBoolean(false),
                optInt(c, "mask_token_id"), optInt(c, "eos_token_id"), optInt(c, "pad_token_id"), optInt(c, "bos_token_id"));
    }

    private static int requireInt(JsonNode c, Path file, String key) {
        JsonNode v = c.get(key);
        if (v == null || !v.canConvertToInt() || v.asInt() <= 0) {
            throw invalid(file, "needs a positive integer \"" + key + "\" (found " + v + "), e.g. \"" + key + "\": 32");
        }
        return v.asInt();
    }

    private static Integer optInt(JsonNode c, String key) {
        JsonNode v = c.get(key);
        return v == null || v.isNull() ? null : v.asInt();
    }

    private static void requireValue(JsonNode c, Path file, String key, String expected) {
        JsonNode v = c.get(key);
        if (v != null && !v.isNull() && !expected.equalsIgnoreCase(v.asText())) {
            throw invalid(file, "has \"" + key + "\": \"" + v.asText() + "\"; LLaDA packages support only \""
                    + key + "\": \"" + expected + "\"");
        }
    }

    private static void requireFalse(JsonNode c, Path file, String key) {
        JsonNode v = c.get(key);
        if (v != null && v.asBoolean(false)) {
            throw invalid(file, "has \"" + key + "\": true; the packager converts LLaDA checkpoints without it (\"" + key + "\": false)");
        }
    }

    private static PackagerException invalid(Path file, String what) {
        return new PackagerException(ExitCode.BAD_CHECKPOINT, file + " " + what);
    }
}
