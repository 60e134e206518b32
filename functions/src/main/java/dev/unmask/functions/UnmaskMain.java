package dev.unmask.functions;

import dev.unmask.engine.RuntimePreload;
import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.annotations.QuarkusMain;

/**
 * The entry point of {@code java -jar quarkus-run.jar} (and of the container images built on it): before Quarkus
 * boots, it starts {@link RuntimePreload} on a second thread, so that ONNX Runtime's and the tokenizers' native
 * libraries and the chat template engine load while Quarkus builds its beans and opens its port, instead of after
 * {@link ModelHost} is started. Readiness still waits for the package to be loaded and warmed; this only moves
 * process-wide first-use work earlier (docs/benchmarks.md, "Cold start").
 *
 * <p>Lambda does not come through here (its handler boots Quarkus itself), nor do {@code @QuarkusTest}s: there the
 * same work simply happens in {@link ModelHost}'s load, as it did before.
 */
@QuarkusMain
public final class UnmaskMain {

    public static void main(String... args) {
        RuntimePreload.startInBackground();
        Quarkus.run(args);
    }
}
