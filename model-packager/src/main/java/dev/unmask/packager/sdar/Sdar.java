package dev.unmask.packager.sdar;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unmask.format.PackageManifest;
import dev.unmask.packager.ExitCode;
import dev.unmask.packager.PackagerException;
import dev.unmask.packager.arch.ConfigJson;
import dev.unmask.packager.arch.ModelArchitecture;
import dev.unmask.packager.arch.SamplingHead;
import dev.unmask.packager.arch.TransformerConfig;
import dev.unmask.packager.arch.TransformerOps;
import java.util.List;

/**
 * SDAR (JetLM/SDAR-1.7B-Chat, -4B-Chat, -8B-Chat; {@code model_type "sdar"}, {@code SDARForCausalLM}): a Qwen3 body
 * trained for block diffusion, run with block-causal attention, so that a finished block's keys and values never
 * change and are cached exactly.
 *
 * <p>Checked against the public code (docs/package-format.md, "Block-causal families", has the comparison with
 * dLLM's Qwen3 BD3LM and Fast-dLLM v2):
 *
 * <ul>
 *   <li>JetAstra/SDAR {@code training/model/SDAR-4B-Chat/modeling_sdar.py}: {@code head_dim} from config.json
 *       ({@code getattr(config, "head_dim", hidden_size // num_attention_heads)}); q/k/v/o projections with
 *       {@code bias=config.attention_bias} (false in the released configs); {@code q_norm}, {@code k_norm} =
 *       {@code SDARRMSNorm(head_dim, rms_norm_eps)} applied to {@code proj(x).view(..., -1, head_dim)} before
 *       {@code apply_rotary_pos_emb} (Qwen3's rotate_half, NEOX half layout, {@code rope_theta}); scale
 *       {@code head_dim ** -0.5}; attention {@code is_causal=False} with the mask the caller passes; SwiGLU MLP without
 *       biases; {@code lm_head} without bias, tied when {@code tie_word_embeddings}; no logits shift (training's
 *       labels are the same positions' tokens, and generate.py samples {@code logits} of the block itself).
 *   <li>JetAstra/SDAR {@code generate.py} {@code block_diffusion_generate}: the mask is
 *       {@code tril(ones(blocks, blocks))} repeated {@code block_length} times on both axes (bidirectional inside a
 *       block, causal across blocks, blocks aligned at position 0); {@code position_ids = arange(total)}; the prompt's
 *       whole blocks are prefilled with {@code store_kv=True}; each block is denoised attending to the cache, and
 *       stored by one more forward once no mask is left. Defaults: {@code block_length 4}, {@code denoising_steps 4},
 *       {@code temperature 1.0}, {@code top_k 0}, {@code top_p 1.0}, {@code remasking_strategy
 *       low_confidence_dynamic}, {@code confidence_threshold 0.85}.
 * </ul>
 *
 * <pre>
 * input_ids [B, S] ─ Gather(model.embed_tokens) ─ x [B, S, d]
 * per layer:  n1 = RMSNorm(x, input_layernorm)
 *             q = n1·Wqᵀ [B, S, H·hd];  k, v = n1·Wᵀ [B, S, Hkv·hd]          (hd = head_dim, H·hd may differ from d)
 *             q, k = RMSNorm over hd per head (self_attn.q_norm / k_norm, weight [hd])
 *             q, k = RotaryEmbedding(·, positions);  k, v keep their Hkv heads
 *             a = Attention(q, k, v, padding mask + block-causal bias [B, 1, S, P+S]; q/kv_num_heads H, Hkv)
 *             h = x + o_proj(a);  x = h + down_proj(SiLU(gate_proj(n2)) · up_proj(n2)),  n2 = RMSNorm(h)
 * head:       the shared sampling head on x, with model.norm and lm_head (model.embed_tokens when tied), no shift
 * </pre>
 *
 * <p>Built first, and the one class of the block-causal family, because it serves the most checkpoints with the fewest
 * knobs: SDAR names itself in config.json ({@code model_type "sdar"}), has no logits shift (the block-causal mask is
 * its only difference from Qwen3), and its three sizes plus dLLM's Qwen3-0.6B BD3LM conversion
 * ({@code model_type "a2d-qwen3"}, same tensors, QK-norm and staircase mask; tied head; block 32 from its sampler,
 * so converted only when config.json or generation_config.json names it) all share this body. The knobs are
 * {@link TransformerConfig#blockSize()}, the tied head, and, in the shared body, QK-norm (the {@code q_norm} /
 * {@code k_norm} names) and q/k/v biases. Fast-dLLM v2 (Qwen2.5: q/k/v biases, no QK-norm, block 32 with sub-blocks
 * of 8) is not converted: its decoding shifts the logits across the block boundary (a block's first token is the
 * argmax of the previous block's last position, and inside a block position p reads p-1), which a cached step whose
 * previous block is in the past cannot read from this forward's head; its {@code model_type} is refused with the list
 * of supported ones.
 *
 * <p>Refused, each naming its key: {@code attention_bias: true} (SDAR would then have an {@code o_proj} bias, which the
 * shared body does not build; no released SDAR checkpoint has one), sliding-window attention, RoPE scaling, an
 * activation other than SiLU.
 */
public final class Sdar implements ModelArchitecture {

    public static final String FAMILY = "sdar";

    /** As JetLM/SDAR-1.7B-Chat's config.json spells it. */
    public static final String MODEL_TYPE = "sdar";

    /**
     * The block size when neither config.json ({@code block_size}) nor generation_config.json ({@code block_length})
     * names one: SDARConfig's default and generate.py's {@code --block_length} default, the size every released SDAR
     * chat model was trained with.
     */
    public static final int DEFAULT_BLOCK_SIZE = 4;

    /** generate.py's {@code --denoising_steps} default: steps per block. */
    static final int DEFAULT_DENOISING_STEPS = 4;

    /** generate.py's {@code --confidence_threshold} default for {@code low_confidence_dynamic}. */
    public static final double DEFAULT_CONFIDENCE_THRESHOLD = 0.85;

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

    /**
     * dLLM's conversion of Qwen3 to diffusion ({@code A2DQwen3Config}, ZHZisZZ/dllm {@code dllm/pipelines/a2d}):
     * the same tensors, QK-norm and staircase mask as SDAR; converted only when its block size is named, because the
     * same {@code model_type} also marks dLLM's fully bidirectional MDLM conversions.
     */
    public static final String DLLM_BD3LM_MODEL_TYPE = "a2d-qwen3";

    @Override
    public List<String> modelTypes() {
        return List.of(MODEL_TYPE, DLLM_BD3LM_MODEL_TYPE);
    }

    @Override
    public List<String> modelClasses() {
        return List.of("SDARForCausalLM");
    }

    /**
     * Qwen3's config keys (configuration_sdar.py mirrors Qwen3Config) plus {@code block_size} and
     * {@code mask_token_id}; absent keys take Qwen3Config's defaults ({@code head_dim} = hidden / heads,
     * {@code num_key_value_heads} = heads, {@code rope_theta} 10000, {@code rms_norm_eps} 1e-6,
     * {@code tie_word_embeddings} false).
     */
    @Override
    public TransformerConfig readConfig(ConfigJson c) {
        int hidden = c.requireInt("hidden_size");
        int heads = c.requireInt("num_attention_heads");
        int kvHeads = c.intOr("num_key_value_heads", heads);
        if (!c.has("head_dim") && hidden % heads != 0) {
            throw c.invalid("has no \"head_dim\" and hidden_size " + hidden + " is not a multiple of "
                    + "num_attention_heads " + heads + "; name the head size, e.g. \"head_dim\": 128");
        }
        int headDim = c.intOr("head_dim", hidden / heads);
        int vocab = c.requireInt("vocab_size");
        int maxPositions = c.intOr("max_position_embeddings", 32768);
        c.requireValue("hidden_act", "silu", "SDAR");
        c.requireFalse("use_sliding_window", "SDAR");
        if (c.has("rope_scaling")) {
            throw c.invalid("has \"rope_scaling\": " + c.root().get("rope_scaling")
                    + "; the packager builds plain rotary embeddings only (\"rope_scaling\": null)");
        }
        if (c.boolOr("attention_bias", false)) {
            throw c.invalid("has \"attention_bias\": true; SDAR's q/k/v/o projections would then have biases, and the "
                    + "packager builds SDAR without them, as every released SDAR checkpoint is "
                    + "(\"attention_bias\": false)");
        }
        // mask_token_id may be absent (JetLM/SDAR-4B-Chat's config.json has none): then the tokenizer's <|MASK|>
        Integer mask = c.optInt("mask_token_id");
        int blockSize = blockSize(c);
        return new TransformerConfig(
                c.modelType(),
                c.requireInt("num_hidden_layers"),
                hidden,
                heads,
                kvHeads,
                headDim,
                c.requireInt("intermediate_size"),
                vocab,
                vocab,
                maxPositions,
                c.doubleOr("rope_theta", 10_000.0),
                c.doubleOr("rms_norm_eps", 1e-6),
                c.boolOr("tie_word_embeddings", false),
                false,
                false,
                false,
                new TransformerConfig.SpecialTokenIds(
                        mask, c.optInt("eos_token_id"), c.optInt("pad_token_id"), c.optInt("bos_token_id")),
                blockSize);
    }

    /**
     * config.json's {@code block_size} (what the model was trained with), else generation_config.json's
     * {@code block_length}, else {@value #DEFAULT_BLOCK_SIZE}.
     */
    private static int blockSize(ConfigJson c) {
        if (c.has("block_size")) {
            return c.requireInt("block_size");
        }
        JsonNode g = c.siblingOrNull("generation_config.json");
        if (DLLM_BD3LM_MODEL_TYPE.equals(c.modelType()) && (g == null || !g.has("block_length"))) {
            throw c.invalid("has model_type \"" + DLLM_BD3LM_MODEL_TYPE + "\" and no block size: dLLM uses that type "
                    + "for its BD3LM (block diffusion) and its MDLM (fully bidirectional) conversions alike, and keeps "
                    + "the block size in its sampler; for a BD3LM checkpoint add the size it was trained with, e.g. "
                    + "\"block_size\": 32 (dLLM's BD3LMSamplerConfig default)");
        }
        if (g != null && g.has("block_length")) {
            if (!g.get("block_length").canConvertToInt()
                    || g.get("block_length").asInt() <= 0) {
                throw new PackagerException(
                        ExitCode.BAD_CHECKPOINT,
                        "generation_config.json next to " + c.file()
                                + " needs a positive integer \"block_length\" (found " + g.get("block_length")
                                + "), e.g. \"block_length\": 4");
            }
            return g.get("block_length").asInt();
        }
        return DEFAULT_BLOCK_SIZE;
    }

    /** Qwen3's names with QK-norm; a tied checkpoint needs no {@code lm_head.weight}. */
    @Override
    public List<ExpectedTensor> tensors(TransformerConfig c) {
        return TransformerOps.preNormTensors(c, EMBED, Sdar::blockTensors, NORM, c.tiedEmbeddings() ? null : HEAD);
    }

    @Override
    public String body(TransformerOps ops) {
        return ops.preNormBody(EMBED, Sdar::blockTensors);
    }

    /** Layer i's tensors as Qwen3 names them: no biases, {@code self_attn.q_norm} / {@code k_norm}. */
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
                null,
                null,
                null,
                layer(i, "self_attn.q_norm.weight"),
                layer(i, "self_attn.k_norm.weight"));
    }

    @Override
    public SamplingHead.Weights head(TransformerConfig c) {
        return new SamplingHead.Weights(NORM, c.tiedEmbeddings() ? EMBED : HEAD);
    }

    /**
     * generate.py's arguments, read from generation_config.json where it names them ({@code block_length},
     * {@code denoising_steps}, {@code gen_length} or {@code max_new_tokens}, {@code temperature}, {@code top_k},
     * {@code top_p}, {@code remasking_strategy}), else generate.py's defaults: one block = the model's block size,
     * {@code denoising_steps} 4 per block (at most the block), temperature 1.0. Both of SDAR's low-confidence
     * strategies are our {@code low_confidence} remasking ranked by {@code probability} with the {@code even}
     * per-block schedule ({@code get_num_transfer_tokens} is LLaDA's); {@code low_confidence_dynamic} additionally
     * commits every position above its {@code confidence_threshold} ({@value #DEFAULT_CONFIDENCE_THRESHOLD}), the
     * manifest's optional {@code threshold}. {@code sequential} (left to right) is refused: the engine has no such
     * order.
     */
    @Override
    public PackageManifest.GenerationDefaults generationDefaults(JsonNode g, TransformerConfig c) {
        int block = positiveInt(g, "block_length", c.blockSize());
        int referenceLength = Math.max(block, Math.min(128, c.maxSequenceLength() / 2) / block * block);
        int genLength = positiveInt(g, "gen_length", positiveInt(g, "max_new_tokens", referenceLength));
        int perBlock = Math.min(block, positiveInt(g, "denoising_steps", DEFAULT_DENOISING_STEPS));
        int blocks = (genLength + block - 1) / block;
        String strategy = g != null && g.path("remasking_strategy").isTextual()
                ? g.get("remasking_strategy").asText()
                : "low_confidence_dynamic";
        if (!strategy.equals("low_confidence_dynamic") && !strategy.equals("low_confidence_static")) {
            throw new PackagerException(
                    ExitCode.BAD_CHECKPOINT,
                    "generation_config.json has \"remasking_strategy\": \"" + strategy + "\"; unmask-pack maps SDAR's "
                            + "low_confidence_dynamic and low_confidence_static (e.g. \"remasking_strategy\": "
                            + "\"low_confidence_dynamic\")");
        }
        Integer topK =
                g != null && g.path("top_k").canConvertToInt() && g.get("top_k").asInt() > 0
                        ? g.get("top_k").asInt()
                        : null;
        Double topP = g != null && g.path("top_p").isNumber() && g.get("top_p").asDouble() < 1.0
                ? g.get("top_p").asDouble()
                : null;
        // low_confidence_dynamic's threshold; the static strategy has none
        Double threshold = strategy.equals("low_confidence_static")
                ? null
                : g != null && g.path("confidence_threshold").isNumber()
                        ? g.get("confidence_threshold").asDouble()
                        : DEFAULT_CONFIDENCE_THRESHOLD;
        return new PackageManifest.GenerationDefaults(
                blocks * perBlock,
                genLength,
                block,
                g != null && g.path("temperature").isNumber()
                        ? g.get("temperature").asDouble()
                        : 1.0,
                "low_confidence",
                0.0,
                "probability",
                "even",
                null,
                null,
                topP,
                topK,
                threshold);
    }

    private static int positiveInt(JsonNode g, String key, int otherwise) {
        return g != null && g.path(key).canConvertToInt() && g.get(key).asInt() > 0
                ? g.get(key).asInt()
                : otherwise;
    }
}
