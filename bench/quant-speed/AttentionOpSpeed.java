import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * One layer's grouped-query attention three ways, side by side (issue 17 §3, "Where a batched cached step goes"): what
 * the body did before ({@code repeat}: K and V Reshape → Expand → Reshape to H heads, then
 * {@code com.microsoft.MultiHeadAttention(num_heads = H)}), what it does now ({@code packed}: the g query heads of a
 * kv head as g times as many query rows, {@code MultiHeadAttention(num_heads = Hkv)} on the un-repeated K and V, the
 * permutation undone after), and the standard ONNX {@code Attention} (opset 23, {@code q_num_heads = H},
 * {@code kv_num_heads = Hkv}, 3-D inputs, a boolean {@code attn_mask [B, 1, S, T]}). Each is a small in-memory model
 * with the inputs the graph's attention gets: q {@code [B, S, H·hd]}, k and v {@code [B, T, Hkv·hd]} (past ‖ fresh,
 * T = P + S), the key padding mask (row 1's last two keys padded; int32 {@code [B, T]} for MultiHeadAttention; the {@code attn_mask} is made outside
 * the timed model, as a graph would make it once for every layer). Interleaved: every round runs each (model, batch,
 * shape) in a new random order, {@code --steps} runs after one warm-up, the median; the table gives the median over
 * rounds with min–max and the ratio to {@code repeat} within each round.
 *
 * <pre>
 * java -cp "model-packager/target/lib/*" bench/quant-speed/AttentionOpSpeed.java \
 *   [--heads 8 --kv-heads 2 --head-dim 32] [--batch 1,8,16] [--shapes 32:200,256:0] [--rounds 5] [--steps 10]
 * </pre>
 *
 * tiny-llada is {@code 8/2/32}; the 200 M LLaDA shape is {@code 16/4/64}.
 */
public class AttentionOpSpeed {

    record Shape(int window, int past) {
        @Override
        public String toString() {
            return past == 0 ? "canvas " + window : "window " + window + " past " + past;
        }
    }

    record Cell(String model, int batch, Shape shape) {}

    public static void main(String[] args) throws Exception {
        int heads = 8, kvHeads = 2, hd = 32, rounds = 5, steps = 10, threads = 2;
        int[] batches = {1, 8, 16};
        List<Shape> shapes = List.of(new Shape(32, 200), new Shape(256, 0));
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--heads" -> heads = Integer.parseInt(args[++i]);
                case "--kv-heads" -> kvHeads = Integer.parseInt(args[++i]);
                case "--head-dim" -> hd = Integer.parseInt(args[++i]);
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--steps" -> steps = Integer.parseInt(args[++i]);
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--batch" -> batches = Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
                case "--shapes" -> shapes = Arrays.stream(args[++i].split(","))
                        .map(s -> s.split(":"))
                        .map(p -> new Shape(Integer.parseInt(p[0]), Integer.parseInt(p[1])))
                        .toList();
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession.SessionOptions so = new OrtSession.SessionOptions();
        so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        so.setIntraOpNumThreads(threads);
        Map<String, OrtSession> models = new LinkedHashMap<>();
        models.put("repeat", env.createSession(repeat(heads, kvHeads, hd).toByteArray(), so));
        models.put("packed", env.createSession(packed(heads, kvHeads, hd).toByteArray(), so));
        models.put("onnx-attention", env.createSession(onnxAttention(heads, kvHeads, hd).toByteArray(), so));
        List<Cell> cells = new ArrayList<>();
        for (int b : batches) {
            for (Shape s : shapes) {
                for (String m : models.keySet()) {
                    cells.add(new Cell(m, b, s));
                }
            }
        }
        System.out.printf("H %d, Hkv %d, hd %d, %d threads; load average %s%n", heads, kvHeads, hd, threads, load());
        // the three compute the same attention: outputs against repeat's at batch 2, window 8, past 5
        Cell probe = new Cell("repeat", 2, new Shape(8, 5));
        float[] reference = output(env, models.get("repeat"), probe, heads, kvHeads, hd);
        for (var m : models.entrySet()) {
            float[] out = output(env, m.getValue(), new Cell(m.getKey(), 2, probe.shape()), heads, kvHeads, hd);
            double worst = 0;
            for (int i = 0; i < out.length; i++) {
                worst = Math.max(worst, Math.abs(out[i] - reference[i]));
            }
            System.out.printf("%s: max |output - repeat's| %.2g%n", m.getKey(), worst);
        }
        Map<Cell, List<Double>> times = new LinkedHashMap<>(), ratios = new LinkedHashMap<>();
        Random order = new Random(23);
        for (int r = 0; r < rounds; r++) {
            List<Cell> shuffled = new ArrayList<>(cells);
            Collections.shuffle(shuffled, order);
            Map<Cell, Double> round = new LinkedHashMap<>();
            for (Cell c : shuffled) {
                round.put(c, run(env, models.get(c.model()), c, heads, kvHeads, hd, steps));
            }
            for (Cell c : cells) {
                times.computeIfAbsent(c, k -> new ArrayList<>()).add(round.get(c));
                ratios.computeIfAbsent(c, k -> new ArrayList<>())
                        .add(round.get(c) / round.get(new Cell("repeat", c.batch(), c.shape())));
            }
            System.out.printf("round %d done, load average %s%n", r + 1, load());
        }
        System.out.println("\n| attention | batch | shape | ms per layer (min–max) | × repeat |");
        System.out.println("|---|---|---|---|---|");
        for (Cell c : cells) {
            List<Double> t = times.get(c);
            System.out.printf("| %s | %d | %s | %.3f (%.3f–%.3f) | %.2f |%n", c.model(), c.batch(), c.shape(),
                    median(t), Collections.min(t), Collections.max(t), median(ratios.get(c)));
        }
    }

    static float[] output(OrtEnvironment env, OrtSession s, Cell c, int heads, int kvHeads, int hd) throws Exception {
        return (float[]) run(env, s, c, heads, kvHeads, hd, 1, true);
    }

    static double run(OrtEnvironment env, OrtSession s, Cell c, int heads, int kvHeads, int hd, int steps)
            throws Exception {
        return (double) run(env, s, c, heads, kvHeads, hd, steps, false);
    }

    /** The median time of {@code steps} runs after a warm-up, or (output) the first run's output. */
    static Object run(OrtEnvironment env, OrtSession s, Cell c, int heads, int kvHeads, int hd, int steps,
            boolean output) throws Exception {
        int b = c.batch(), w = c.shape().window(), total = c.shape().past() + w;
        Random rnd = new Random(5);
        Map<String, OnnxTensor> in = new LinkedHashMap<>();
        try {
            in.put("q", floats(env, rnd, b, w, (long) heads * hd));
            in.put("k", floats(env, rnd, b, total, (long) kvHeads * hd));
            in.put("v", floats(env, rnd, b, total, (long) kvHeads * hd));
            if (c.model().equals("onnx-attention")) {
                boolean[][][][] mask = new boolean[b][1][w][total];
                for (int row = 0; row < b; row++) {
                    for (boolean[] keys : mask[row][0]) {
                        Arrays.fill(keys, 0, total - padded(row), true);
                    }
                }
                in.put("attn_mask", OnnxTensor.createTensor(env, mask));
            } else {
                int[] mask = new int[b * total];
                for (int row = 0; row < b; row++) {
                    Arrays.fill(mask, row * total, (row + 1) * total - padded(row), 1);
                }
                in.put("key_padding_mask", OnnxTensor.createTensor(env, IntBuffer.wrap(mask), new long[] {b, total}));
            }
            if (output) {
                try (OrtSession.Result r = s.run(in)) {
                    FloatBuffer f = ((OnnxTensor) r.get(0)).getFloatBuffer();
                    float[] out = new float[f.remaining()];
                    f.get(out);
                    return out;
                }
            }
            double[] t = new double[steps];
            for (int i = -1; i < steps; i++) {
                long t0 = System.nanoTime();
                try (OrtSession.Result r = s.run(in)) {
                    if (i >= 0) {
                        t[i] = (System.nanoTime() - t0) / 1e6;
                    }
                }
            }
            Arrays.sort(t);
            return t[steps / 2];
        } finally {
            in.values().forEach(OnnxTensor::close);
        }
    }

    /** Row 1's last two keys are padding (mask 0), as a shorter request's in a batch; every other key is real. */
    static int padded(int row) {
        return row == 1 ? 2 : 0;
    }

    static OnnxTensor floats(OrtEnvironment env, Random rnd, long... shape) throws Exception {
        float[] v = new float[(int) (shape[0] * shape[1] * shape[2])];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) rnd.nextGaussian();
        }
        return OnnxTensor.createTensor(env, FloatBuffer.wrap(v), shape);
    }

    /** Before: K, V repeated to H heads (repeat_interleave), MultiHeadAttention(num_heads = H). */
    static ModelProto repeat(int heads, int kvHeads, int hd) {
        GraphProto.Builder g = graph("repeat", heads, kvHeads, hd, false);
        int group = heads / kvHeads;
        for (String x : List.of("k", "v")) {
            g.addInitializer(ints(x + "_s1", 0, 0, kvHeads, 1, hd));
            g.addInitializer(ints(x + "_s2", 1, 1, kvHeads, group, hd));
            g.addInitializer(ints(x + "_s3", 0, 0, (long) heads * hd));
            g.addNode(node("Reshape", "", List.of(x, x + "_s1"), x + "_r"));
            g.addNode(node("Expand", "", List.of(x + "_r", x + "_s2"), x + "_e"));
            g.addNode(node("Reshape", "", List.of(x + "_e", x + "_s3"), x + "_h"));
        }
        g.addNode(node("MultiHeadAttention", "com.microsoft", List.of("q", "k_h", "v_h", "", "key_padding_mask"), "out",
                attr("num_heads", heads), attr("unidirectional", 0), attrF("scale", (float) (1 / Math.sqrt(hd)))));
        return model(g, 21);
    }

    /** Now: query heads packed as rows, MultiHeadAttention(num_heads = Hkv), the permutation undone. */
    static ModelProto packed(int heads, int kvHeads, int hd) {
        GraphProto.Builder g = graph("packed", heads, kvHeads, hd, false);
        int group = heads / kvHeads;
        g.addInitializer(ints("s1", 0, 0, kvHeads, group, hd));
        g.addInitializer(ints("s2", 0, -1, (long) kvHeads * hd));
        g.addInitializer(ints("s3", 0, group, -1, kvHeads, hd));
        g.addInitializer(ints("s4", 0, 0, (long) heads * hd));
        g.addNode(node("Reshape", "", List.of("q", "s1"), "q1"));
        g.addNode(node("Transpose", "", List.of("q1"), "q2", attrInts("perm", 0, 3, 1, 2, 4)));
        g.addNode(node("Reshape", "", List.of("q2", "s2"), "q3"));
        g.addNode(node("MultiHeadAttention", "com.microsoft", List.of("q3", "k", "v", "", "key_padding_mask"), "a",
                attr("num_heads", kvHeads), attr("unidirectional", 0), attrF("scale", (float) (1 / Math.sqrt(hd)))));
        g.addNode(node("Reshape", "", List.of("a", "s3"), "a1"));
        g.addNode(node("Transpose", "", List.of("a1"), "a2", attrInts("perm", 0, 2, 3, 1, 4)));
        g.addNode(node("Reshape", "", List.of("a2", "s4"), "out"));
        return model(g, 21);
    }

    /** The standard ONNX Attention (opset 23) with GQA through its head counts. */
    static ModelProto onnxAttention(int heads, int kvHeads, int hd) {
        GraphProto.Builder g = graph("onnx-attention", heads, kvHeads, hd, true);
        g.addNode(node("Attention", "", List.of("q", "k", "v", "attn_mask"), "out", attr("q_num_heads", heads),
                attr("kv_num_heads", kvHeads), attr("is_causal", 0), attrF("scale", (float) (1 / Math.sqrt(hd)))));
        return model(g, 23);
    }

    static GraphProto.Builder graph(String name, int heads, int kvHeads, int hd, boolean boolMask) {
        GraphProto.Builder g = GraphProto.newBuilder().setName(name);
        g.addInput(value("q", TensorProto.DataType.FLOAT, "B", "S", (long) heads * hd));
        g.addInput(value("k", TensorProto.DataType.FLOAT, "B", "T", (long) kvHeads * hd));
        g.addInput(value("v", TensorProto.DataType.FLOAT, "B", "T", (long) kvHeads * hd));
        if (boolMask) {
            g.addInput(value("attn_mask", TensorProto.DataType.BOOL, "B", 1L, "S", "T"));
        } else {
            g.addInput(value("key_padding_mask", TensorProto.DataType.INT32, "B", "T"));
        }
        g.addOutput(value("out", TensorProto.DataType.FLOAT, "B", "S", (long) heads * hd));
        return g;
    }

    static ModelProto model(GraphProto.Builder g, int opset) {
        return ModelProto.newBuilder()
                .setIrVersion(opset >= 23 ? 11 : 10)
                .setProducerName("AttentionOpSpeed")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset))
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("com.microsoft").setVersion(1))
                .setGraph(g)
                .build();
    }

    static NodeProto node(String op, String domain, List<String> inputs, String output, AttributeProto... attrs) {
        NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).setDomain(domain).addAllInput(inputs).addOutput(output);
        n.setName(output + "/" + op);
        for (AttributeProto a : attrs) {
            n.addAttribute(a);
        }
        return n.build();
    }

    static AttributeProto attr(String name, long v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(v).build();
    }

    static AttributeProto attrF(String name, float v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOAT).setF(v).build();
    }

    static AttributeProto attrInts(String name, long... v) {
        AttributeProto.Builder a = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
        for (long x : v) {
            a.addInts(x);
        }
        return a.build();
    }

    static TensorProto ints(String name, long... v) {
        ByteBuffer b = ByteBuffer.allocate(8 * v.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (long x : v) {
            b.putLong(x);
        }
        return TensorProto.newBuilder()
                .setName(name)
                .setDataType(TensorProto.DataType.INT64_VALUE)
                .addDims(v.length)
                .setRawData(com.google.protobuf.ByteString.copyFrom(b.array()))
                .build();
    }

    static ValueInfoProto value(String name, TensorProto.DataType type, Object... shape) {
        TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
        for (Object d : shape) {
            s.addDim(d instanceof Long l
                    ? TensorShapeProto.Dimension.newBuilder().setDimValue(l)
                    : TensorShapeProto.Dimension.newBuilder().setDimParam(d.toString()));
        }
        return ValueInfoProto.newBuilder()
                .setName(name)
                .setType(TypeProto.newBuilder()
                        .setTensorType(TypeProto.Tensor.newBuilder().setElemType(type.getNumber()).setShape(s)))
                .build();
    }

    static double median(List<Double> v) {
        double[] s = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    static String load() {
        try {
            return java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).substring(0, 14);
        } catch (Exception e) {
            return "?";
        }
    }
}
