package dev.unmask.packager.llada;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unmask.format.PackageManifest;
import dev.unmask.packager.arch.ConfigJson;
import dev.unmask.packager.arch.ModelArchitecture;
import dev.unmask.packager.arch.SamplingHead;
import dev.unmask.packager.arch.TransformerConfig;
import dev.unmask.packager.arch.TransformerOps;
import java.util.List;

/**
 * LLaDA (GSAI-ML/LLaDA-8B-Base and -Instruct, and the tiny-llada test model): a Llama-style body with bidirectional
 * attention, RMSNorm, SwiGLU, rotary embeddings, no biases, and an untied head unless {@code weight_tying}.
 *
 * <pre>
 * input_ids [B, L] ─ Gather(wte) ─ x [B, L, d]
 * per layer:  n1 = SimplifiedLayerNormalization(x, attn_norm)
 *             q, k, v = linear(n1)                         [B, L, H·hd], [B, L, Hkv·hd] ×2
 *             q, k = com.microsoft.RotaryEmbedding(·, pos 0…L-1, cos, sin, interleaved=0)   (NEOX half layout)
 *             a = Attention(q, k, v, attn_mask = padding of attention_mask, q_num_heads H, kv_num_heads Hkv)
 *                 bidirectional, opset 23; K and V keep their Hkv heads (query head h reads kv head h / group)
 *             h = x + linear(a);  x = h + linear_down(SiLU(linear_gate(n2)) · linear_up(n2)),  n2 = RMSNorm(h)
 * head:       the shared sampling head on x, with ln_f and ff_out (or wte when tied)
 * </pre>
 */
public final class Llada implements ModelArchitecture {

    public static final String FAMILY = "llada";

    private static final String WTE = "model.transformer.wte.weight";
    private static final String LN_F = "model.transformer.ln_f.weight";
    private static final String HEAD = "model.transformer.ff_out.weight";

    private static String block(int layer, String tensor) {
        return "model.transformer.blocks." + layer + "." + tensor + ".weight";
    }

    @Override
    public String family() {
        return FAMILY;
    }

    @Override
    public List<String> modelTypes() {
        return List.of("llada");
    }

    @Override
    public List<String> modelClasses() {
        return List.of("LLaDAModelLM");
    }

    /** Checked for the features this graph builds: RMSNorm, SwiGLU, RoPE, no biases, bidirectional attention. */
    @Override
    public TransformerConfig readConfig(ConfigJson c) {
        int dModel = c.requireInt("d_model");
        int heads = c.requireInt("n_heads");
        int kvHeads = c.intOr("n_kv_heads", heads);
        int vocab = c.requireInt("vocab_size");
        int embedding = c.intOr("embedding_size", vocab);
        int mlp = c.has("mlp_hidden_size")
                ? c.requireInt("mlp_hidden_size")
                : (int) Math.round(c.doubleOr("mlp_ratio", 4) * dModel);
        if (dModel % heads != 0) { // LLaDA derives head_dim from d_model; the rest is TransformerConfig's to check
            throw c.invalid("d_model " + dModel + " is not a multiple of n_heads " + heads + " (e.g. 4096 and 32)");
        }
        c.requireValue("layer_norm_type", "rms", "LLaDA");
        c.requireValue("activation_type", "silu", "LLaDA");
        c.requireValue("block_type", "llama", "LLaDA");
        c.requireFalse("include_bias", "LLaDA");
        c.requireFalse("include_qkv_bias", "LLaDA");
        c.requireFalse("scale_logits", "LLaDA");
        c.requireFalse("input_emb_norm", "LLaDA");
        if (!c.boolOr("rope", true)) {
            throw c.invalid("\"rope\": false; LLaDA packages use rotary embeddings (\"rope\": true)");
        }
        return new TransformerConfig(
                c.modelType(),
                c.requireInt("n_layers"),
                dModel,
                heads,
                kvHeads,
                dModel / heads,
                mlp,
                vocab,
                embedding,
                c.root().path("max_sequence_length").asInt(4096),
                c.doubleOr("rope_theta", 10000.0),
                c.doubleOr("rms_norm_eps", 1e-5),
                c.boolOr("weight_tying", false),
                true,
                false,
                false,
                new TransformerConfig.SpecialTokenIds(
                        c.optInt("mask_token_id"),
                        c.optInt("eos_token_id"),
                        c.optInt("pad_token_id"),
                        c.optInt("bos_token_id")));
    }

    @Override
    public List<ExpectedTensor> tensors(TransformerConfig c) {
        return TransformerOps.preNormTensors(c, WTE, Llada::blockTensors, LN_F, c.tiedEmbeddings() ? null : HEAD);
    }

    @Override
    public String body(TransformerOps ops) {
        return ops.preNormBody(WTE, Llada::blockTensors);
    }

    /** Layer i's tensors as LLaDA's {@code LLaDALlamaBlock} names them; no biases. */
    private static TransformerOps.BlockTensors blockTensors(int i) {
        return TransformerOps.BlockTensors.withoutBiases(
                block(i, "attn_norm"),
                block(i, "q_proj"),
                block(i, "k_proj"),
                block(i, "v_proj"),
                block(i, "attn_out"),
                block(i, "ff_norm"),
                block(i, "ff_proj"),
                block(i, "up_proj"),
                block(i, "ff_out"));
    }

    @Override
    public SamplingHead.Weights head(TransformerConfig c) {
        return new SamplingHead.Weights(LN_F, c.tiedEmbeddings() ? WTE : HEAD);
    }

    /**
     * LLaDA's {@code generate.py} arguments as {@code generation_config.json} keys ({@code steps}, {@code gen_length},
     * {@code block_length}, {@code temperature}, {@code remasking}, {@code cfg_scale}); absent ones take the reference
     * defaults (128 / 128 / 32, temperature 0, low_confidence) scaled to the model's longest canvas.
     */
    @Override
    public PackageManifest.GenerationDefaults generationDefaults(JsonNode g, TransformerConfig c) {
        int genLength = Math.min(128, c.maxSequenceLength() / 2);
        int block = Math.min(32, genLength);
        PackageManifest.GenerationDefaults reference =
                new PackageManifest.GenerationDefaults(genLength, genLength, block, 0.0, "low_confidence", 0.0);
        if (g == null) {
            return reference;
        }
        return new PackageManifest.GenerationDefaults(
                g.path("steps").asInt(reference.steps()),
                g.path("gen_length").asInt(reference.genLength()),
                g.path("block_length").asInt(reference.blockLength()),
                g.path("temperature").asDouble(reference.temperature()),
                g.path("remasking").asText(reference.remasking()),
                g.path("cfg_scale").asDouble(reference.cfgScale()));
    }
}
