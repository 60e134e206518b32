package dev.unmask.functions;

import dev.unmask.openai.ApiKeys;
import dev.unmask.openai.Errors;
import dev.unmask.openai.OpenAiService;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnection;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Under overload, a generation request is refused with 429 on the event loop, before its body is read: no worker
 * thread, no JSON tree, no planning, no exception, one answer serialized once. When every served model's queue is
 * full ({@link OpenAiService#refuseAsOverloaded}) nothing a request could say would get it in, so reading it is
 * wasted on the two cores the stepping thread needs (issue 12: 1 600 refusals a second through the whole request
 * path took served answers at 200 clients down to 0.28 of the figure at 32). A request with a wrong key is left to
 * the API-key filter (401), and one the queue has room for goes the whole way, where the scheduler checks exactly.
 *
 * <p>A client that sends again on the same connection before the {@code Retry-After} it was given gets its 429 when
 * that time is up, not at once: a timer holds the answer (no thread waits), so a client that ignores
 * {@code Retry-After} costs the server no more than one that honours it (with {@code unmask.overload.hold-early-retries},
 * default on).
 */
@ApplicationScoped
public class Admission {

    /** After the body limit (-10), before Quarkus's own upload limit (-2) and Quarkus REST. */
    static final int ORDER = -9;

    /** The seconds a refused client is told to wait. */
    static final int RETRY_AFTER_SECONDS = 1;

    private static final RouteAnswers OVERLOADED = RouteAnswers.of(Errors.overloaded(RETRY_AFTER_SECONDS));

    @Inject
    ModelHost host;

    @Inject
    UnmaskConfig config;

    @Inject
    MeterRegistry registry;

    @Inject
    Vertx vertx;

    /** When each connection that got a 429 may send again (System.nanoTime); weak: gone with the connection. */
    private final Map<HttpConnection, Long> retryNotBefore = Collections.synchronizedMap(new WeakHashMap<>());

    void install(@Observes Router router) {
        ApiKeys keys = ApiKeys.of(config.apiKeys().orElse(List.of()));
        boolean hold = config.overload().holdEarlyRetries();
        // the same series as RequestMetricsFilter's, which never sees these refusals
        Counter chat = refusals("chat");
        Counter completions = refusals("completions");
        router.post("/v1/chat/completions").order(ORDER).handler(ctx -> admit(ctx, keys, hold, chat));
        router.post("/v1/completions").order(ORDER).handler(ctx -> admit(ctx, keys, hold, completions));
    }

    private Counter refusals(String endpoint) {
        return Counter.builder("unmask.requests")
                .description("API requests by endpoint and status")
                .tag("endpoint", endpoint)
                .tag("status", "429")
                .register(registry);
    }

    private void admit(RoutingContext ctx, ApiKeys keys, boolean hold, Counter refused) {
        if (!host.ready() || !keys.accepts(ctx.request().getHeader("Authorization"))) {
            ctx.next(); // 503 while loading and 401 are the API's to answer
            return;
        }
        if (!host.service().refuseAsOverloaded()) {
            ctx.next();
            return;
        }
        refused.increment();
        HttpConnection connection = ctx.request().connection();
        long now = System.nanoTime();
        Long notBefore = hold && connection != null ? retryNotBefore.get(connection) : null;
        long waitNanos = notBefore == null ? 0 : notBefore - now;
        if (waitNanos <= 0) {
            refuse(ctx, connection, now, hold);
        } else {
            vertx.setTimer(
                    Math.max(1, TimeUnit.NANOSECONDS.toMillis(waitNanos)),
                    id -> refuse(ctx, connection, System.nanoTime(), hold));
        }
    }

    private void refuse(RoutingContext ctx, HttpConnection connection, long now, boolean hold) {
        if (hold && connection != null) {
            retryNotBefore.put(connection, now + TimeUnit.SECONDS.toNanos(RETRY_AFTER_SECONDS));
        }
        OVERLOADED.end(ctx, false); // the unread body is drained, so the connection takes the next request
    }
}
