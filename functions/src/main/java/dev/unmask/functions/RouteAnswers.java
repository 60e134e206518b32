package dev.unmask.functions;

import dev.unmask.openai.ApiException;
import dev.unmask.openai.Json;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;
import java.util.Map;

/**
 * An {@link ApiException} written by a Vert.x route, before Quarkus REST sees the request (refusals that must not
 * read the body): the same status, headers and OpenAI body that {@link ApiExceptionMapper} writes.
 *
 * @param body    the JSON body, serialized once
 * @param headers the answer's headers besides {@code Content-Type}
 */
record RouteAnswers(int status, Buffer body, Map<String, String> headers) {

    static RouteAnswers of(ApiException e) {
        return new RouteAnswers(e.httpStatus(), Buffer.buffer(Json.write(e.body())), e.headers());
    }

    /**
     * Ends the exchange with this answer. {@code close}: the connection closes once the request is over, for a
     * refusal whose body is left unread; Vert.x reads and drops the rest of it (nothing is kept), so that a client
     * that sends its whole body before it reads gets this answer, not a reset.
     */
    void end(RoutingContext ctx, boolean close) {
        HttpServerResponse r = ctx.response();
        if (r.ended() || r.closed()) {
            return;
        }
        r.setStatusCode(status).putHeader("Content-Type", "application/json");
        headers.forEach(r::putHeader);
        if (close) {
            r.putHeader("Connection", "close");
        }
        ctx.request().resume(); // the unread body is drained, not held
        r.end(body); // a Vert.x Buffer is written as a duplicate: one instance serves every refusal
    }
}
