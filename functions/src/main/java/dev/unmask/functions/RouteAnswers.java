package dev.unmask.functions;

import dev.unmask.openai.ApiException;
import dev.unmask.openai.Json;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpConnection;
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
     * Ends the exchange with this answer. {@code close}: the connection closes after it, for a refusal whose body is
     * left unread (the unread bytes would otherwise be read as the next request).
     */
    void end(RoutingContext ctx, boolean close) {
        HttpServerResponse r = ctx.response();
        if (r.ended() || r.closed()) {
            return;
        }
        r.setStatusCode(status).putHeader("Content-Type", "application/json");
        headers.forEach(r::putHeader);
        if (!close) {
            r.end(body); // a Vert.x Buffer is written as a duplicate: one instance serves every refusal
            return;
        }
        r.putHeader("Connection", "close");
        HttpConnection connection = ctx.request().connection();
        r.end(body).onComplete(written -> {
            if (connection != null) {
                connection.close(); // also mid-body: a chunked request would otherwise keep it open to its end
            }
        });
    }
}
