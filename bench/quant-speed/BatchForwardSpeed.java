import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import java.nio.FloatBuffer;
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
 * Time per batched forward of several format-3 graphs side by side (issue 17 §3, "Where a batched cached step goes"):
 * what one step of {@code B} batched rows costs, at the shapes the engine runs, so that a change to the graph's body
 * or head is measured against the graph before it.
 *
 * <p>Shapes: a cached step is a window of {@code W} query tokens (one 32-token block) over a past of {@code P}
 * cached keys per layer ({@code past_key.i}/{@code past_value.i} {@code [B, P, kv_dim]}, Gaussian values: attention's
 * cost does not depend on them), the head at all {@code W} positions; an uncached step is {@code W = canvas},
 * {@code P = 0}, the head at the last 32 positions. Every row of the batch has the full past and an all-ones
 * attention mask (the engine's forward grouping puts rows of like pasts together). {@code input_ids} are half mask
 * tokens (id 3) and half random ids below 4096, as a half-denoised block. Only {@code topk_ids} and
 * {@code topk_logits} are fetched (the engine's cached step also fetches the presents: {@code --presents}).
 *
 * <p>Interleaving: one ONNX Runtime session per graph with the engine's options (ALL_OPT, {@code --threads} intra-op
 * threads). Every round runs each (graph, batch, shape) cell in a new random order, {@code --steps} forwards each
 * after one warm-up forward; the cell's figure for the round is the median of its steps. The table gives, per cell,
 * the median over rounds with min–max, the time per row, and the ratio to the first graph computed within each round
 * (median over rounds), so load on a shared machine moves both sides alike.
 *
 * <pre>
 * java -cp "model-packager/target/lib/*" bench/quant-speed/BatchForwardSpeed.java \
 *   [--threads 2] [--batch 1,8,16] [--shapes 32:200,256:0] [--rounds 5] [--steps 5] [--presents] [--profile DIR] \
 *   before=/path/old/model.onnx after=models/tiny-llada/package/model.onnx
 * </pre>
 *
 * {@code --shapes} lists {@code window:past} pairs. {@code --profile DIR}: afterwards, one more session per graph
 * with {@code enableProfiling} runs {@code --steps} times (one warm-up and one timed forward) per cell, the graphs'
 * forwards alternating, and leaves ORT's per-node JSON trace in DIR;
 * {@code python3 bench/quant-speed/profile-summary.py DIR/<label>_*.json} sums it by operator per forward (give one
 * cell per run, {@code --batch 8 --shapes 32:200}, for a per-cell profile).
 */
public class BatchForwardSpeed {

    record Graph(String label, Path model, OrtSession session, int layers, long kvDim) {}

    record Shape(int window, int past) {
        @Override
        public String toString() {
            return past == 0 ? "canvas " + window : "window " + window + " past " + past;
        }
    }

    record Cell(Graph graph, int batch, Shape shape) {}

    public static void main(String[] args) throws Exception {
        int threads = 2, rounds = 5, steps = 5;
        int[] batches = {1, 8, 16};
        List<Shape> shapes = List.of(new Shape(32, 200), new Shape(256, 0));
        boolean presents = false;
        Path profile = null;
        Map<String, Path> models = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--steps" -> steps = Integer.parseInt(args[++i]);
                case "--batch" -> batches = Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
                case "--shapes" -> shapes = Arrays.stream(args[++i].split(","))
                        .map(s -> s.split(":"))
                        .map(p -> new Shape(Integer.parseInt(p[0]), Integer.parseInt(p[1])))
                        .toList();
                case "--presents" -> presents = true;
                case "--profile" -> profile = Path.of(args[++i]);
                default -> {
                    String[] kv = args[i].split("=", 2);
                    if (kv.length != 2) {
                        throw new IllegalArgumentException("expected label=path/model.onnx, e.g. "
                                + "after=models/tiny-llada/package/model.onnx, not " + args[i]);
                    }
                    models.put(kv[0], Path.of(kv[1]));
                }
            }
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        List<Graph> graphs = new ArrayList<>();
        for (var e : models.entrySet()) {
            graphs.add(open(env, e.getKey(), e.getValue(), threads, null));
        }
        List<Cell> cells = new ArrayList<>();
        for (int b : batches) {
            for (Shape s : shapes) {
                for (Graph g : graphs) {
                    cells.add(new Cell(g, b, s));
                }
            }
        }
        System.out.printf("load average at start: %s%n", loadAverage());
        Map<Cell, List<Double>> times = new LinkedHashMap<>();
        Map<Cell, List<Double>> ratios = new LinkedHashMap<>();
        Random order = new Random(17);
        for (int r = 0; r < rounds; r++) {
            List<Cell> shuffled = new ArrayList<>(cells);
            Collections.shuffle(shuffled, order);
            Map<Cell, Double> round = new LinkedHashMap<>();
            for (Cell c : shuffled) {
                round.put(c, median(run(env, c.graph(), c.batch(), c.shape(), steps, presents)));
            }
            for (Cell c : cells) {
                times.computeIfAbsent(c, k -> new ArrayList<>()).add(round.get(c));
                Cell base = new Cell(graphs.get(0), c.batch(), c.shape());
                ratios.computeIfAbsent(c, k -> new ArrayList<>()).add(round.get(c) / round.get(base));
            }
            System.out.printf("round %d done, load average %s%n", r + 1, loadAverage());
        }
        System.out.printf("%n| graph | batch | shape | ms per forward (min–max) | ms per row | × %s |%n", graphs.get(0).label());
        System.out.println("|---|---|---|---|---|---|");
        for (Cell c : cells) {
            List<Double> t = times.get(c);
            double m = median(t);
            System.out.printf("| %s | %d | %s | %.2f (%.2f–%.2f) | %.2f | %.2f |%n", c.graph().label(), c.batch(),
                    c.shape(), m, Collections.min(t), Collections.max(t), m / c.batch(), median(ratios.get(c)));
        }
        if (profile != null) {
            // one profiling session per graph, their forwards alternating (graph by graph, step by step) so that
            // load on a shared machine falls on every graph alike
            Files.createDirectories(profile);
            List<Graph> profiled = new ArrayList<>();
            for (Graph g : graphs) {
                profiled.add(open(env, g.label(), g.model(), threads, profile.resolve(g.label()).toString()));
            }
            for (int b : batches) {
                for (Shape s : shapes) {
                    for (int step = 0; step < steps; step++) {
                        for (Graph p : profiled) {
                            run(env, p, b, s, 1, presents);
                        }
                    }
                }
            }
            for (Graph p : profiled) {
                System.out.println("profile: " + p.session().endProfiling());
                p.session().close();
            }
        }
        for (Graph g : graphs) {
            g.session().close();
        }
    }

    static Graph open(OrtEnvironment env, String label, Path model, int threads, String profilePrefix)
            throws Exception {
        OrtSession.SessionOptions so = new OrtSession.SessionOptions();
        so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        so.setIntraOpNumThreads(threads);
        if (profilePrefix != null) {
            so.enableProfiling(profilePrefix);
        }
        OrtSession s = env.createSession(model.toString(), so);
        int layers = 0;
        long kvDim = 0;
        for (Map.Entry<String, NodeInfo> in : s.getInputInfo().entrySet()) {
            if (in.getKey().startsWith("past_key.")) {
                layers++;
                long[] shape = ((TensorInfo) in.getValue().getInfo()).getShape();
                kvDim = shape[shape.length - 1];
            }
        }
        if (layers == 0) {
            throw new IllegalArgumentException(model + " has no past_key.i inputs: a format 3 graph is needed");
        }
        return new Graph(label, model, s, layers, kvDim);
    }

    /** {@code steps} timed forwards (after one warm-up) of one cell, in ms each. */
    static double[] run(OrtEnvironment env, Graph g, int b, Shape shape, int steps, boolean presents)
            throws Exception {
        int w = shape.window(), past = shape.past();
        int head = Math.min(w, 32);
        Random rnd = new Random(1);
        long[] ids = new long[b * w], pos = new long[b * w], heads = new long[b * head], mask = new long[b * (past + w)];
        for (int i = 0; i < b * w; i++) {
            ids[i] = rnd.nextBoolean() ? 3 : 16 + rnd.nextInt(4000);
            pos[i] = past + i % w;
        }
        for (int i = 0; i < b * head; i++) {
            heads[i] = w - head + i % head;
        }
        Arrays.fill(mask, 1);
        float[] kv = new float[(int) (b * past * g.kvDim())];
        for (int i = 0; i < kv.length; i++) {
            kv[i] = (float) rnd.nextGaussian();
        }
        Map<String, OnnxTensor> in = new LinkedHashMap<>();
        double[] t = new double[steps];
        try {
            in.put("input_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[] {b, w}));
            in.put("position_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(pos), new long[] {b, w}));
            in.put("attention_mask", OnnxTensor.createTensor(env, LongBuffer.wrap(mask), new long[] {b, past + w}));
            in.put("head_positions", OnnxTensor.createTensor(env, LongBuffer.wrap(heads), new long[] {b, head}));
            OnnxTensor pastKv = OnnxTensor.createTensor(env, FloatBuffer.wrap(kv), new long[] {b, past, g.kvDim()});
            for (int l = 0; l < g.layers(); l++) {
                in.put("past_key." + l, pastKv);
                in.put("past_value." + l, pastKv);
            }
            Set<String> want = new java.util.HashSet<>(List.of("topk_ids", "topk_logits"));
            if (presents) {
                for (int l = 0; l < g.layers(); l++) {
                    want.add("present_key." + l);
                    want.add("present_value." + l);
                }
            }
            for (int r = -1; r < steps; r++) {
                long t0 = System.nanoTime();
                try (OrtSession.Result res = g.session().run(in, want)) {
                    if (r >= 0) {
                        t[r] = (System.nanoTime() - t0) / 1e6;
                    }
                }
            }
        } finally {
            for (OnnxTensor x : new java.util.HashSet<>(in.values())) {
                x.close();
            }
        }
        return t;
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    static double median(List<Double> v) {
        return median(v.stream().mapToDouble(Double::doubleValue).toArray());
    }

    static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (Exception e) {
            return "?";
        }
    }
}
