package dev.unmask.functions;

import dev.unmask.openai.Errors;
import io.quarkus.runtime.configuration.MemorySize;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.util.concurrent.atomic.AtomicReference;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * Refuses a request body larger than any served model can use with a 413 in OpenAI's shape, before it is buffered.
 * The limit is the smaller of {@code quarkus.http.limits.max-body-size} and what the loaded packages can ever use
 * ({@link ModelHost#maxBodyBytes}: the longest prompt that fits the context, as JSON, plus room for the rest; about
 * 275 KiB for the tiny package): a larger body could only be refused after parsing, and buffering, parsing and
 * holding it as a string is where a flood of them spent the heap (issue 12: 8 bodies of 9 MB grew the heap by over
 * 300 MiB, which the JVM then kept).
 *
 * <p>A body with a {@code Content-Length} is judged by it, before a byte is read. A chunked body is read here, up to
 * the limit, and refused as soon as it passes it (Quarkus's own check answers a bare 413 there, with no body).
 */
@ApplicationScoped
public class BodyLimit {

    /** Before Quarkus's own limit check (order -2) and every other route but the CORS ones. */
    static final int ORDER = -10;

    @ConfigProperty(name = "quarkus.http.limits.max-body-size", defaultValue = "10240K")
    MemorySize maxBodySize;

    @Inject
    ModelHost host;

    /** The body handler for chunked bodies, built for the limit in force (it changes once, when derived). */
    private final AtomicReference<Chunked> chunked = new AtomicReference<>(new Chunked(-1, null));

    private record Chunked(long limit, BodyHandler handler) {}

    void install(@Observes Router router) {
        long configured = maxBodySize.asLongValue();
        router.route().order(ORDER).handler(ctx -> refuseOversize(ctx, Math.min(configured, host.maxBodyBytes())));
        // a chunked body that passes the limit: the body handler fails the exchange with 413
        router.route().order(ORDER).failureHandler(ctx -> {
            if (ctx.statusCode() == 413) {
                tooLarge(ctx, Math.min(configured, host.maxBodyBytes()));
            } else {
                ctx.next();
            }
        });
    }

    private void refuseOversize(RoutingContext ctx, long limit) {
        String length = ctx.request().getHeader("Content-Length");
        if (length != null) {
            if (declared(length) > limit) {
                tooLarge(ctx, limit);
            } else {
                ctx.next();
            }
            return;
        }
        HttpMethod method = ctx.request().method();
        if (method == HttpMethod.POST || method == HttpMethod.PUT || method == HttpMethod.PATCH) {
            handlerFor(limit).handle(ctx); // reads the chunks up to the limit; next() at the end, fail(413) past it
        } else {
            ctx.next();
        }
    }

    private BodyHandler handlerFor(long limit) {
        Chunked c = chunked.get();
        if (c.limit() != limit) {
            c = new Chunked(limit, BodyHandler.create(false).setBodyLimit(limit));
            chunked.set(c); // racing first uses build equal handlers
        }
        return c.handler();
    }

    private static void tooLarge(RoutingContext ctx, long limit) {
        RouteAnswers.of(Errors.payloadTooLarge(limit)).end(ctx, true);
    }

    /** The declared length; -1 when unreadable (Quarkus answers that one itself). */
    private static long declared(String contentLength) {
        try {
            return Long.parseLong(contentLength.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
