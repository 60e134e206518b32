package dev.unmask.functions;

import dev.unmask.openai.ApiException;
import dev.unmask.openai.Errors;
import dev.unmask.openai.Json;
import io.quarkus.runtime.configuration.MemorySize;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * A body larger than {@code quarkus.http.limits.max-body-size} is a 413 in OpenAI's shape, refused from its
 * {@code Content-Length} before a byte of it is read. Quarkus's own check answers the same status with an empty
 * body, which clients show as an unexplained failure; it still catches a chunked body without a length.
 */
@ApplicationScoped
public class BodyLimit {

    /** Before Quarkus's own limit check (order -2) and every other route. */
    static final int ORDER = -10;

    @ConfigProperty(name = "quarkus.http.limits.max-body-size", defaultValue = "10240K")
    MemorySize maxBodySize;

    void install(@Observes Router router) {
        long limit = maxBodySize.asLongValue();
        router.route().order(ORDER).handler(ctx -> refuseOversize(ctx, limit));
    }

    private static void refuseOversize(RoutingContext ctx, long limit) {
        String length = ctx.request().getHeader("Content-Length");
        if (length != null && declared(length) > limit) {
            ApiException e = Errors.payloadTooLarge(limit);
            ctx.response()
                    .setStatusCode(e.httpStatus())
                    .putHeader("Content-Type", "application/json")
                    .putHeader("Connection", "close") // the unread body would otherwise be the next request
                    .end(Json.write(e.body()));
            return;
        }
        ctx.next();
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
