package dev.unmask.packager.sdar;

import dev.unmask.packager.checkpoint.Checkpoint;
import dev.unmask.packager.checkpoint.TensorData;
import dev.unmask.packager.checkpoint.TensorEntry;
import dev.unmask.testing.RandomSdar;
import java.nio.file.Path;

/**
 * A plain double-precision Java forward of an SDAR checkpoint, written from JetAstra/SDAR's modeling_sdar.py and
 * generate.py's mask, independent of the graph: Qwen3's block with {@code q_norm}/{@code k_norm} over each head
 * before the rotation, rotate_half rotary, grouped kv heads, no biases, and the block-causal mask
 * {@code tril(ones(blocks, blocks)).repeat_interleave(block, 0).repeat_interleave(block, 1)}, blocks aligned at
 * position 0. Keys with {@code attention_mask} 0 are not attended to. No logits shift.
 */
final class SdarReference {
    static final double EPS = 1e-6;

    private SdarReference() {}

    /** Logits [heads][vocab] of one row, positions {@code 0 … ids.length-1}. */
    static double[][] forward(Path dir, RandomSdar.Shape s, long[] ids, long[] mask, long[] heads) {
        try (Checkpoint c = Checkpoint.open(dir)) {
            int L = ids.length, hd = s.headDim(), group = s.heads() / s.kvHeads();
            double[][] embed = matrix(c, "model.embed_tokens.weight");
            double[][] x = new double[L][];
            for (int i = 0; i < L; i++) {
                x[i] = embed[(int) ids[i]].clone();
            }
            for (int layer = 0; layer < s.layers(); layer++) {
                String p = "model.layers." + layer + ".";
                double[] an = matrix(c, p + "input_layernorm.weight")[0];
                double[] qn = matrix(c, p + "self_attn.q_norm.weight")[0];
                double[] kn = matrix(c, p + "self_attn.k_norm.weight")[0];
                double[][] wq = matrix(c, p + "self_attn.q_proj.weight"),
                        wk = matrix(c, p + "self_attn.k_proj.weight"),
                        wv = matrix(c, p + "self_attn.v_proj.weight"),
                        wo = matrix(c, p + "self_attn.o_proj.weight");
                double[][] q = new double[L][], k = new double[L][], v = new double[L][];
                for (int i = 0; i < L; i++) {
                    double[] n1 = rms(x[i], an);
                    q[i] = rope(headNorm(linear(wq, n1), qn, s.heads(), hd), i, s.heads(), hd, s.ropeTheta());
                    k[i] = rope(headNorm(linear(wk, n1), kn, s.kvHeads(), hd), i, s.kvHeads(), hd, s.ropeTheta());
                    v[i] = linear(wv, n1);
                }
                double[][] h = new double[L][];
                for (int i = 0; i < L; i++) {
                    double[] att = new double[s.heads() * hd];
                    for (int head = 0; head < s.heads(); head++) {
                        int kvh = head / group;
                        double[] w = new double[L];
                        double max = Double.NEGATIVE_INFINITY;
                        for (int j = 0; j < L; j++) {
                            if (mask[j] == 0 || j / s.blockSize() > i / s.blockSize()) {
                                w[j] = Double.NEGATIVE_INFINITY;
                                continue;
                            }
                            double dot = 0;
                            for (int e = 0; e < hd; e++) {
                                dot += q[i][head * hd + e] * k[j][kvh * hd + e];
                            }
                            w[j] = dot / Math.sqrt(hd);
                            max = Math.max(max, w[j]);
                        }
                        double z = 0;
                        for (int j = 0; j < L; j++) {
                            w[j] = Math.exp(w[j] - max);
                            z += w[j];
                        }
                        for (int j = 0; j < L; j++) {
                            for (int e = 0; e < hd; e++) {
                                att[head * hd + e] += w[j] / z * v[j][kvh * hd + e];
                            }
                        }
                    }
                    h[i] = add(x[i], linear(wo, att));
                }
                double[] fn = matrix(c, p + "post_attention_layernorm.weight")[0];
                double[][] wg = matrix(c, p + "mlp.gate_proj.weight"),
                        wu = matrix(c, p + "mlp.up_proj.weight"),
                        wd = matrix(c, p + "mlp.down_proj.weight");
                for (int i = 0; i < L; i++) {
                    double[] n2 = rms(h[i], fn);
                    double[] g = linear(wg, n2), u = linear(wu, n2);
                    for (int e = 0; e < g.length; e++) {
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
                out[j] = linear(head, rms(x[(int) heads[j]], norm)); // no shift: position p's own hidden state
            }
            return out;
        }
    }

    /** SDARRMSNorm(head_dim) on {@code proj(x).view(..., heads, head_dim)}. */
    private static double[] headNorm(double[] t, double[] w, int heads, int hd) {
        double[] out = new double[t.length];
        for (int h = 0; h < heads; h++) {
            double ms = 0;
            for (int e = 0; e < hd; e++) {
                ms += t[h * hd + e] * t[h * hd + e];
            }
            double r = 1 / Math.sqrt(ms / hd + EPS);
            for (int e = 0; e < hd; e++) {
                out[h * hd + e] = t[h * hd + e] * r * w[e];
            }
        }
        return out;
    }

    /** Qwen3's rotate_half: the first half of each head pairs with the second. */
    private static double[] rope(double[] t, int pos, int heads, int hd, double theta) {
        double[] out = t.clone();
        int half = hd / 2;
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < half; i++) {
                double a = pos / Math.pow(theta, (2.0 * i) / hd), cos = Math.cos(a), sin = Math.sin(a);
                double x1 = t[h * hd + i], x2 = t[h * hd + i + half];
                out[h * hd + i] = x1 * cos - x2 * sin;
                out[h * hd + i + half] = x2 * cos + x1 * sin;
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
            double sum = 0;
            for (int i = 0; i < x.length; i++) {
                sum += w[o][i] * x[i];
            }
            y[o] = sum;
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
