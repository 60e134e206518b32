package dev.unmask.functions;

import dev.unmask.openai.ApiKeys;
import dev.unmask.openai.OpenAiService;
import dev.unmask.openai.OverloadRefusals;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnection;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.util.List;

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
 * default on). The rule and the answer are {@link OverloadRefusals}', which the agent's server refuses with too.
 */
@ApplicationScoped
public class Admission {

    /** After the body limit (-10), before Quarkus's own upload limit (-2) and Quarkus REST. */
    static final int ORDER = -9;

    /** The seconds a refused client is told to wait. */
    static final int RETRY_AFTER_SECONDS = OverloadRefusals.RETRY_AFTER_SECONDS;

    private static final RouteAnswers OVERLOADED = RouteAnswers.of(OverloadRefusals.answer());

    @Inject
    ModelHost host;

    @Inject
    UnmaskConfig config;

    @Inject
    MeterRegistry registry;

    @Inject
    Vertx vertx;

    void install(@Observes Router router) {
        ApiKeys keys = ApiKeys.of(config.apiKeys().orElse(List.of()));
        OverloadRefusals pacing = new OverloadRefusals(config.overload().holdEarlyRetries());
        // the same series as RequestMetricsFilter's, which never sees these refusals
        Counter chat = refusals("chat");
        Counter completions = refusals("completions");
        router.post("/v1/chat/completions").order(ORDER).handler(ctx -> admit(ctx, keys, pacing, chat));
        router.post("/v1/completions").order(ORDER).handler(ctx -> admit(ctx, keys, pacing, completions));
    }

    private Counter refusals(String endpoint) {
        return Counter.builder("unmask.requests")
                .description("API requests by endpoint and status")
                .tag("endpoint", endpoint)
                .tag("status", "429")
                .register(registry);
    }

    private void admit(RoutingContext ctx, ApiKeys keys, OverloadRefusals pacing, Counter refused) {
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
        long waitMillis = pacing.holdMillis(connection, System.nanoTime());
        if (waitMillis == 0) {
            refuse(ctx, connection, pacing);
        } else {
            vertx.setTimer(waitMillis, id -> refuse(ctx, connection, pacing));
        }
    }

    private static void refuse(RoutingContext ctx, HttpConnection connection, OverloadRefusals pacing) {
        pacing.refused(connection, System.nanoTime());
        OVERLOADED.end(ctx, false); // the unread body is drained, so the connection takes the next request
    }
}
