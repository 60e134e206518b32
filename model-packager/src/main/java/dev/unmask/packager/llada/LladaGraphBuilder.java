package dev.unmask.packager.llada;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.unmask.format.GraphSignature;
import dev.unmask.packager.Progress;
import dev.unmask.packager.checkpoint.Checkpoint;
import dev.unmask.packager.checkpoint.TensorData;
import dev.unmask.packager.checkpoint.TensorEntry;
import dev.unmask.packager.onnx.ExternalDataWriter;
import dev.unmask.packager.onnx.LinearWeight;
import dev.unmask.packager.onnx.OnnxGraph;
import dev.unmask.packager.onnx.WeightFormat;

import java.util.List;

import static dev.unmask.packager.onnx.OnnxGraph.attr;
import static dev.unmask.packager.onnx.OnnxGraph.attrInts;

/**
 * Builds the ONNX graph of a LLaDA checkpoint (see docs/package-format.md, "The graph"):
 *
 * <pre>
 * input_ids [B, L] ─ Gather(wte) ─ x [B, L, d]
 * per layer:  n1 = SimplifiedLayerNormalization(x, attn_norm)
 *             q, k, v = linear(n1)                         [B, L, H·hd], [B, L, Hkv·hd] ×2
 *             q, k = com.microsoft.RotaryEmbedding(·, pos 0…L-1, cos, sin, interleaved=0)   (NEOX half layout)
 *             k, v = repeat each kv head H/Hkv times        [B, L, H·hd]   (query head h reads kv head h / group)
 *             a = com.microsoft.MultiHeadAttention(q, k, v, key_padding_mask = attention_mask)  bidirectional
 *             h = x + linear(a);  x = h + linear_down(SiLU(linear_gate(n2)) · linear_up(n2)),  n2 = RMSNorm(h)
 * head:       hp = GatherND(x, head_positions[..., None], batch_dims=1)   [B, P, d]
 *             logits = linear_head(RMSNorm(hp, ln_f))      [B, P, V]
 *             topk_logits, topk_ids = TopK(logits, k);  logsumexp = ReduceLogSumExp(logits)
 *             entropy = logsumexp − Σ softmax(logits) · logits
 * </pre>
 */
public final class LladaGraphBuilder {

    public static final int OPSET = 21;
    public static final int MS_OPSET = 1;
    public static final int IR_VERSION = 10;

    private final LladaConfig config;
    private final Checkpoint checkpoint;
    private final GraphOptions options;
    private final Progress progress;

    public LladaGraphBuilder(LladaConfig config, Checkpoint checkpoint, GraphOptions options, Progress progress) {
        this.config = config;
        this.checkpoint = checkpoint;
        this.options = options;
        this.progress = progress;
    }

    /** Checks every tensor the graph needs (name and shape) before anything is written. */
    public void checkTensors() {
        int d = config.modelDim();
        int kv = config.kvHeads() * config.headDim();
        int mlp = config.mlpHiddenSize();
        checkpoint.require("model.transformer.wte.weight", config.embeddingSize(), d);
        for (int i = 0; i < config.layers(); i++) {
            String p = "model.transformer.blocks." + i + ".";
            checkpoint.require(p + "attn_norm.weight", d);
            checkpoint.require(p + "ff_norm.weight", d);
            checkpoint.require(p + "q_proj.weight", d, d);
            checkpoint.require(p + "k_proj.weight", kv, d);
            checkpoint.require(p + "v_proj.weight", kv, d);
            checkpoint.require(p + "attn_out.weight", d, d);
            checkpoint.require(p + "ff_proj.weight", mlp, d);
            checkpoint.require(p + "up_proj.weight", mlp, d);
            checkpoint.require(p + "ff_out.weight", d, mlp);
        }
        checkpoint.require("model.transformer.ln_f.weight", d);
        if (!config.weightTying()) {
            checkpoint.require("model.transformer.ff_out.weight", config.embeddingSize(), d);
        }
    }

    public ModelProto build(ExternalDataWriter data) {
        checkTensors();
        OnnxGraph g = new OnnxGraph("llada", data);
        int d = config.modelDim();
        int heads = config.heads();
        int kvHeads = config.kvHeads();
        int hd = config.headDim();
        int group = heads / kvHeads;

        g.input(GraphSignature.INPUT_IDS, DataType.INT64, "batch", "sequence");
        g.input(GraphSignature.ATTENTION_MASK, DataType.INT64, "batch", "sequence");
        g.input(GraphSignature.HEAD_POSITIONS, DataType.INT64, "batch", "positions");

        // Embedding: Gather rows of wte [embedding_size, d].
        TensorEntry wte = checkpoint.require("model.transformer.wte.weight", config.embeddingSize(), d);
        String table = g.initializer(wte.name(), options.format().onnxType(), new long[] {config.embeddingSize(), d},
                sink -> copyRows(wte, sink));
        progress.tensorDone(wte.name(), wte.byteLength());
        String x = g.op("Gather", "/embed/Gather", List.of(table, GraphSignature.INPUT_IDS), attr("axis", 0L)); // [B, L, d]
        if (options.format() != WeightFormat.FP32) {
            x = g.op("Cast", "/embed/Cast", List.of(x), attr("to", (long) DataType.FLOAT_VALUE));
        }

        String keyPadding = g.op("Cast", "/attention_mask/Cast", List.of(GraphSignature.ATTENTION_MASK),
                attr("to", (long) DataType.INT32_VALUE)); // [B, L] int32, 1 = attend
        String[] rope = ropeCaches(g);
        String position0 = g.int64s(0); // RotaryEmbedding: position_ids of shape [1] = offset, positions 0 … L-1

        for (int i = 0; i < config.layers(); i++) {
            String p = "model.transformer.blocks." + i + ".";
            String n = "/layers." + i;
            String n1 = rmsNorm(g, n + "/attn_norm", x, p + "attn_norm.weight");
            String q = linear(g, n + "/attn/q_proj", n1, p + "q_proj.weight", d, d);
            String k = linear(g, n + "/attn/k_proj", n1, p + "k_proj.weight", kvHeads * hd, d);
            String v = linear(g, n + "/attn/v_proj", n1, p + "v_proj.weight", kvHeads * hd, d);
            q = g.msOp("RotaryEmbedding", n + "/attn/q_rotary", List.of(q, position0, rope[0], rope[1]),
                    attr("interleaved", 0L), attr("num_heads", (long) heads));
            k = g.msOp("RotaryEmbedding", n + "/attn/k_rotary", List.of(k, position0, rope[0], rope[1]),
                    attr("interleaved", 0L), attr("num_heads", (long) kvHeads));
            if (group > 1) {
                k = repeatKv(g, n + "/attn/k_repeat", k, kvHeads, group, hd);
                v = repeatKv(g, n + "/attn/v_repeat", v, kvHeads, group, hd);
            }
            String att = g.msOp("MultiHeadAttention", n + "/attn/MultiHeadAttention", List.of(q, k, v, "", keyPadding),
                    attr("num_heads", (long) heads), attr("unidirectional", 0L),
                    attr("scale", (float) (1.0 / Math.sqrt(hd)))); // [B, L, H·hd]
            String o = linear(g, n + "/attn/o_proj", att, p + "attn_out.weight", d, d);
            String h = g.op("Add", n + "/attn/residual", List.of(x, o));
            String n2 = rmsNorm(g, n + "/ff_norm", h, p + "ff_norm.weight");
            int mlp = config.mlpHiddenSize();
            String gate = linear(g, n + "/mlp/gate_proj", n2, p + "ff_proj.weight", mlp, d);
            String up = linear(g, n + "/mlp/up_proj", n2, p + "up_proj.weight", mlp, d);
            String sig = g.op("Sigmoid", n + "/mlp/act/Sigmoid", List.of(gate));
            String silu = g.op("Mul", n + "/mlp/act/Mul", List.of(gate, sig));
            String prod = g.op("Mul", n + "/mlp/Mul", List.of(silu, up));
            String down = linear(g, n + "/mlp/down_proj", prod, p + "ff_out.weight", d, mlp);
            x = g.op("Add", n + "/mlp/residual", List.of(h, down)); // [B, L, d]
        }

        // Head only at head_positions: GatherND with batch_dims=1 picks x[b, head_positions[b, j]].
        String idx = g.op("Unsqueeze", "/head/positions/Unsqueeze", List.of(GraphSignature.HEAD_POSITIONS, g.int64s(-1)));
        String picked = g.op("GatherND", "/head/GatherND", List.of(x, idx), attr("batch_dims", 1L)); // [B, P, d]
        String normed = rmsNorm(g, "/head/ln_f", picked, "model.transformer.ln_f.weight");
        String headName = config.weightTying() ? "model.transformer.wte.weight" : "model.transformer.ff_out.weight";
        String logits = linear(g, "/head/lm_head", normed, headName, config.embeddingSize(), d); // [B, P, E]
        if (config.embeddingSize() != config.vocabSize()) {
            logits = g.op("Slice", "/head/vocab/Slice", List.of(logits, g.int64s(0), g.int64s(config.vocabSize()), g.int64s(-1)));
        }
        int k = options.topK();
        g.nodeNamed("TopK", "", "/head/TopK", List.of(logits, g.int64s(k)), List.of(GraphSignature.TOPK_LOGITS, GraphSignature.TOPK_IDS),
                attr("axis", -1L), attr("largest", 1L), attr("sorted", 1L));
        String lastAxis = g.int64s(-1);
        g.nodeNamed("ReduceLogSumExp", "", "/head/ReduceLogSumExp", List.of(logits, lastAxis), List.of(GraphSignature.LOGSUMEXP),
                attr("keepdims", 0L));
        String probs = g.op("Softmax", "/head/Softmax", List.of(logits), attr("axis", -1L));
        String weighted = g.op("Mul", "/head/entropy/Mul", List.of(probs, logits));
        String expected = g.op("ReduceSum", "/head/entropy/ReduceSum", List.of(weighted, lastAxis), attr("keepdims", 0L));
        g.nodeNamed("Sub", "", "/head/entropy/Sub", List.of(GraphSignature.LOGSUMEXP, expected), List.of(GraphSignature.ENTROPY));

        g.output(GraphSignature.TOPK_IDS, DataType.INT64, "batch", "positions", k);
        g.output(GraphSignature.TOPK_LOGITS, DataType.FLOAT, "batch", "positions", k);
        g.output(GraphSignature.LOGSUMEXP, DataType.FLOAT, "batch", "positions");
        g.output(GraphSignature.ENTROPY, DataType.FLOAT, "batch", "positions");
        if (options.fullLogits()) {
            g.nodeNamed("Identity", "", "/head/logits/Identity", List.of(logits), List.of(GraphSignature.LOGITS));
            g.output(GraphSignature.LOGITS, DataType.FLOAT, "batch", "positions", config.vocabSize());
        }

        return ModelProto.newBuilder()
                .setIrVersion(IR_VERSION)
                .setProducerName("unmask-pack")
                .setProducerVersion(dev.unmask.packager.PackagerVersion.VERSION)
                .setDomain("dev.unmask")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET))
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain(OnnxGraph.MS_DOMAIN).setVersion(MS_OPSET))
                .setGraph(g.proto())
                .build();
    }

    private String linear(OnnxGraph g, String name, String input, String tensor, int out, int in) {
        TensorEntry e = checkpoint.require(tensor, out, in);
        String y = options.linear().linear(g, name, input, new LinearWeight(checkpoint, e, out, in));
        progress.tensorDone(tensor, e.byteLength());
        return y;
    }

    /** RMSNorm: x · rsqrt(mean(x²) + eps) · weight, over the last axis, in fp32. The weight is always stored fp32. */
    private String rmsNorm(OnnxGraph g, String name, String x, String tensor) {
        TensorEntry e = checkpoint.require(tensor, config.modelDim());
        String w = g.initializer(tensor, DataType.FLOAT, new long[] {config.modelDim()}, sink -> copyRows(e, sink));
        progress.tensorDone(tensor, e.byteLength());
        return g.op("SimplifiedLayerNormalization", name + "/SimplifiedLayerNormalization", List.of(x, w),
                attr("axis", -1L), attr("epsilon", (float) config.rmsNormEps()), attr("stash_type", 1L));
    }

    /** [B, L, Hkv·hd] → [B, L, Hkv, 1, hd] → Expand [B, L, Hkv, group, hd] → [B, L, H·hd] (repeat_interleave). */
    private static String repeatKv(OnnxGraph g, String name, String t, int kvHeads, int group, int hd) {
        String r = g.op("Reshape", name + "/Reshape", List.of(t, g.int64s(0, 0, kvHeads, 1, hd)));
        String e = g.op("Expand", name + "/Expand", List.of(r, g.int64s(1, 1, kvHeads, group, hd)));
        return g.op("Reshape", name + "/Reshape_1", List.of(e, g.int64s(0, 0, (long) kvHeads * group * hd)));
    }

    /**
     * cos/sin caches [max_sequence_length, head_dim/2], fp32, as LLaDA computes them with rope_full_precision:
     * inv_freq = 1 / theta^(2i/hd), angle = pos · inv_freq, in float32.
     */
    private String[] ropeCaches(OnnxGraph g) {
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
        String cos = g.initializer("/rotary/cos_cache", DataType.FLOAT, new long[] {rows, half},
                sink -> sink.putFloats(tables[0], 0, tables[0].length));
        String sin = g.initializer("/rotary/sin_cache", DataType.FLOAT, new long[] {rows, half},
                sink -> sink.putFloats(tables[1], 0, tables[1].length));
        return new String[] {cos, sin};
    }

    /** Copies a tensor row by row, converting to the initializer's type. */
    private void copyRows(TensorEntry e, dev.unmask.packager.onnx.TensorBytes sink) {
        int cols = (int) e.cols();
        float[] row = new float[cols];
        try (TensorData data = checkpoint.map(e)) {
            for (long r = 0; r < e.rows(); r++) {
                data.readRow(r, 0, cols, row, 0);
                sink.putFloats(row, 0, cols);
            }
        }
    }

    public LladaConfig config() {
        return config;
    }
}
