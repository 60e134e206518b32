package dev.unmask.functions;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Everything the service reads under {@code unmask.*}, e.g.
 *
 * <pre>
 * unmask.models.tiny-llada.path=models/tiny-llada/package
 * unmask.execution-provider=cpu
 * unmask.threads=0
 * unmask.spinning=auto
 * unmask.limits.max-tokens=512
 * unmask.batch.max-size=8
 * unmask.batch.max-queue=64
 * unmask.cache.budget-mib=1024
 * unmask.api-keys=sk-one,sk-two
 * unmask.playground.enabled=true
 * </pre>
 */
@ConfigMapping(prefix = "unmask")
public interface UnmaskConfig {

    /** The packages to serve, by the model id clients send. */
    Map<String, ServedPackage> models();

    /** {@code cpu} or {@code cuda} (falls back to CPU, with a log line, where ONNX Runtime has no CUDA). */
    @WithDefault("cpu")
    String executionProvider();

    /** ONNX Runtime intra-op threads; 0 = one per physical core. */
    @WithDefault("0")
    int threads();

    /**
     * Whether ONNX Runtime's intra-op threads spin or sleep between parallel sections: {@code auto} (a server's:
     * sleep, {@code RuntimeOptions.forServing}), {@code spin} (ONNX Runtime's default) or {@code sleep}
     * (docs/benchmarks.md "Batching throughput").
     */
    @WithDefault("auto")
    String spinning();

    Limits limits();

    Batch batch();

    Cache cache();

    /** Bearer keys that may call {@code /v1}; none = no authentication. */
    Optional<List<String>> apiKeys();

    /**
     * Load the packages on a background thread, so that the server listens at once and {@code /q/health/ready}
     * says 503 until they are loaded and warmed. Unset: on, except on AWS Lambda (where {@code AWS_LAMBDA_RUNTIME_API}
     * is set), whose init phase must do the work, and where SnapStart then snapshots the loaded, warmed model.
     */
    Optional<Boolean> loadInBackground();

    /** Run one short generation per package before reporting ready (JIT, ONNX Runtime's first-run allocations). */
    @WithDefault("true")
    boolean warmUp();

    Overload overload();

    Playground playground();

    interface Playground {
        /**
         * Serve the web playground at {@code /} (a page that streams from this server's {@code /v1}); off by default:
         * a deployed API usually has no use for a page, and an API key typed into it is held by the browser.
         */
        @WithDefault("false")
        boolean enabled();
    }

    interface Overload {
        /**
         * A client that sends again on the same connection before the {@code Retry-After} of its last 429 gets its
         * next 429 when that time is up (a timer holds it; no thread waits), so that ignoring {@code Retry-After}
         * does not buy a client more of the server's CPU.
         */
        @WithDefault("true")
        boolean holdEarlyRetries();
    }

    interface ServedPackage {
        /** The package folder (holding manifest.json). */
        Path path();
    }

    interface Limits {
        /** The largest {@code max_tokens} a request may ask for. */
        @WithDefault("512")
        int maxTokens();

        /** The largest {@code steps} a request may ask for. */
        @WithDefault("512")
        int maxSteps();

        /** The longest canvas (prompt plus completion) in tokens; 0 = the model's max_sequence_length. */
        @WithDefault("0")
        int maxCanvasTokens();
    }

    interface Cache {
        /**
         * What the running requests' key/value caches (cache prefix or dual) may take together, in MiB, shared by all
         * served models. A request whose cache does not fit beside the running ones waits in the queue; one whose
         * cache exceeds the whole budget gets a 400 naming both sizes (docs/engine.md, "The memory budget").
         */
        @WithDefault("1024")
        int budgetMib();
    }

    interface Batch {
        /** Requests denoised together in one forward pass; 1 = one at a time. */
        @WithDefault("8")
        int maxSize();

        /** Requests that may wait for a place in the batch; more are refused with 429. */
        @WithDefault("64")
        int maxQueue();
    }
}
