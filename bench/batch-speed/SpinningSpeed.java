import ai.onnxruntime.*;
import java.nio.*;
import java.util.*;

/**
 * ONNX Runtime's thread settings for the cached batched forward, side by side: one session per setting in one
 * process, every round running each (batch, setting) once (the median of 5 forwards), so that a change of load
 * shifts all settings alike; prints each setting's median over the rounds. A setting is spin|sleep followed by the
 * intra-op thread count: spin2 (ONNX Runtime's default on 2 cores), sleep2 (session.intra_op.allow_spinning 0),
 * spin1 (one thread, where spinning does not matter).
 *
 * java -Dconfigs=spin2,sleep2,spin1 -Db=1,8 -cp "model-packager/target/lib/*" bench/batch-speed/SpinningSpeed.java \
 *     models/tiny-llada/package/model.onnx <past> <rounds>
 *
 * Inputs: window 32 per row over a past of <past> random keys and values, head at all 32; the graph's layer count
 * and kv_dim are read from its inputs (past_key.i: [batch, past, kv_dim]).
 */
public class SpinningSpeed {
    public static void main(String[] a) throws Exception {
        String model = a[0];
        int past = Integer.parseInt(a[1]);
        int rounds = Integer.parseInt(a[2]);
        int window = 32;
        String[] configs = System.getProperty("configs", "spin2,sleep2,spin1").split(",");
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Map<String, OrtSession> sessions = new LinkedHashMap<>();
        int layers = 0, kv = 0;
        for (String c : configs) {
            var so = new OrtSession.SessionOptions();
            so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            so.setIntraOpNumThreads(Integer.parseInt(c.replaceAll("\\D", "")));
            so.addConfigEntry("session.intra_op.allow_spinning", c.startsWith("sleep") ? "0" : "1");
            OrtSession s = env.createSession(model, so);
            sessions.put(c, s);
            layers = (int) s.getInputNames().stream().filter(n -> n.startsWith("past_key.")).count();
            kv = (int) ((TensorInfo) s.getInputInfo().get("past_key.0").getInfo()).getShape()[2];
        }
        int[] batches = Arrays.stream(System.getProperty("b", "1,8").split(",")).mapToInt(Integer::parseInt).toArray();
        Map<String, List<Double>> times = new LinkedHashMap<>();
        for (int round = -1; round < rounds; round++) {
            for (int b : batches) {
                for (var e : sessions.entrySet()) {
                    Map<String, OnnxTensor> in = inputs(env, b, past, window, layers, kv);
                    double[] t = new double[5]; // the median of 5 forwards per round
                    for (int r = 0; r < 5; r++) {
                        long t0 = System.nanoTime();
                        try (var res = e.getValue().run(in, Set.of("topk_ids", "topk_logits", "logsumexp", "entropy"))) {
                            t[r] = (System.nanoTime() - t0) / 1e6;
                        }
                    }
                    Arrays.sort(t);
                    if (round >= 0) times.computeIfAbsent(e.getKey() + " batch " + b, k -> new ArrayList<>()).add(t[2]);
                    in.values().forEach(OnnxTensor::close);
                }
            }
        }
        for (var e : times.entrySet()) {
            List<Double> v = new ArrayList<>(e.getValue());
            Collections.sort(v);
            System.out.printf("%-20s median %.2f ms (min %.2f max %.2f) over %d rounds%n", e.getKey(), v.get(v.size() / 2), v.get(0), v.get(v.size() - 1), v.size());
        }
    }

    static Map<String, OnnxTensor> inputs(OrtEnvironment env, int b, int past, int window, int layers, int kv) throws OrtException {
        Map<String, OnnxTensor> in = new LinkedHashMap<>();
        long[] ids = new long[b * window], pos = new long[b * window], mask = new long[b * (past + window)], head = new long[b * window];
        Random rnd = new Random(1);
        for (int i = 0; i < b * window; i++) { ids[i] = rnd.nextBoolean() ? 3 : 16 + rnd.nextInt(4000); pos[i] = past + i % window; head[i] = i % window; }
        Arrays.fill(mask, 1);
        in.put("input_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[] {b, window}));
        in.put("position_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(pos), new long[] {b, window}));
        in.put("attention_mask", OnnxTensor.createTensor(env, LongBuffer.wrap(mask), new long[] {b, past + window}));
        in.put("head_positions", OnnxTensor.createTensor(env, LongBuffer.wrap(head), new long[] {b, window}));
        float[] pk = new float[b * past * kv];
        for (int i = 0; i < pk.length; i++) pk[i] = (float) rnd.nextGaussian();
        for (int l = 0; l < layers; l++) {
            in.put("past_key." + l, OnnxTensor.createTensor(env, FloatBuffer.wrap(pk), new long[] {b, past, kv}));
            in.put("past_value." + l, OnnxTensor.createTensor(env, FloatBuffer.wrap(pk), new long[] {b, past, kv}));
        }
        return in;
    }
}
