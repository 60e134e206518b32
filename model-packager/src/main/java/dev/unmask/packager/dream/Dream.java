package dev.unmask.packager.dream;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unmask.engine.request.DreamAlg;
import dev.unmask.format.PackageManifest;
import dev.unmask.packager.ExitCode;
import dev.unmask.packager.PackagerException;
import dev.unmask.packager.arch.ConfigJson;
import dev.unmask.packager.arch.ModelArchitecture;
import dev.unmask.packager.arch.SamplingHead;
import dev.unmask.packager.arch.TransformerConfig;
import dev.unmask.packager.arch.TransformerOps;
import java.util.Arrays;
import java.util.List;

/**
 * Dream (Dream-org/Dream-v0-Base-7B and -Instruct-7B) and DiffuCoder (apple/DiffuCoder-7B-Base, -Instruct, -cpGRPO,
 * the same architecture with {@code model_type "Dream"}): a Qwen2.5 body, adapted from an autoregressive model to
 * masked diffusion, run with bidirectional attention.
 *
 * <p>Checked against Dream's own {@code modeling_dream.py} (HKUNLP/Dream; the copy in NVlabs/Fast-dLLM
 * {@code dream/model/modeling_dream.py}): {@code head_dim = hidden_size / num_attention_heads}; q/k/v projections
 * {@code bias=True}, o_proj {@code bias=False}; gate/up/down without biases; {@code DreamRMSNorm} with
 * {@code rms_norm_eps}; Qwen2 rotary embeddings (NEOX half layout, {@code rope_theta}); attention scaled by
 * {@code 1/sqrt(head_dim)}, {@code is_causal=False}; and in {@code generation_utils.py} the logits shift
 * {@code logits = cat([logits[:, :1], logits[:, :-1]], 1)}, which the shared {@link SamplingHead} builds from
 * {@link TransformerConfig#logitsShift()}.
 *
 * <pre>
 * input_ids [B, L] ─ Gather(model.embed_tokens) ─ x [B, L, d]
 * per layer:  n1 = RMSNorm(x, input_layernorm)
 *             q = linear(n1) + q_bias   [B, L, H·hd];  k, v = linear(n1) + bias   [B, L, Hkv·hd]   (bias fp32)
 *             q, k = RotaryEmbedding(·, pos 0…L-1, interleaved=0);  k, v keep their Hkv heads
 *             a = Attention(q, k, v, padding mask; q_num_heads H, kv_num_heads Hkv)   bidirectional (opset 23)
 *             h = x + o_proj(a);  x = h + down_proj(SiLU(gate_proj(n2)) · up_proj(n2)),  n2 = RMSNorm(h)
 * head:       the shared sampling head on x, with model.norm and lm_head (model.embed_tokens when tied),
 *             reading position p-1 for head position p (logits shift)
 * </pre>
 */
public final class Dream implements ModelArchitecture {

    public static final String FAMILY = "dream";

    /** As Dream-org/Dream-v0-Instruct-7B's and apple/DiffuCoder-7B-Instruct's config.json spell it. */
    public static final String MODEL_TYPE = "Dream";

    private static final String EMBED = "model.embed_tokens.weight";
    private static final String NORM = "model.norm.weight";
    private static final String HEAD = "lm_head.weight";

    private static String layer(int i, String tensor) {
        return "model.layers." + i + "." + tensor;
    }

    @Override
    public String family() {
        return FAMILY;
    }

    @Override
    public List<String> modelTypes() {
        return List.of(MODEL_TYPE);
    }

    @Override
    public List<String> modelClasses() {
        return List.of("DreamModel");
    }

    /**
     * Qwen2's config keys; refuses what the graph does not build (sliding-window attention, RoPE scaling, M-RoPE,
     * an activation other than SiLU, q/k/v without biases) and a checkpoint without a {@code mask_token_id}.
     */
    @Override
    public TransformerConfig readConfig(ConfigJson c) {
        int hidden = c.requireInt("hidden_size");
        int heads = c.requireInt("num_attention_heads");
        int kvHeads = c.intOr("num_key_value_heads", heads);
        int vocab = c.requireInt("vocab_size");
        if (hidden % heads != 0) { // modeling_dream.py: head_dim = hidden_size // num_heads, and checks it divides
            throw c.invalid("hidden_size " + hidden + " is not a multiple of num_attention_heads " + heads
                    + " (e.g. 3584 and 28)");
        }
        if (c.has("head_dim") && c.requireInt("head_dim") != hidden / heads) {
            throw c.invalid("has \"head_dim\": " + c.root().get("head_dim") + "; Dream's attention uses hidden_size / "
                    + "num_attention_heads (\"head_dim\": " + hidden / heads + ", or leave it out)");
        }
        c.requireValue("hidden_act", "silu", "Dream");
        c.requireFalse("use_sliding_window", "Dream");
        c.requireFalse("use_mrope", "Dream");
        if (c.has("rope_scaling")) {
            throw c.invalid("has \"rope_scaling\": " + c.root().get("rope_scaling")
                    + "; the packager builds plain rotary embeddings only (\"rope_scaling\": null)");
        }
        if (c.has("attention_bias") && !c.boolOr("attention_bias", true)) {
            throw c.invalid("has \"attention_bias\": false; Dream's q/k/v projections have biases "
                    + "(modeling_dream.py: bias=True; \"attention_bias\": true, or leave it out)");
        }
        Integer mask = c.optInt("mask_token_id");
        if (mask == null) { // never assumed: the id differs between vocabularies
            throw c.invalid("has no \"mask_token_id\"; Dream checkpoints name their mask token, e.g. "
                    + "\"mask_token_id\": 151666 (Dream-v0-Instruct-7B, DiffuCoder-7B-Instruct)");
        }
        return new TransformerConfig(
                c.modelType(),
                c.requireInt("num_hidden_layers"),
                hidden,
                heads,
                kvHeads,
                hidden / heads,
                c.requireInt("intermediate_size"),
                vocab,
                vocab,
                c.intOr("max_position_embeddings", 2048),
                c.doubleOr("rope_theta", 1_000_000.0),
                c.doubleOr("rms_norm_eps", 1e-6),
                c.boolOr("tie_word_embeddings", false),
                true,
                true,
                true,
                new TransformerConfig.SpecialTokenIds(
                        mask, c.optInt("eos_token_id"), c.optInt("pad_token_id"), c.optInt("bos_token_id")));
    }

    /** Qwen2's names; a tied checkpoint needs no {@code lm_head.weight} (one it carries anyway is not read). */
    @Override
    public List<ExpectedTensor> tensors(TransformerConfig c) {
        return TransformerOps.preNormTensors(c, EMBED, Dream::blockTensors, NORM, c.tiedEmbeddings() ? null : HEAD);
    }

    @Override
    public String body(TransformerOps ops) {
        return ops.preNormBody(EMBED, Dream::blockTensors);
    }

    /** Layer i's tensors as Qwen2 names them, with the q/k/v biases. */
    private static TransformerOps.BlockTensors blockTensors(int i) {
        return new TransformerOps.BlockTensors(
                layer(i, "input_layernorm.weight"),
                layer(i, "self_attn.q_proj.weight"),
                layer(i, "self_attn.k_proj.weight"),
                layer(i, "self_attn.v_proj.weight"),
                layer(i, "self_attn.o_proj.weight"),
                layer(i, "post_attention_layernorm.weight"),
                layer(i, "mlp.gate_proj.weight"),
                layer(i, "mlp.up_proj.weight"),
                layer(i, "mlp.down_proj.weight"),
                layer(i, "self_attn.q_proj.bias"),
                layer(i, "self_attn.k_proj.bias"),
                layer(i, "self_attn.v_proj.bias"));
    }

    @Override
    public SamplingHead.Weights head(TransformerConfig c) {
        return new SamplingHead.Weights(NORM, c.tiedEmbeddings() ? EMBED : HEAD);
    }

    /**
     * Dream's {@code generation_config.json} (the keys of {@code diffusion_generate}, generation_utils.py
     * {@code DreamGenerationConfig}): {@code alg} {@code origin} → remasking {@code origin}; {@code maskgit_plus},
     * {@code topk_margin}, {@code entropy} → low-confidence remasking ranked by {@code probability}, {@code margin},
     * {@code entropy}; the {@code timesteps} schedule with {@code eps}; {@code max_new_tokens} → gen_length and one
     * block of that length (Dream has no blocks). Absent keys take DreamGenerationConfig's defaults ({@code alg}
     * origin, {@code eps} 1e-3, temperature 0), with steps and length scaled to the model.
     */
    @Override
    public PackageManifest.GenerationDefaults generationDefaults(JsonNode g, TransformerConfig c) {
        int referenceLength = Math.min(128, c.maxSequenceLength() / 2);
        int genLength = positiveInt(g, "max_new_tokens", referenceLength);
        int steps = positiveInt(g, "steps", genLength);
        String alg = text(g, "alg", "origin");
        DreamAlg known = Arrays.stream(DreamAlg.values())
                .filter(a -> a.id().equals(alg))
                .findFirst()
                .orElseThrow(() -> new PackagerException(
                        ExitCode.BAD_CHECKPOINT,
                        "generation_config.json has \"alg\": \"" + alg
                                + "\"; Dream's algorithms are origin, maskgit_plus, topk_margin and entropy (e.g. "
                                + "\"alg\": \"entropy\")"));
        // the engine's one mapping of Dream's names; origin ranks nothing, so its package records no confidence
        String remasking = known.remasking().id();
        String confidence = known == DreamAlg.ORIGIN ? null : known.confidence().id();
        Double algTemp = number(g, "alg_temp");
        Double topP = number(g, "top_p");
        Integer topK =
                g != null && g.path("top_k").canConvertToInt() ? g.get("top_k").asInt() : null;
        return new PackageManifest.GenerationDefaults(
                steps,
                genLength,
                genLength,
                g == null ? 0.0 : g.path("temperature").asDouble(0.0),
                remasking,
                0.0,
                confidence,
                "timesteps",
                g != null && g.path("eps").isNumber() ? g.get("eps").asDouble() : 1e-3,
                algTemp,
                topP,
                topK == null || topK <= 0 ? null : topK);
    }

    private static int positiveInt(JsonNode g, String key, int otherwise) {
        return g != null && g.path(key).canConvertToInt() && g.get(key).asInt() > 0
                ? g.get(key).asInt()
                : otherwise;
    }

    private static String text(JsonNode g, String key, String otherwise) {
        return g != null && g.path(key).isTextual() ? g.get(key).asText() : otherwise;
    }

    private static Double number(JsonNode g, String key) {
        return g != null && g.path(key).isNumber() ? g.get(key).asDouble() : null;
    }
}
