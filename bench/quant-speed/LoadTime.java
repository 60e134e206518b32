import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.nio.file.Path;

/**
 * Session creation time of one package, as the engine creates it (ALL_OPT, {@code --threads} intra-op threads; the
 * same options as {@code QuantSpeed} and {@code OnnxDenoiser.load}): prints {@code <label> <milliseconds>}. One
 * package per JVM, so that the peak resident memory the process reaches ({@code /usr/bin/time -f %M}) is that
 * session's; {@code bench/quant-speed/load-time.sh} runs it interleaved over packages and rounds.
 *
 * <pre>
 * java -cp "model-packager/target/lib/*" bench/quant-speed/LoadTime.java [--threads 2] label=PACKAGE_DIR
 * </pre>
 */
public class LoadTime {
    public static void main(String[] args) throws Exception {
        int threads = 2;
        String spec = null;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--threads")) {
                threads = Integer.parseInt(args[++i]);
            } else {
                spec = args[i];
            }
        }
        if (spec == null || !spec.contains("=")) {
            throw new IllegalArgumentException("give label=PACKAGE_DIR, e.g. int4q=/tmp/pkg-int4-qgemm");
        }
        String label = spec.substring(0, spec.indexOf('='));
        Path model = Path.of(spec.substring(spec.indexOf('=') + 1)).resolve("model.onnx");
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
            so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT); // as OnnxDenoiser.load
            so.setIntraOpNumThreads(threads);
            long start = System.nanoTime();
            try (OrtSession session = env.createSession(model.toString(), so)) {
                long ms = (System.nanoTime() - start) / 1_000_000;
                System.out.println(label + " " + ms);
            }
        }
    }
}
