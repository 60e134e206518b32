package dev.unmask.packager.arch;

import static dev.unmask.packager.onnx.OnnxGraph.attr;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.unmask.format.GraphSignature;
import dev.unmask.packager.Progress;
import dev.unmask.packager.checkpoint.Checkpoint;
import dev.unmask.packager.checkpoint.TensorData;
import dev.unmask.packager.checkpoint.TensorEntry;
import dev.unmask.packager.onnx.LinearRole;
import dev.unmask.packager.onnx.LinearWeight;
import dev.unmask.packager.onnx.OnnxGraph;
import dev.unmask.packager.onnx.TensorBytes;
import dev.unmask.packager.onnx.WeightFormat;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

/**
 * The building blocks of a transformer graph, shared by every {@link ModelArchitecture}: each reads its weights from
 * the checkpoint (counting them for the progress bar), stores them in the package's dtype, and computes in fp32.
 * Every projection goes through the options' {@link dev.unmask.packager.onnx.LinearWeightSink}, so a body written
 * with {@link #linear} is quantized without knowing it.
 */
public final class TransformerOps {

    private final OnnxGraph graph;
    private final Checkpoint checkpoint;
    private final TransformerConfig config;
    private final GraphOptions options;
    private final Progress progress;
    private String[] rope;
    private String keyPadding;
    private String blockBias;
    private String additiveMask;
    private String sequenceLength;

    /**
     * What a masked-out score becomes in the block-causal bias: far below any real score, yet finite, so that a sum
     * with it never overflows to -inf (a row of -inf would be NaN after the softmax).
     */
    public static final float MASKED_SCORE = -1e9f;

    TransformerOps(
            OnnxGraph graph, Checkpoint checkpoint, TransformerConfig config, GraphOptions options, Progress progress) {
        this.graph = graph;
        this.checkpoint = checkpoint;
        this.config = config;
        this.options = options;
        this.progress = progress;
    }

    public OnnxGraph graph() {
        return graph;
    }

    public TransformerConfig config() {
        return config;
    }

    public GraphOptions options() {
        return options;
    }

    /**
     * The checkpoint's names for the tensors of one pre-norm llama block; the bias names are null where the family's
     * projections have none (LLaDA), set where they do (Dream's q/k/v); the QK-norm names are null unless the family
     * normalizes each query and key head before the rotation (Qwen3, SDAR: {@code self_attn.q_norm} /
     * {@code k_norm}, weight {@code [head_dim]}).
     */
    public record BlockTensors(
            String attentionNorm,
            String q,
            String k,
            String v,
            String o,
            String mlpNorm,
            String gate,
            String up,
            String down,
            String qBias,
            String kBias,
            String vBias,
            String qNorm,
            String kNorm) {

        /** A block without QK-norm. */
        public BlockTensors(
                String attentionNorm,
                String q,
                String k,
                String v,
                String o,
                String mlpNorm,
                String gate,
                String up,
                String down,
                String qBias,
                String kBias,
                String vBias) {
            this(attentionNorm, q, k, v, o, mlpNorm, gate, up, down, qBias, kBias, vBias, null, null);
        }

        /** A block whose projections have no biases. */
        public static BlockTensors withoutBiases(
                String attentionNorm,
                String q,
                String k,
                String v,
                String o,
                String mlpNorm,
                String gate,
                String up,
                String down) {
            return new BlockTensors(attentionNorm, q, k, v, o, mlpNorm, gate, up, down, null, null, null);
        }
    }

    /**
     * Every tensor {@link #preNormBody} reads, with its shape, followed by the head's: what
     * {@link ModelArchitecture#tensors} returns for a pre-norm family, so that the shapes are written once beside the
     * body that reads them. A tied head ({@code head} null) reads the embedding.
     */
    public static List<ModelArchitecture.ExpectedTensor> preNormTensors(
            TransformerConfig c, String embedding, IntFunction<BlockTensors> layer, String finalNorm, String head) {
        int d = c.modelDim();
        int q = c.queryDim();
        int kv = c.kvDim();
        int mlp = c.mlpHiddenSize();
        List<ModelArchitecture.ExpectedTensor> all = new ArrayList<>();
        all.add(new ModelArchitecture.ExpectedTensor(embedding, c.embeddingSize(), d));
        for (int i = 0; i < c.layers(); i++) {
            BlockTensors t = layer.apply(i);
            all.add(new ModelArchitecture.ExpectedTensor(t.attentionNorm(), d));
            all.add(new ModelArchitecture.ExpectedTensor(t.mlpNorm(), d));
            all.add(new ModelArchitecture.ExpectedTensor(t.q(), q, d));
            all.add(new ModelArchitecture.ExpectedTensor(t.k(), kv, d));
            all.add(new ModelArchitecture.ExpectedTensor(t.v(), kv, d));
            if (t.qBias() != null) {
                all.add(new ModelArchitecture.ExpectedTensor(t.qBias(), q));
                all.add(new ModelArchitecture.ExpectedTensor(t.kBias(), kv));
                all.add(new ModelArchitecture.ExpectedTensor(t.vBias(), kv));
            }
            if (t.qNorm() != null) {
                all.add(new ModelArchitecture.ExpectedTensor(t.qNorm(), c.headDim()));
                all.add(new ModelArchitecture.ExpectedTensor(t.kNorm(), c.headDim()));
            }
            all.add(new ModelArchitecture.ExpectedTensor(t.o(), d, q));
            all.add(new ModelArchitecture.ExpectedTensor(t.gate(), mlp, d));
            all.add(new ModelArchitecture.ExpectedTensor(t.up(), mlp, d));
            all.add(new ModelArchitecture.ExpectedTensor(t.down(), d, mlp));
        }
        all.add(new ModelArchitecture.ExpectedTensor(finalNorm, d));
        if (head != null) {
            all.add(new ModelArchitecture.ExpectedTensor(head, c.embeddingSize(), d));
        }
        return all;
    }

    /**
     * The body every family so far shares, so that it is written once and only the tensor names differ between
     * families: the embedding, then per layer
     *
     * <pre>
     * n1 = RMSNorm(x)
     * q = n1·Wqᵀ (+ bq) [B, L, H·hd];  k, v = n1·Wᵀ (+ b) [B, L, Hkv·hd]   the bias before the rotation, as
     *                                                                     modeling_dream.py adds it in q_proj
     * q, k = RMSNorm over head_dim, per head (only with QK-norm: Qwen3, SDAR)
     * q, k = RoPE(·, position_ids)
     * present_key.i = k;  k = Concat(past_key.i, k) [B, P+S, Hkv·hd]        (v likewise; P = 0 without a cache)
     * h = x + o_proj(Attention(q, k, v, mask [B, 1, S, P+S]))   ONNX Attention (opset 23), bidirectional over past
     *                                       and fresh keys, q_num_heads H, kv_num_heads Hkv: K and V never repeated;
     *                                       the additive mask is the padding (+ the block-causal bias when the config
     *                                       has a block size), made once ({@link #onnxAttention})
     * x = h + down_proj(SiLU(gate_proj(n2)) · up_proj(n2)),  n2 = RMSNorm(h)
     * </pre>
     *
     * @param embedding the embedding tensor {@code [embedding_size, d]}
     * @param layer     the names of layer i's tensors
     * @return the last hidden state, float32 {@code [B, L, d]}, before the final norm
     */
    public String preNormBody(String embedding, IntFunction<BlockTensors> layer) {
        int d = config.modelDim();
        int q = config.queryDim();
        int kv = config.kvDim();
        int mlp = config.mlpHiddenSize();
        int group = config.heads() / config.kvHeads();
        String x = embed(embedding); // [B, L, d]
        ropeCaches();
        for (int i = 0; i < config.layers(); i++) {
            BlockTensors t = layer.apply(i);
            String n = "/layers." + i;
            String n1 = rmsNorm(n + "/attn_norm", x, t.attentionNorm());
            String qs = projection(n + "/attn/q_proj", n1, t.q(), t.qBias(), q, d); // [B, L, H·hd]
            String ks = projection(n + "/attn/k_proj", n1, t.k(), t.kBias(), kv, d); // [B, L, Hkv·hd]
            String vs = projection(n + "/attn/v_proj", n1, t.v(), t.vBias(), kv, d);
            if (t.qNorm() != null) { // Qwen3 / SDAR: per-head RMSNorm of q and k after the bias, before the rotation
                qs = headNorm(n + "/attn/q_norm", qs, t.qNorm(), config.heads());
                ks = headNorm(n + "/attn/k_norm", ks, t.kNorm(), config.kvHeads());
            }
            qs = rotary(n + "/attn/q_rotary", qs, config.heads());
            ks = rotary(n + "/attn/k_rotary", ks, config.kvHeads());
            ks = withPast(n + "/attn/k_cache", ks, GraphSignature.pastKey(i), GraphSignature.presentKey(i));
            vs = withPast(n + "/attn/v_cache", vs, GraphSignature.pastValue(i), GraphSignature.presentValue(i));
            String att; // [B, S, H·hd]
            // MultiHeadAttention when the model is causal (its own causal mask; no family today is) or when asked for
            // (--attention mha: the kernel ONNX Runtime 1.23's CUDA provider has)
            if (causal() || options.attention() == AttentionKernel.MULTI_HEAD) {
                if (group > 1) {
                    ks = repeatKv(n + "/attn/k_repeat", ks, group);
                    vs = repeatKv(n + "/attn/v_repeat", vs, group);
                }
                att = attention(n + "/attn/MultiHeadAttention", qs, ks, vs);
            } else {
                att = onnxAttention(n + "/attn/Attention", qs, ks, vs);
            }
            String o = linear(n + "/attn/o_proj", att, t.o(), d, q);
            String h = graph.op("Add", n + "/attn/residual", List.of(x, o));
            String n2 = rmsNorm(n + "/mlp_norm", h, t.mlpNorm());
            String gate = linear(n + "/mlp/gate_proj", n2, t.gate(), mlp, d);
            String up = linear(n + "/mlp/up_proj", n2, t.up(), mlp, d);
            String down = linear(n + "/mlp/down_proj", swiGlu(n + "/mlp", gate, up), t.down(), d, mlp);
            x = graph.op("Add", n + "/mlp/residual", List.of(h, down)); // [B, L, d]
        }
        return x;
    }

    /**
     * This forward's keys (or values) {@code fresh [B, S, kv_dim]} become the output {@code present}, and the
     * attention reads {@code Concat(past, fresh)} {@code [B, P+S, kv_dim]}: with no causal mask, attention is the same
     * whatever order the keys come in once the rotary embedding is baked into them, so the engine may pass any cached
     * positions (a prefix, or prefix and suffix) as the past.
     */
    private String withPast(String name, String fresh, String past, String present) {
        graph.nodeNamed("Identity", "", name + "/present/Identity", List.of(fresh), List.of(present));
        return graph.op("Concat", name + "/Concat", List.of(past, fresh), attr("axis", 1L));
    }

    /** {@code x · Wᵀ}, plus the fp32 {@code bias} when there is one. */
    private String projection(String name, String input, String weight, String bias, int out, int in) {
        String y = linear(name, input, weight, out, in);
        return bias == null ? y : bias(name, y, bias, out);
    }

    /** {@code input_ids} through the embedding {@code tensor [embedding_size, d]}: float32 {@code [B, L, d]}. */
    public String embed(String tensor) {
        int d = config.modelDim();
        TensorEntry wte = checkpoint.require(tensor, config.embeddingSize(), d);
        String table = graph.initializer(
                wte.name(),
                options.format().onnxType(),
                new long[] {config.embeddingSize(), d},
                sink -> copyRows(wte, sink));
        progress.tensorDone(wte.name(), wte.byteLength());
        String x = graph.op("Gather", "/embed/Gather", List.of(table, GraphSignature.INPUT_IDS), attr("axis", 0L));
        if (options.format() != WeightFormat.FP32) {
            x = graph.op("Cast", "/embed/Cast", List.of(x), attr("to", (long) DataType.FLOAT_VALUE));
        }
        return x;
    }

    /**
     * {@code attention_mask} as the int32 key padding mask attention takes ({@code [B, P+S]}: past keys first, 1 =
     * attend); made once.
     */
    public String keyPaddingMask() {
        if (keyPadding == null) {
            keyPadding =
                    graph.op("Cast", "/attention_mask/Cast", List.of(GraphSignature.ATTENTION_MASK), attr("to", (long)
                            DataType.INT32_VALUE));
        }
        return keyPadding;
    }

    /** {@code y = x · Wᵀ} for the checkpoint's {@code tensor [out, in]}, a projection of the body. */
    public String linear(String name, String input, String tensor, int out, int in) {
        return linear(name, input, tensor, out, in, LinearRole.PROJECTION);
    }

    public String linear(String name, String input, String tensor, int out, int in, LinearRole role) {
        TensorEntry e = checkpoint.require(tensor, out, in);
        String y = options.linear().linear(graph, name, input, new LinearWeight(checkpoint, e, out, in, role));
        progress.tensorDone(tensor, e.byteLength());
        return y;
    }

    /** {@code y + bias} for a projection's bias {@code tensor [out]}, stored fp32 (Qwen2-style q/k/v biases). */
    public String bias(String name, String y, String tensor, int out) {
        TensorEntry e = checkpoint.require(tensor, out);
        String b = graph.initializer(tensor, DataType.FLOAT, new long[] {out}, sink -> copyRows(e, sink));
        progress.tensorDone(tensor, e.byteLength());
        return graph.op("Add", name + "/bias/Add", List.of(y, b));
    }

    /** RMSNorm: x · rsqrt(mean(x²) + eps) · weight, over the last axis, in fp32. The weight is always stored fp32. */
    public String rmsNorm(String name, String x, String tensor) {
        TensorEntry e = checkpoint.require(tensor, config.modelDim());
        String w = graph.initializer(tensor, DataType.FLOAT, new long[] {config.modelDim()}, sink -> copyRows(e, sink));
        progress.tensorDone(tensor, e.byteLength());
        return graph.op(
                "SimplifiedLayerNormalization",
                name + "/SimplifiedLayerNormalization",
                List.of(x, w),
                attr("axis", -1L),
                attr("epsilon", (float) config.rmsNormEps()),
                attr("stash_type", 1L));
    }

    /**
     * {@code com.microsoft.RotaryEmbedding} over {@code x [B, S, heads·hd]} at {@code position_ids [B, S]} (each token's
     * canvas position, so that a window of the canvas rotates as it would in a full forward), NEOX half layout
     * (interleaved=0), from the cos/sin tables made on first use.
     */
    public String rotary(String name, String x, int heads) {
        String[] tables = ropeCaches();
        return graph.msOp(
                "RotaryEmbedding",
                name,
                List.of(x, GraphSignature.POSITION_IDS, tables[0], tables[1]),
                attr("interleaved", 0L),
                attr("num_heads", (long) heads));
    }

    /** [B, L, Hkv·hd] → [B, L, Hkv, 1, hd] → Expand [B, L, Hkv, group, hd] → [B, L, H·hd] (repeat_interleave). */
    public String repeatKv(String name, String t, int group) {
        int kvHeads = config.kvHeads();
        int hd = config.headDim();
        String r = graph.op("Reshape", name + "/Reshape", List.of(t, graph.int64s(0, 0, kvHeads, 1, hd)));
        String e = graph.op("Expand", name + "/Expand", List.of(r, graph.int64s(1, 1, kvHeads, group, hd)));
        return graph.op("Reshape", name + "/Reshape_1", List.of(e, graph.int64s(0, 0, (long) kvHeads * group * hd)));
    }

    /**
     * {@code com.microsoft.MultiHeadAttention(q, k, v, key_padding_mask)}, scaled by 1/√hd, bidirectional or causal
     * as the config says; k and v already have {@code heads} heads ({@link #repeatKv}). Output {@code [B, L, H·hd]}.
     */
    public String attention(String name, String q, String k, String v) {
        return multiHeadAttention(name, q, k, v, config.heads(), config.blockCausal() ? blockCausalBias() : null);
    }

    /**
     * The standard ONNX {@code Attention} (opset 23; ONNX Runtime's CPU kernel since 1.23, PR #25156) on the
     * un-repeated keys and values: {@code q [B, S, H·hd]}, {@code k, v [B, P+S, Hkv·hd]}, {@code q_num_heads = H},
     * {@code kv_num_heads = Hkv} (query head {@code h} reads kv head {@code h / (H/Hkv)}, as {@link #repeatKv}'s
     * repeat_interleave), {@code is_causal = 0}, scale 1/√hd, and the additive {@link #attentionMask()}. Its kernel
     * reads the heads of the 3-D inputs in place (strided GEMMs), where MultiHeadAttention first copies q, k and v
     * to [B, N, S, hd] and needed K and V repeated to H heads: the copies cost the same per row at any batch size
     * (docs/benchmarks.md, "Where a batched cached step goes"). Output {@code [B, S, H·hd]}.
     */
    public String onnxAttention(String name, String q, String k, String v) {
        return graph.op(
                "Attention",
                name,
                List.of(q, k, v, attentionMask()),
                attr("q_num_heads", (long) config.heads()),
                attr("kv_num_heads", (long) config.kvHeads()),
                attr("is_causal", 0L),
                attr("scale", (float) (1.0 / Math.sqrt(config.headDim()))));
    }

    /**
     * The additive mask every layer's {@link #onnxAttention} reads, float32 {@code [B, 1, S, P+S]}, made once: 0 where
     * query s may look at key t, {@value #MASKED_SCORE} where key t is padding ({@code attention_mask} 0) or, for a
     * block-causal family, in a later block ({@link #blockCausalBias}). Finite, so a row with every key masked is a
     * uniform softmax rather than NaN; a query never reads a padded key because {@value #MASKED_SCORE} underflows to an
     * exact 0 after the softmax's exp.
     */
    public String attentionMask() {
        if (additiveMask != null) {
            return additiveMask;
        }
        String p = "/attention_mask/additive";
        String real = graph.op(
                "Cast", p + "/Cast", List.of(GraphSignature.ATTENTION_MASK), attr("to", (long) DataType.BOOL_VALUE));
        String keys = graph.op("Unsqueeze", p + "/Unsqueeze", List.of(real, graph.int64s(1, 2))); // [B, 1, 1, P+S]
        String padding = graph.op(
                "Where",
                p + "/Where",
                List.of(keys, floatScalar(p + "/allowed", 0f), floatScalar(p + "/masked", MASKED_SCORE)));
        if (config.blockCausal()) {
            additiveMask = graph.op("Add", p + "/Add", List.of(padding, blockCausalBias())); // [B, 1, S, P+S]
        } else {
            // [B, 1, 1, P+S] -> [B, 1, S, P+S]: the kernel takes the mask per query row
            String shape = graph.op(
                    "Concat",
                    p + "/rows/Concat",
                    List.of(graph.int64s(1, 1), sequenceLength(), graph.int64s(1)),
                    attr("axis", 0L));
            additiveMask = graph.op("Expand", p + "/Expand", List.of(padding, shape));
        }
        return additiveMask;
    }

    /** {@code S}, this forward's number of tokens, int64 {@code [1]}. */
    private String sequenceLength() {
        if (sequenceLength == null) {
            sequenceLength = graph.op(
                    "Slice",
                    "/sequence/Slice",
                    List.of(
                            graph.op("Shape", "/sequence/Shape", List.of(GraphSignature.INPUT_IDS)),
                            graph.int64s(1),
                            graph.int64s(2)));
        }
        return sequenceLength;
    }

    /**
     * Whether attention takes MultiHeadAttention's own causal mask: only for a model neither bidirectional nor
     * block-causal (a block-causal model's mask is all in its attention_bias).
     */
    private boolean causal() {
        return !(config.bidirectional() || config.blockCausal());
    }

    private String multiHeadAttention(String name, String q, String k, String v, int heads, String bias) {
        List<String> inputs =
                bias != null ? List.of(q, k, v, "", keyPaddingMask(), bias) : List.of(q, k, v, "", keyPaddingMask());
        return graph.msOp(
                "MultiHeadAttention",
                name,
                inputs,
                attr("num_heads", (long) heads),
                // a block-causal model's mask is all in its attention_bias; MHA's own causal mask would hide the
                // later positions of a query's own block
                attr("unidirectional", causal() ? 1L : 0L),
                attr("scale", (float) (1.0 / Math.sqrt(config.headDim()))));
    }

    /**
     * QK-norm: RMSNorm over each head's {@code head_dim} values, as Qwen3's (and SDAR's) {@code q_norm} /
     * {@code k_norm} apply it to {@code proj(x).view(..., heads, head_dim)}, before the rotary embedding.
     * {@code x [B, S, heads·hd]} → Reshape {@code [B, S, heads, hd]} → SimplifiedLayerNormalization(axis -1, weight
     * {@code [hd]}, eps = rms_norm_eps) → Reshape {@code [B, S, heads·hd]}. The weight is stored fp32.
     */
    public String headNorm(String name, String x, String tensor, int heads) {
        int hd = config.headDim();
        TensorEntry e = checkpoint.require(tensor, hd);
        String w = graph.initializer(tensor, DataType.FLOAT, new long[] {hd}, sink -> copyRows(e, sink));
        progress.tensorDone(tensor, e.byteLength());
        String perHead = graph.op("Reshape", name + "/Reshape", List.of(x, graph.int64s(0, 0, heads, hd)));
        String normed = graph.op(
                "SimplifiedLayerNormalization",
                name + "/SimplifiedLayerNormalization",
                List.of(perHead, w),
                attr("axis", -1L),
                attr("epsilon", (float) config.rmsNormEps()),
                attr("stash_type", 1L));
        return graph.op("Reshape", name + "/Reshape_1", List.of(normed, graph.int64s(0, 0, (long) heads * hd)));
    }

    /**
     * The additive block-causal mask {@code [B|1, 1, S, P+S]} (cache-spec, "Block-causal families"), made once and
     * shared by every layer: 0 where a query may look, {@value #MASKED_SCORE} elsewhere. Keys are the past first
     * ({@code P = attention_mask}'s length minus {@code input_ids}'), then this forward's {@code S} tokens. A past key
     * is always allowed (the engine caches only finished, earlier blocks); fresh key k is allowed for fresh query q
     * iff {@code floor(pos_k / block) <= floor(pos_q / block)}, the positions from {@link #positions()}. Without a
     * past this is exactly the block-causal mask over the canvas: SDAR's {@code tril(ones(blocks, blocks))}
     * repeated {@code block_size} times on both axes (generate.py), dLLM's {@code bid_k <= bid_q} staircase.
     * {@link #attentionMask()} adds the padding to it.
     */
    public String blockCausalBias() {
        if (blockBias != null) {
            return blockBias;
        }
        String p = "/attention_bias";
        String blocks =
                graph.op("Div", p + "/block/Div", List.of(positions(), graph.int64s(config.blockSize()))); // [b, S]
        String queryBlocks =
                graph.op("Unsqueeze", p + "/query/Unsqueeze", List.of(blocks, graph.int64s(1, 3))); // [b,1,S,1]
        String keyBlocks =
                graph.op("Unsqueeze", p + "/key/Unsqueeze", List.of(blocks, graph.int64s(1, 2))); // [b,1,1,S]
        String allowed = graph.op("LessOrEqual", p + "/LessOrEqual", List.of(keyBlocks, queryBlocks)); // [b,1,S,S]
        String fresh = graph.op(
                "Where",
                p + "/Where",
                List.of(
                        allowed,
                        floatScalar("/attention_bias/allowed", 0f),
                        floatScalar("/attention_bias/masked", MASKED_SCORE))); // [b,1,S,S]
        // the past's columns: zeros [b, 1, S, P], P = total keys - S (0 without a cache)
        String total = graph.op(
                "Slice",
                p + "/total/Slice",
                List.of(
                        graph.op("Shape", p + "/total/Shape", List.of(GraphSignature.ATTENTION_MASK)),
                        graph.int64s(1),
                        graph.int64s(2)));
        String sequence = graph.op(
                "Slice",
                p + "/sequence/Slice",
                List.of(
                        graph.op("Shape", p + "/sequence/Shape", List.of(GraphSignature.INPUT_IDS)),
                        graph.int64s(1),
                        graph.int64s(2)));
        String past = graph.op("Sub", p + "/past/Sub", List.of(total, sequence)); // [1]
        String freshShape = graph.op("Shape", p + "/fresh/Shape", List.of(fresh));
        String head = graph.op("Slice", p + "/fresh/Slice", List.of(freshShape, graph.int64s(0), graph.int64s(3)));
        String pastShape = graph.op("Concat", p + "/past/Concat", List.of(head, past), attr("axis", 0L));
        String zeros = graph.op("ConstantOfShape", p + "/past/ConstantOfShape", List.of(pastShape)); // float 0
        blockBias = graph.op("Concat", p + "/Concat", List.of(zeros, fresh), attr("axis", 3L));
        return blockBias;
    }

    /**
     * Each input token's absolute canvas position, int64 {@code [B, S]}: the graph's {@code position_ids} (format 3),
     * the same positions the rotary embedding reads, so a block's mask and its rotation never disagree.
     */
    public String positions() {
        return GraphSignature.POSITION_IDS;
    }

    /** A float32 scalar initializer. */
    private String floatScalar(String name, float value) {
        return graph.initializer(
                name, DataType.FLOAT, new long[] {}, sink -> sink.putFloats(new float[] {value}, 0, 1));
    }

    /** SiLU(gate) · up: the gated MLP's activation, before its down projection. */
    public String swiGlu(String name, String gate, String up) {
        String sig = graph.op("Sigmoid", name + "/act/Sigmoid", List.of(gate));
        String silu = graph.op("Mul", name + "/act/Mul", List.of(gate, sig));
        return graph.op("Mul", name + "/Mul", List.of(silu, up));
    }

    /**
     * cos/sin caches [max_sequence_length, head_dim/2], fp32, as LLaDA computes them with rope_full_precision:
     * inv_freq = 1 / theta^(2i/hd), angle = pos · inv_freq, in float32. Made once, on first use.
     */
    public String[] ropeCaches() {
        if (rope != null) {
            return rope;
        }
        int hd = config.headDim();
        int half = hd / 2;
        int rows = config.maxSequenceLength();
        float[] invFreq = new float[half];
        for (int i = 0; i < half; i++) {
            float exponent = (float) (2 * i) / hd;
            invFreq[i] = (float) (1.0 / (float) Math.pow(config.ropeTheta(), exponent));
        }
        float[][] tables = new float[2][rows * half];
        for (int pos = 0; pos < rows; pos++) {
            for (int i = 0; i < half; i++) {
                float angle = (float) pos * invFreq[i];
                tables[0][pos * half + i] = (float) Math.cos(angle);
                tables[1][pos * half + i] = (float) Math.sin(angle);
            }
        }
        String cos = graph.initializer(
                "/rotary/cos_cache",
                DataType.FLOAT,
                new long[] {rows, half},
                sink -> sink.putFloats(tables[0], 0, tables[0].length));
        String sin = graph.initializer(
                "/rotary/sin_cache",
                DataType.FLOAT,
                new long[] {rows, half},
                sink -> sink.putFloats(tables[1], 0, tables[1].length));
        rope = new String[] {cos, sin};
        return rope;
    }

    /** Copies a tensor row by row, converting to the initializer's type. */
    private void copyRows(TensorEntry e, TensorBytes sink) {
        int cols = (int) e.cols();
        float[] row = new float[cols];
        try (TensorData data = checkpoint.map(e)) {
            for (long r = 0; r < e.rows(); r++) {
                data.readRow(r, 0, cols, row, 0);
                sink.putFloats(row, 0, cols);
            }
        }
    }
}
