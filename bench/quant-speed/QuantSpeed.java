import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * Time per denoising step of several packages side by side (issue 17 §1): one ONNX Runtime session per package with
 * the engine's options (ALL_OPT, {@code --threads} intra-op threads), one forward = one uncached step (the whole
 * canvas as queries, the head at the current 32-token block). Measurements are interleaved: every round runs each
 * package at each canvas in a new random order, {@code --steps} forwards each, and the per-step figure is the median
 * of those; the table gives the median over rounds with min–max, and the ratio to the first package computed within
 * each round (so load on a shared machine moves both sides alike). GFLOP/s are counted from the shapes in
 * manifest.json: 2·S·(weights of the layers) + 4·S²·d for attention + 2·P·d·vocab for the head at P positions.
 *
 * <pre>
 * java -cp "model-packager/target/lib/*" bench/quant-speed/QuantSpeed.java \
 *   [--threads 2] [--canvas 256,512] [--rounds 5] [--steps 4] [--block 32] [--profile DIR] [--optimized DIR] \
 *   fp32=/tmp/unmask-200m/pkg-fp32 int8=/tmp/unmask-200m/pkg-int8 int4=/tmp/unmask-200m/pkg-int4
 * </pre>
 *
 * {@code --profile DIR}: afterwards, one more session per package with {@code enableProfiling} runs {@code --steps}
 * forwards per canvas and leaves ORT's per-node JSON trace in DIR ({@code bench/quant-speed/profile-summary.py}
 * sums it by operator). {@code --optimized DIR}: writes each package's graph as ORT optimized it
 * ({@code setOptimizedModelFilePath}) to DIR/&lt;label&gt;.onnx.
 */
public class QuantSpeed {

    record Pkg(String label, Path dir, JsonNode arch, OrtSession session) {}

    public static void main(String[] args) throws Exception {
        int threads = 2, rounds = 5, steps = 4, block = 32;
        int[] canvases = {256, 512};
        Path profile = null, optimized = null;
        Map<String, Path> pkgs = new LinkedHashMap<>();
        Map<String, String> extra = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--steps" -> steps = Integer.parseInt(args[++i]);
                case "--block" -> block = Integer.parseInt(args[++i]);
                case "--canvas" -> canvases = Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
                case "--profile" -> profile = Path.of(args[++i]);
                case "--optimized" -> optimized = Path.of(args[++i]);
                case "--config" -> { // session config entry key=value, e.g. session.intra_op.allow_spinning=0
                    String[] kv = args[++i].split("=", 2);
                    extra.put(kv[0], kv[1]);
                }
                default -> {
                    String[] kv = args[i].split("=", 2);
                    pkgs.put(kv[0], Path.of(kv[1]));
                }
            }
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        ObjectMapper json = new ObjectMapper();
        List<Pkg> open = new ArrayList<>();
        for (var e : pkgs.entrySet()) {
            JsonNode manifest = json.readTree(e.getValue().resolve("manifest.json").toFile());
            OrtSession.SessionOptions so = options(threads, extra);
            if (optimized != null) {
                Files.createDirectories(optimized);
                so.setOptimizedModelFilePath(optimized.resolve(e.getKey() + ".onnx").toString());
            }
            long t0 = System.nanoTime();
            OrtSession s = env.createSession(e.getValue().resolve("model.onnx").toString(), so);
            System.out.printf("%s: %s, %s, loaded in %d ms%n", e.getKey(), e.getValue(),
                    manifest.path("precision").path("quantization").asText(), (System.nanoTime() - t0) / 1_000_000);
            open.add(new Pkg(e.getKey(), e.getValue(), manifest.get("architecture"), s));
        }
        Random random = new Random(17);
        // per canvas, per package: one median per round; ratio[c][p][r] = median / first package's median
        double[][][] ms = new double[canvases.length][open.size()][rounds];
        for (int c = 0; c < canvases.length; c++) {
            for (Pkg p : open) {
                for (int w = 0; w < 2; w++) {
                    step(env, p, canvases[c], block); // warm-up: ORT allocates and prepacks on the first runs
                }
            }
        }
        for (int r = 0; r < rounds; r++) {
            for (int c = 0; c < canvases.length; c++) {
                List<Integer> order = new ArrayList<>();
                for (int p = 0; p < open.size(); p++) order.add(p);
                Collections.shuffle(order, random);
                for (int p : order) {
                    double[] t = new double[steps];
                    for (int s = 0; s < steps; s++) {
                        t[s] = step(env, open.get(p), canvases[c], block);
                    }
                    Arrays.sort(t);
                    ms[c][p][r] = t[steps / 2];
                }
            }
        }
        System.out.printf("%n%d threads, %d rounds × %d steps, head at %d positions; median (min–max) over rounds%n",
                threads, rounds, steps, block);
        System.out.println("| package | canvas | ms per step | × " + open.get(0).label() + " (per round) | GFLOP/s |");
        System.out.println("|---|---|---|---|---|");
        for (int c = 0; c < canvases.length; c++) {
            for (int p = 0; p < open.size(); p++) {
                double[] ratio = new double[rounds];
                for (int r = 0; r < rounds; r++) ratio[r] = ms[c][p][r] / ms[c][0][r];
                double med = median(ms[c][p]);
                double gflop = flops(open.get(p).arch(), canvases[c], block) / 1e9;
                System.out.printf("| %s | %d | %.1f (%.1f–%.1f) | %.2f (%.2f–%.2f) | %.0f |%n", open.get(p).label(),
                        canvases[c], med, min(ms[c][p]), max(ms[c][p]), median(ratio), min(ratio), max(ratio),
                        gflop / (med / 1000));
            }
        }
        for (Pkg p : open) p.session().close();
        if (profile != null) {
            Files.createDirectories(profile);
            for (var e : pkgs.entrySet()) {
                OrtSession.SessionOptions so = options(threads, extra);
                so.enableProfiling(profile.resolve(e.getKey()).toString());
                JsonNode manifest = json.readTree(e.getValue().resolve("manifest.json").toFile());
                try (OrtSession s = env.createSession(e.getValue().resolve("model.onnx").toString(), so)) {
                    Pkg p = new Pkg(e.getKey(), e.getValue(), manifest.get("architecture"), s);
                    for (int canvas : canvases) {
                        for (int i = 0; i < 2 + steps; i++) step(env, p, canvas, block);
                    }
                    System.out.println("profile: " + s.endProfiling());
                }
            }
        }
    }

    static OrtSession.SessionOptions options(int threads, Map<String, String> extra) throws Exception {
        OrtSession.SessionOptions so = new OrtSession.SessionOptions();
        so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT); // as OnnxDenoiser.load
        so.setIntraOpNumThreads(threads);
        for (var e : extra.entrySet()) so.addConfigEntry(e.getKey(), e.getValue());
        return so;
    }

    /** One uncached step on a canvas of {@code canvas} tokens, the head at its last block; returns milliseconds. */
    static double step(OrtEnvironment env, Pkg p, int canvas, int block) throws Exception {
        long[] ids = new long[canvas], mask = new long[canvas], head = new long[block];
        Random r = new Random(canvas);
        int maskId = 3;
        for (int i = 0; i < canvas; i++) {
            ids[i] = i < canvas - block ? 16 + r.nextInt(4000) : maskId;
            mask[i] = 1;
        }
        for (int i = 0; i < block; i++) head[i] = canvas - block + i;
        Map<String, OnnxTensor> in = new LinkedHashMap<>();
        in.put("input_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[] {1, canvas}));
        in.put("attention_mask", OnnxTensor.createTensor(env, LongBuffer.wrap(mask), new long[] {1, canvas}));
        in.put("head_positions", OnnxTensor.createTensor(env, LongBuffer.wrap(head), new long[] {1, block}));
        Set<String> inputs = p.session().getInputNames();
        if (inputs.contains("position_ids")) {
            long[] pos = new long[canvas];
            for (int i = 0; i < canvas; i++) pos[i] = i;
            in.put("position_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(pos), new long[] {1, canvas}));
        }
        // a v3 graph's past keys/values: zero-length (no cache), and its presents are not requested
        for (String name : inputs) {
            if (name.startsWith("past_")) {
                int kv = p.arch().path("n_kv_heads").asInt() * p.arch().path("head_dim").asInt();
                in.put(name, OnnxTensor.createTensor(env, java.nio.FloatBuffer.allocate(0), new long[] {1, 0, kv}));
            }
        }
        Set<String> wanted = Set.of("topk_ids", "topk_logits");
        long t0 = System.nanoTime();
        try (OrtSession.Result res = p.session().run(in, wanted)) {
            double msTaken = (System.nanoTime() - t0) / 1e6;
            in.values().forEach(OnnxTensor::close);
            return msTaken;
        }
    }

    /** FLOPs of one step: the layers' matrix products, attention's two S×S products, the head at P positions. */
    static double flops(JsonNode a, int s, int p) {
        double d = a.path("d_model").asInt(), kv = a.path("n_kv_heads").asInt() * a.path("head_dim").asInt();
        double mlp = a.path("mlp_hidden_size").asInt(), layers = a.path("n_layers").asInt();
        double vocab = a.path("vocab_size").asInt();
        double weights = d * d * 2 + 2 * d * kv + 3 * d * mlp;
        return layers * (2 * s * weights + 4.0 * s * s * d) + 2.0 * p * d * vocab;
    }

    static double median(double[] x) {
        double[] y = x.clone();
        Arrays.sort(y);
        return y.length % 2 == 1 ? y[y.length / 2] : (y[y.length / 2 - 1] + y[y.length / 2]) / 2;
    }

    static double min(double[] x) { return Arrays.stream(x).min().orElse(0); }

    static double max(double[] x) { return Arrays.stream(x).max().orElse(0); }
}
