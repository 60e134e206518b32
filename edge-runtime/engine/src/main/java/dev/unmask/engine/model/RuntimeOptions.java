package dev.unmask.engine.model;

/**
 * How to run a package's graph.
 *
 * @param executionProvider where to run; non-CPU providers fall back to CPU when ONNX Runtime lacks them
 * @param intraOpThreads    threads for one operator; 0 lets ONNX Runtime choose (one per physical core)
 * @param spinning          whether ONNX Runtime's intra-op threads spin between parallel sections
 *                          ({@code session.intra_op.allow_spinning}) or sleep; {@link Spinning#AUTO} keeps ONNX
 *                          Runtime's default (spin), which the servers turn into sleep ({@link #forServing}). Spinning saves a wake-up per parallel section when the cores are
 *                          the session's alone, and burns a core its partner thread waits for when they are not
 *                          (docs/benchmarks.md, "Batching throughput": 1.7x slower batched forwards at load 7)
 */
public record RuntimeOptions(ExecutionProvider executionProvider, int intraOpThreads, Spinning spinning) {

    /** The intra-op threads' wait between parallel sections. */
    public enum Spinning {
        /** ONNX Runtime's default (spin). */
        AUTO,
        SPIN,
        SLEEP;

        /** "auto", "spin" or "sleep", as the servers' settings spell it. */
        public static Spinning parse(String s) {
            return switch (s == null ? "auto" : s.trim().toLowerCase(java.util.Locale.ROOT)) {
                case "auto", "" -> AUTO;
                case "spin", "true", "1" -> SPIN;
                case "sleep", "false", "0" -> SLEEP;
                default ->
                    throw new IllegalArgumentException(
                            "spinning must be auto, spin or sleep, e.g. 'sleep' on a machine shared with other work; got '"
                                    + s + "'");
            };
        }
    }

    public RuntimeOptions {
        if (executionProvider == null) {
            throw new IllegalArgumentException("executionProvider is required, e.g. ExecutionProvider.CPU");
        }
        if (intraOpThreads < 0) {
            throw new IllegalArgumentException(
                    "intraOpThreads must be >= 0 (0 = ONNX Runtime's choice), got " + intraOpThreads);
        }
        if (spinning == null) {
            spinning = Spinning.AUTO;
        }
    }

    /** ONNX Runtime's default spinning. */
    public RuntimeOptions(ExecutionProvider executionProvider, int intraOpThreads) {
        this(executionProvider, intraOpThreads, Spinning.AUTO);
    }

    /** CPU, ONNX Runtime's default thread count. */
    public static RuntimeOptions defaults() {
        return new RuntimeOptions(ExecutionProvider.CPU, 0);
    }

    public RuntimeOptions withExecutionProvider(ExecutionProvider provider) {
        return new RuntimeOptions(provider, intraOpThreads, spinning);
    }

    public RuntimeOptions withIntraOpThreads(int threads) {
        return new RuntimeOptions(executionProvider, threads, spinning);
    }

    /**
     * These options for a server (the functions, {@code unmask serve}): {@link Spinning#AUTO} becomes
     * {@link Spinning#SLEEP}, since a server's cores are shared (its HTTP threads, other processes, a Lambda's CPU
     * quota), and a spinning thread there holds the core its partner waits for: measured at a load average of 13 on
     * 2 cores, 8 concurrent dual-cache clients got 98 tokens/s sleeping against 21 spinning (docs/benchmarks.md,
     * "Batching throughput"). One-shot commands ({@code unmask bench}, {@code run}) keep ONNX Runtime's default.
     */
    public RuntimeOptions forServing() {
        return spinning == Spinning.AUTO ? withSpinning(Spinning.SLEEP) : this;
    }

    public RuntimeOptions withSpinning(Spinning spinning) {
        return new RuntimeOptions(executionProvider, intraOpThreads, spinning);
    }
}
