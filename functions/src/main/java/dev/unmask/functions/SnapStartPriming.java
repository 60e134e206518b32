package dev.unmask.functions;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unmask.openai.ChatCompletionRequest;
import dev.unmask.openai.CompletionRequest;
import dev.unmask.openai.Json;
import dev.unmask.openai.OpenAiService;
import dev.unmask.openai.PendingGeneration;
import dev.unmask.openai.ServedModel;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import org.crac.Context;
import org.crac.Core;
import org.crac.Resource;
import org.jboss.logging.Logger;

/**
 * SnapStart priming for the AWS Lambda build ({@code -Plambda}). Lambda snapshots the function once its init phase
 * is over; on Lambda {@link ModelHost} loads and warms every package during init (not in the background), and just
 * before the snapshot this hook runs a few real requests through the path the endpoints use (parse, validate,
 * schedule, denoise, write JSON and SSE), so that the snapshot holds JIT-compiled code and ONNX Runtime's first-run
 * allocations and a restored function answers its first request warm.
 *
 * <p>It registers with CRaC ({@code org.crac}, which Lambda's SnapStart calls) only when Quarkus's Lambda runtime is
 * on the class path, i.e. in the {@code -Plambda} build; elsewhere it stays idle. The Quarkus guide
 * ({@code aws-lambda-snapstart.adoc}) describes this pattern: a {@link Resource} registered at startup.
 */
@ApplicationScoped
public class SnapStartPriming implements Resource {

    private static final Logger LOG = Logger.getLogger(SnapStartPriming.class);

    /** The Lambda entry point of {@code quarkus-amazon-lambda}; present only in the {@code -Plambda} build. */
    static final String LAMBDA_RUNTIME_CLASS = "io.quarkus.amazon.lambda.runtime.QuarkusStreamHandler";

    /** Rounds of requests per served model: the second round runs code the first one compiled. */
    static final int ROUNDS = 2;

    /** Short answers: priming is about code paths, not about length. */
    static final int MAX_TOKENS = 16;

    @Inject
    ModelHost host;

    private volatile boolean registered;

    /** What {@link #prime()} did: requests answered, completion tokens generated, wall time. */
    public record Primed(int requests, long completionTokens, long elapsedMillis) {}

    void onStart(@Observes StartupEvent event) {
        if (lambdaBuild()) {
            Core.getGlobalContext().register(this);
            registered = true;
            LOG.info("SnapStart priming registered: requests run before the snapshot");
        }
    }

    static boolean lambdaBuild() {
        try {
            Class.forName(LAMBDA_RUNTIME_CLASS, false, SnapStartPriming.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException e) {
            return false;
        }
    }

    /** Whether the hook is registered with CRaC (only in the {@code -Plambda} build). */
    public boolean registered() {
        return registered;
    }

    @Override
    public void beforeCheckpoint(Context<? extends Resource> context) {
        Primed primed = prime();
        LOG.infof(
                "Primed for the snapshot: %d requests, %d completion tokens in %d ms",
                primed.requests(), primed.completionTokens(), primed.elapsedMillis());
    }

    @Override
    public void afterRestore(Context<? extends Resource> context) {
        LOG.info("Restored from the SnapStart snapshot");
    }

    /**
     * Runs {@link #ROUNDS} rounds per served model of a plain completion and a streamed chat completion, exactly as
     * {@link OpenAiResource} handles them (without HTTP).
     *
     * @throws dev.unmask.openai.ApiException 503 while the packages are not loaded
     */
    public Primed prime() {
        long started = System.nanoTime();
        OpenAiService service = host.service();
        int requests = 0;
        long tokens = 0;
        for (ServedModel model : service.servedModels()) {
            String id = Json.write(model.id());
            for (int round = 0; round < ROUNDS; round++) {
                byte[] completion = ("{\"model\": " + id + ", \"prompt\": \"def add(a, b):\", \"max_tokens\": "
                                + MAX_TOKENS + "}")
                        .getBytes(StandardCharsets.UTF_8);
                Object answer = service.completion(CompletionRequest.parse(completion))
                        .answer()
                        .join();
                JsonNode written = Json.mapper().valueToTree(answer);
                tokens += written.path("usage").path("completion_tokens").asLong();
                Json.write(answer);
                requests++;

                byte[] chat = ("{\"model\": " + id + ", \"messages\": [{\"role\": \"user\", \"content\": \"Hello\"}], "
                                + "\"max_tokens\": " + MAX_TOKENS
                                + ", \"stream\": true, \"stream_options\": {\"include_usage\": true}}")
                        .getBytes(StandardCharsets.UTF_8);
                PendingGeneration stream = service.chat(ChatCompletionRequest.parse(chat));
                ByteArrayOutputStream sse = new ByteArrayOutputStream();
                try {
                    stream.streamTo(sse);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                tokens += streamedCompletionTokens(sse.toString(StandardCharsets.UTF_8));
                requests++;
            }
        }
        return new Primed(requests, tokens, (System.nanoTime() - started) / 1_000_000);
    }

    /** The usage chunk's {@code completion_tokens} ({@code stream_options.include_usage}); 0 without one. */
    static long streamedCompletionTokens(String sse) {
        long tokens = 0;
        for (String event : sse.split("\n\n")) {
            if (event.startsWith("data: {") && event.contains("\"usage\":{")) {
                JsonNode chunk = Json.readObject(event.substring(6).getBytes(StandardCharsets.UTF_8), "{}");
                tokens = Math.max(
                        tokens, chunk.path("usage").path("completion_tokens").asLong());
            }
        }
        return tokens;
    }
}
