package dev.unmask.packager;

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
 * A small LLaDA checkpoint of random bf16 weights, large enough in magnitude that every part of the model (rotary
 * positions, grouped kv heads, the padding mask) changes the output, and a plain double-precision Java forward of
 * train.py's model to check the ONNX graph against, independent of any trained weights.
 */
final class RandomLlada {
    static final int D = 64, HEADS = 4, KV_HEADS = 2, HD = D / HEADS, MLP = 96, VOCAB = 256, LAYERS = 2, MAX_SEQ = 64;
    static final double THETA = 10000.0, EPS = 1e-5;

    private RandomLlada() {}

    static Path write(Path dir, long seed) {
        try {
            Files.createDirectories(dir);
            Files.copy(TinyModel.checkpoint().resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
            Files.writeString(
                    dir.resolve("config.json"), """
                    {"model_type": "llada", "block_type": "llama", "activation_type": "silu", "layer_norm_type": "rms",
                     "rms_norm_eps": 1e-05, "rope": true, "rope_theta": 10000.0, "d_model": %d, "n_layers": %d,
                     "n_heads": %d, "n_kv_heads": %d, "mlp_hidden_size": %d, "vocab_size": %d, "embedding_size": %d,
                     "max_sequence_length": %d, "weight_tying": false, "include_bias": false,
                     "mask_token_id": 3, "eos_token_id": 1, "pad_token_id": 1, "bos_token_id": 0}
                    """.formatted(D, LAYERS, HEADS, KV_HEADS, MLP, VOCAB, VOCAB, MAX_SEQ));
            Random rnd = new Random(seed);
            List<Object[]> tensors = new ArrayList<>();
            tensors.add(tensor(rnd, "model.transformer.wte.weight", 1.0, false, VOCAB, D));
            for (int i = 0; i < LAYERS; i++) {
                String p = "model.transformer.blocks." + i + ".";
                tensors.add(tensor(rnd, p + "attn_norm.weight", 0.3, true, D));
                tensors.add(tensor(rnd, p + "q_proj.weight", 0.5, false, D, D));
                tensors.add(tensor(rnd, p + "k_proj.weight", 0.5, false, KV_HEADS * HD, D));
                tensors.add(tensor(rnd, p + "v_proj.weight", 0.3, false, KV_HEADS * HD, D));
                tensors.add(tensor(rnd, p + "attn_out.weight", 0.2, false, D, D));
                tensors.add(tensor(rnd, p + "ff_norm.weight", 0.3, true, D));
                tensors.add(tensor(rnd, p + "ff_proj.weight", 0.3, false, MLP, D));
                tensors.add(tensor(rnd, p + "up_proj.weight", 0.3, false, MLP, D));
                tensors.add(tensor(rnd, p + "ff_out.weight", 0.2, false, D, MLP));
            }
            tensors.add(tensor(rnd, "model.transformer.ln_f.weight", 0.3, true, D));
            tensors.add(tensor(rnd, "model.transformer.ff_out.weight", 0.3, false, VOCAB, D));
            SafetensorsSurgery.write(dir.resolve("model.safetensors"), tensors);
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
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

    /** Logits [positions][vocab] at {@code heads} of one row, in double; keys with mask 0 are never attended to. */
    static double[][] forward(Path dir, long[] ids, long[] mask, long[] heads) {
        try (Checkpoint c = Checkpoint.open(dir)) {
            int L = ids.length;
            double[][] wte = matrix(c, "model.transformer.wte.weight");
            double[][] x = new double[L][];
            for (int i = 0; i < L; i++) {
                x[i] = wte[(int) ids[i]].clone();
            }
            int group = HEADS / KV_HEADS;
            for (int layer = 0; layer < LAYERS; layer++) {
                String p = "model.transformer.blocks." + layer + ".";
                double[] an = matrix(c, p + "attn_norm.weight")[0];
                double[][] wq = matrix(c, p + "q_proj.weight"),
                        wk = matrix(c, p + "k_proj.weight"),
                        wv = matrix(c, p + "v_proj.weight"),
                        wo = matrix(c, p + "attn_out.weight");
                double[][] q = new double[L][], k = new double[L][], v = new double[L][];
                for (int i = 0; i < L; i++) {
                    double[] n1 = rms(x[i], an);
                    q[i] = rope(linear(wq, n1), i, HEADS);
                    k[i] = rope(linear(wk, n1), i, KV_HEADS);
                    v[i] = linear(wv, n1);
                }
                double[][] h = new double[L][];
                for (int i = 0; i < L; i++) {
                    double[] att = new double[D];
                    for (int head = 0; head < HEADS; head++) {
                        int kvh = head / group;
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
                    h[i] = add(x[i], linear(wo, att));
                }
                double[] fn = matrix(c, p + "ff_norm.weight")[0];
                double[][] wg = matrix(c, p + "ff_proj.weight"),
                        wu = matrix(c, p + "up_proj.weight"),
                        wd = matrix(c, p + "ff_out.weight");
                for (int i = 0; i < L; i++) {
                    double[] n2 = rms(h[i], fn);
                    double[] g = linear(wg, n2), u = linear(wu, n2);
                    for (int e = 0; e < MLP; e++) {
                        g[e] = g[e] / (1 + Math.exp(-g[e])) * u[e];
                    }
                    x[i] = add(h[i], linear(wd, g));
                }
            }
            double[] lnf = matrix(c, "model.transformer.ln_f.weight")[0];
            double[][] head = matrix(c, "model.transformer.ff_out.weight");
            double[][] out = new double[heads.length][];
            for (int j = 0; j < heads.length; j++) {
                out[j] = linear(head, rms(x[(int) heads[j]], lnf));
            }
            return out;
        }
    }

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
