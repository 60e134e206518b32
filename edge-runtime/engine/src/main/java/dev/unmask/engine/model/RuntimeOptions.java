package dev.unmask.engine.model;

/**
 * How to run a package's graph.
 *
 * @param executionProvider where to run; non-CPU providers fall back to CPU when ONNX Runtime lacks them
 * @param intraOpThreads    threads for one operator; 0 lets ONNX Runtime choose (one per physical core)
 */
public record RuntimeOptions(ExecutionProvider executionProvider, int intraOpThreads) {

    public RuntimeOptions {
        if (executionProvider == null) {
            throw new IllegalArgumentException("executionProvider is required, e.g. ExecutionProvider.CPU");
        }
        if (intraOpThreads < 0) {
            throw new IllegalArgumentException(
                    "intraOpThreads must be >= 0 (0 = ONNX Runtime's choice), got " + intraOpThreads);
        }
    }

    /** CPU, ONNX Runtime's default thread count. */
    public static RuntimeOptions defaults() {
        return new RuntimeOptions(ExecutionProvider.CPU, 0);
    }

    public RuntimeOptions withExecutionProvider(ExecutionProvider provider) {
        return new RuntimeOptions(provider, intraOpThreads);
    }

    public RuntimeOptions withIntraOpThreads(int threads) {
        return new RuntimeOptions(executionProvider, threads);
    }
}
