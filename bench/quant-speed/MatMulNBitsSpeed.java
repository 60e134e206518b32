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
import com.google.protobuf.ByteString;
import dev.unmask.packager.quant.BlockQuantizer;
import dev.unmask.packager.quant.MatMulNBits;
import dev.unmask.packager.quant.QuantScheme;
import dev.unmask.packager.quant.QuantizedLinear;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * One projection, Y[M, N] = A[M, K] · Wᵀ, as a one-node ONNX model: fp32 MatMul against MatMulNBits at each
 * scheme given, interleaved (every round runs each variant in a new random order), 2 intra-op threads, ALL_OPT.
 * Prints ms per product (median over rounds of the per-round median, min–max), the ratio to fp32 within rounds and
 * GFLOP/s (2·M·N·K). Tells which (bits, block, accuracy level) runs MLAS's int8-compute kernel and which falls back.
 *
 * <pre>java -cp "model-packager/target/model-packager-0.1.0-SNAPSHOT.jar:model-packager/target/lib/*" \
 *   bench/quant-speed/MatMulNBitsSpeed.java M K N rounds reps scheme...   e.g. 256 1024 2816 5 5 int4 int8 int4:acc=0</pre>
 */
public class MatMulNBitsSpeed {
    public static void main(String[] args) throws Exception {
        int m = Integer.parseInt(args[0]), k = Integer.parseInt(args[1]), n = Integer.parseInt(args[2]);
        int rounds = Integer.parseInt(args[3]), reps = Integer.parseInt(args[4]);
        List<String> labels = new ArrayList<>(List.of("fp32"));
        labels.addAll(Arrays.asList(args).subList(5, args.length));
        Random r = new Random(1);
        float[] w = new float[n * k];
        for (int i = 0; i < w.length; i++) w[i] = (float) (r.nextGaussian() * 0.02);
        float[] a = new float[m * k];
        for (int i = 0; i < a.length; i++) a[i] = (float) r.nextGaussian();
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Path dir = Files.createTempDirectory("mmnb");
        List<OrtSession> sessions = new ArrayList<>();
        for (String label : labels) {
            GraphProto.Builder g = GraphProto.newBuilder().setName("one").addInput(value("A", m, k)).addOutput(value("Y", m, n));
            if (label.equals("fp32")) {
                ByteBuffer bb = ByteBuffer.allocate(4 * n * k).order(ByteOrder.LITTLE_ENDIAN);
                for (int kk = 0; kk < k; kk++) for (int nn = 0; nn < n; nn++) bb.putFloat(w[nn * k + kk]); // Wᵀ [K, N]
                g.addInitializer(TensorProto.newBuilder().setName("W").setDataType(TensorProto.DataType.FLOAT_VALUE)
                        .addDims(k).addDims(n).setRawData(ByteString.copyFrom(bb.array())));
                g.addNode(NodeProto.newBuilder().setOpType("MatMul").addInput("A").addInput("W").addOutput("Y"));
            } else if (label.equals("dq8")) {
                // DynamicQuantizeMatMul: int8 weights per output column (symmetric), activations quantized per tensor
                // to uint8 at run time, MLAS's u8s8 QGEMM (VNNI), dequantized output
                ByteBuffer bb = ByteBuffer.allocate(n * k).order(ByteOrder.LITTLE_ENDIAN);
                ByteBuffer sc = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
                float[] scale = new float[n];
                for (int nn = 0; nn < n; nn++) {
                    float max = 0;
                    for (int kk = 0; kk < k; kk++) max = Math.max(max, Math.abs(w[nn * k + kk]));
                    scale[nn] = max / 127f;
                    sc.putFloat(scale[nn]);
                }
                for (int kk = 0; kk < k; kk++)
                    for (int nn = 0; nn < n; nn++) bb.put((byte) Math.round(w[nn * k + kk] / scale[nn]));
                g.addInitializer(TensorProto.newBuilder().setName("B").setDataType(TensorProto.DataType.INT8_VALUE)
                        .addDims(k).addDims(n).setRawData(ByteString.copyFrom(bb.array())));
                g.addInitializer(TensorProto.newBuilder().setName("S").setDataType(TensorProto.DataType.FLOAT_VALUE)
                        .addDims(n).setRawData(ByteString.copyFrom(sc.array())));
                g.addNode(NodeProto.newBuilder().setOpType("DynamicQuantizeMatMul").setDomain("com.microsoft")
                        .addInput("A").addInput("B").addInput("S").addOutput("Y"));
            } else {
                QuantizedLinear q = BlockQuantizer.quantize("W", n, k,
                        (row, dst) -> System.arraycopy(w, row * k, dst, 0, k), QuantScheme.parse(label));
                g.addAllInitializer(q.initializers()).addNode(q.node("mm", "A", "Y"));
            }
            ModelProto model = ModelProto.newBuilder().setIrVersion(10)
                    .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(21))
                    .addOpsetImport(MatMulNBits.opsetImport()).setGraph(g).build();
            Path f = dir.resolve(label.replace(':', '_').replace('=', '-') + ".onnx");
            Files.write(f, model.toByteArray());
            OrtSession.SessionOptions so = new OrtSession.SessionOptions();
            so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            so.setIntraOpNumThreads(Integer.getInteger("threads", 2));
            sessions.add(env.createSession(f.toString(), so));
        }
        OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(a), new long[] {m, k});
        double[][] ms = new double[labels.size()][rounds];
        double[][] cpu = new double[labels.size()][rounds];
        var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        for (OrtSession s : sessions) for (int i = 0; i < 3; i++) s.run(Map.of("A", in)).close();
        Random order = new Random(2);
        for (int rd = 0; rd < rounds; rd++) {
            List<Integer> idx = new ArrayList<>();
            for (int i = 0; i < labels.size(); i++) idx.add(i);
            Collections.shuffle(idx, order);
            for (int i : idx) {
                double[] t = new double[reps];
                double[] c = new double[reps];
                for (int j = 0; j < reps; j++) {
                    long c0 = os.getProcessCpuTime();
                    long t0 = System.nanoTime();
                    sessions.get(i).run(Map.of("A", in)).close();
                    t[j] = (System.nanoTime() - t0) / 1e6;
                    c[j] = (os.getProcessCpuTime() - c0) / 1e6;
                }
                Arrays.sort(t);
                Arrays.sort(c);
                ms[i][rd] = t[reps / 2];
                cpu[i][rd] = c[reps / 2];
            }
        }
        double flop = 2.0 * m * n * k;
        System.out.printf("M %d K %d N %d, %d rounds × %d reps, %s threads%n", m, k, n, rounds, reps, Integer.getInteger("threads", 2));
        System.out.println("| variant | wall ms | × fp32 (per round) | CPU ms (all threads) | CPU × fp32 | GFLOP/s (wall) |\n|---|---|---|---|---|---|");
        for (int i = 0; i < labels.size(); i++) {
            double[] ratio = new double[rounds];
            for (int rd = 0; rd < rounds; rd++) ratio[rd] = ms[i][rd] / ms[0][rd];
            double[] cratio = new double[rounds];
            for (int rd = 0; rd < rounds; rd++) cratio[rd] = cpu[i][rd] / cpu[0][rd];
            double med = med(ms[i]);
            System.out.printf("| %s | %.2f (%.2f–%.2f) | %.2f (%.2f–%.2f) | %.1f | %.2f (%.2f–%.2f) | %.0f |%n", labels.get(i), med,
                    Arrays.stream(ms[i]).min().getAsDouble(), Arrays.stream(ms[i]).max().getAsDouble(), med(ratio),
                    Arrays.stream(ratio).min().getAsDouble(), Arrays.stream(ratio).max().getAsDouble(), med(cpu[i]),
                    med(cratio), Arrays.stream(cratio).min().getAsDouble(), Arrays.stream(cratio).max().getAsDouble(),
                    flop / med / 1e6);
        }
    }

    static double med(double[] x) {
        double[] y = x.clone();
        Arrays.sort(y);
        return y.length % 2 == 1 ? y[y.length / 2] : (y[y.length / 2 - 1] + y[y.length / 2]) / 2;
    }

    static ValueInfoProto value(String name, long... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (long d : dims) shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE).setShape(shape))).build();
    }
}
