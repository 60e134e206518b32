package dev.unmask.packager.dream;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.unmask.packager.SafetensorsSurgery;
import dev.unmask.packager.TinyModel;
import dev.unmask.packager.checkpoint.Checkpoint;
import dev.unmask.packager.checkpoint.TensorData;
import dev.unmask.packager.checkpoint.TensorEntry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A small Dream checkpoint of random bf16 weights in Dream's Hugging Face layout (Qwen2 names, q/k/v biases, GQA,
 * tied or untied head, two shards and {@code model.safetensors.index.json}), and a plain double-precision Java
 * forward written from modeling_dream.py and generation_utils.py's logit shift, to check the ONNX graph against
 * whatever the weights. Biases are large enough that leaving one out changes the top-1.
 */
final class RandomDream {
    static final int D = 64, HEADS = 4, KV_HEADS = 2, HD = D / HEADS, MLP = 96, VOCAB = 256, LAYERS = 2, MAX_SEQ = 64;
    static final double THETA = 1_000_000.0, EPS = 1e-6;
    static final int MASK = 250;

    private RandomDream() {}

    static Path write(Path dir, long seed, boolean tied) {
        try {
            Files.createDirectories(dir);
            Files.copy(TinyModel.checkpoint().resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
            Files.writeString(dir.resolve("config.json"), """
                    {"architectures": ["DreamModel"], "model_type": "Dream", "hidden_act": "silu",
                     "hidden_size": %d, "num_hidden_layers": %d, "num_attention_heads": %d, "num_key_value_heads": %d,
                     "intermediate_size": %d, "vocab_size": %d, "max_position_embeddings": %d,
                     "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "rope_scaling": null,
                     "use_sliding_window": false, "sliding_window": null, "max_window_layers": 28,
                     "tie_word_embeddings": %s, "torch_dtype": "bfloat16", "attention_dropout": 0.0,
                     "mask_token_id": %d, "eos_token_id": 1, "pad_token_id": 1, "bos_token_id": 0}
                    """.formatted(
                            D, LAYERS, HEADS, KV_HEADS, MLP, VOCAB, MAX_SEQ, tied, MASK));
            Random rnd = new Random(seed);
            List<Object[]> tensors = new ArrayList<>();
            tensors.add(tensor(rnd, "model.embed_tokens.weight", 1.0, false, VOCAB, D));
            for (int i = 0; i < LAYERS; i++) {
                String p = "model.layers." + i + ".";
                tensors.add(tensor(rnd, p + "input_layernorm.weight", 0.3, true, D));
                tensors.add(tensor(rnd, p + "self_attn.q_proj.weight", 0.5, false, D, D));
                tensors.add(tensor(rnd, p + "self_attn.q_proj.bias", 1.0, false, D));
                tensors.add(tensor(rnd, p + "self_attn.k_proj.weight", 0.5, false, KV_HEADS * HD, D));
                tensors.add(tensor(rnd, p + "self_attn.k_proj.bias", 1.0, false, KV_HEADS * HD));
                tensors.add(tensor(rnd, p + "self_attn.v_proj.weight", 0.3, false, KV_HEADS * HD, D));
                tensors.add(tensor(rnd, p + "self_attn.v_proj.bias", 1.0, false, KV_HEADS * HD));
                tensors.add(tensor(rnd, p + "self_attn.o_proj.weight", 0.2, false, D, D));
                tensors.add(tensor(rnd, p + "post_attention_layernorm.weight", 0.3, true, D));
                tensors.add(tensor(rnd, p + "mlp.gate_proj.weight", 0.3, false, MLP, D));
                tensors.add(tensor(rnd, p + "mlp.up_proj.weight", 0.3, false, MLP, D));
                tensors.add(tensor(rnd, p + "mlp.down_proj.weight", 0.2, false, D, MLP));
            }
            tensors.add(tensor(rnd, "model.norm.weight", 0.3, true, D));
            if (!tied) { // tied checkpoints (transformers' save_pretrained) carry no lm_head.weight
                tensors.add(tensor(rnd, "lm_head.weight", 0.3, false, VOCAB, D));
            }
            writeSharded(dir, tensors);
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Two shards, tensors alternating, and the index that maps each name to its shard (the transformers layout). */
    private static void writeSharded(Path dir, List<Object[]> tensors) throws IOException {
        List<List<Object[]>> shards = List.of(new ArrayList<>(), new ArrayList<>());
        ObjectNode index = new ObjectMapper().createObjectNode();
        ObjectNode map = index.putObject("weight_map");
        for (int i = 0; i < tensors.size(); i++) {
            shards.get(i % 2).add(tensors.get(i));
            map.put((String) tensors.get(i)[0], "model-0000" + (i % 2 + 1) + "-of-00002.safetensors");
        }
        SafetensorsSurgery.write(dir.resolve("model-00001-of-00002.safetensors"), shards.get(0));
        SafetensorsSurgery.write(dir.resolve("model-00002-of-00002.safetensors"), shards.get(1));
        new ObjectMapper().writeValue(dir.resolve(Checkpoint.INDEX_FILE).toFile(), index);
    }

    private static Object[] tensor(Random rnd, String name, double scale, boolean aroundOne, long... shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        ByteBuffer b = ByteBuffer.allocate((int) n * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (long i = 0; i < n; i++) {
            float v = (float) ((aroundOne ? 1.0 : 0.0) + rnd.nextGaussian() * scale);
            b.putShort((short) (Float.floatToRawIntBits(v) >>> 16));
        }
        return new Object[] {name, "BF16", shape, b.array()};
    }

    /**
     * Logits [positions][vocab] at {@code heads} of one row, in double, with Dream's shift: the logits for position p
     * are the head's output on the hidden state at p-1 (position 0 on its own). Keys with mask 0 are not attended to.
     */
    static double[][] forward(Path dir, long[] ids, long[] mask, long[] heads) {
        try (Checkpoint c = Checkpoint.open(dir)) {
            int L = ids.length;
            double[][] embed = matrix(c, "model.embed_tokens.weight");
            double[][] x = new double[L][];
            for (int i = 0; i < L; i++) {
                x[i] = embed[(int) ids[i]].clone();
            }
            int group = HEADS / KV_HEADS;
            for (int layer = 0; layer < LAYERS; layer++) {
                String p = "model.layers." + layer + ".";
                double[] an = matrix(c, p + "input_layernorm.weight")[0];
                double[][] wq = matrix(c, p + "self_attn.q_proj.weight"),
                        wk = matrix(c, p + "self_attn.k_proj.weight"),
                        wv = matrix(c, p + "self_attn.v_proj.weight"),
                        wo = matrix(c, p + "self_attn.o_proj.weight");
                double[] bq = matrix(c, p + "self_attn.q_proj.bias")[0],
                        bk = matrix(c, p + "self_attn.k_proj.bias")[0],
                        bv = matrix(c, p + "self_attn.v_proj.bias")[0];
                double[][] q = new double[L][], k = new double[L][], v = new double[L][];
                for (int i = 0; i < L; i++) {
                    double[] n1 = rms(x[i], an);
                    q[i] = rope(add(linear(wq, n1), bq), i, HEADS); // q_proj has its bias before the rotation
                    k[i] = rope(add(linear(wk, n1), bk), i, KV_HEADS);
                    v[i] = add(linear(wv, n1), bv);
                }
                double[][] h = new double[L][];
                for (int i = 0; i < L; i++) {
                    double[] att = new double[D];
                    for (int head = 0; head < HEADS; head++) {
                        int kvh = head / group; // repeat_kv: query head h reads kv head h / group
                        double[] s = new double[L];
                        double max = Double.NEGATIVE_INFINITY;
                        for (int j = 0; j < L; j++) {
                            if (mask[j] == 0) {
                                s[j] = Double.NEGATIVE_INFINITY;
                                continue;
                            }
                            double dot = 0;
                            for (int e = 0; e < HD; e++) {
                                dot += q[i][head * HD + e] * k[j][kvh * HD + e];
                            }
                            s[j] = dot / Math.sqrt(HD);
                            max = Math.max(max, s[j]);
                        }
                        double z = 0;
                        for (int j = 0; j < L; j++) {
                            s[j] = Math.exp(s[j] - max);
                            z += s[j];
                        }
                        for (int j = 0; j < L; j++) {
                            for (int e = 0; e < HD; e++) {
                                att[head * HD + e] += s[j] / z * v[j][kvh * HD + e];
                            }
                        }
                    }
                    h[i] = add(x[i], linear(wo, att)); // o_proj has no bias
                }
                double[] fn = matrix(c, p + "post_attention_layernorm.weight")[0];
                double[][] wg = matrix(c, p + "mlp.gate_proj.weight"),
                        wu = matrix(c, p + "mlp.up_proj.weight"),
                        wd = matrix(c, p + "mlp.down_proj.weight");
                for (int i = 0; i < L; i++) {
                    double[] n2 = rms(h[i], fn);
                    double[] g = linear(wg, n2), u = linear(wu, n2);
                    for (int e = 0; e < MLP; e++) {
                        g[e] = g[e] / (1 + Math.exp(-g[e])) * u[e];
                    }
                    x[i] = add(h[i], linear(wd, g));
                }
            }
            double[] norm = matrix(c, "model.norm.weight")[0];
            double[][] head = c.tensors().containsKey("lm_head.weight")
                    ? matrix(c, "lm_head.weight")
                    : matrix(c, "model.embed_tokens.weight");
            double[][] out = new double[heads.length][];
            for (int j = 0; j < heads.length; j++) {
                int from = (int) Math.max(heads[j] - 1, 0); // logits = cat([logits[:, :1], logits[:, :-1]], 1)
                out[j] = linear(head, rms(x[from], norm));
            }
            return out;
        }
    }

    /** Qwen2's rotate_half: the first half of each head pairs with the second (NEOX layout). */
    private static double[] rope(double[] t, int pos, int heads) {
        double[] out = t.clone();
        int half = HD / 2;
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < half; i++) {
                double invFreq = 1.0 / Math.pow(THETA, (2.0 * i) / HD);
                double a = pos * invFreq, cos = Math.cos(a), sin = Math.sin(a);
                double x1 = t[h * HD + i], x2 = t[h * HD + i + half];
                out[h * HD + i] = x1 * cos - x2 * sin;
                out[h * HD + i + half] = x2 * cos + x1 * sin;
            }
        }
        return out;
    }

    private static double[] rms(double[] x, double[] w) {
        double ms = 0;
        for (double v : x) {
            ms += v * v;
        }
        double r = 1 / Math.sqrt(ms / x.length + EPS);
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i] * r * w[i];
        }
        return out;
    }

    private static double[] linear(double[][] w, double[] x) {
        double[] y = new double[w.length];
        for (int o = 0; o < w.length; o++) {
            double s = 0;
            for (int i = 0; i < x.length; i++) {
                s += w[o][i] * x[i];
            }
            y[o] = s;
        }
        return y;
    }

    private static double[] add(double[] a, double[] b) {
        double[] out = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = a[i] + b[i];
        }
        return out;
    }

    private static double[][] matrix(Checkpoint c, String name) {
        TensorEntry e = c.tensors().get(name);
        int rows = (int) e.rows(), cols = (int) e.cols();
        double[][] m = new double[rows][cols];
        float[] row = new float[cols];
        try (TensorData d = c.map(e)) {
            for (int r = 0; r < rows; r++) {
                d.readRow(r, 0, cols, row, 0);
                for (int i = 0; i < cols; i++) {
                    m[r][i] = row[i];
                }
            }
        }
        return m;
    }
}
