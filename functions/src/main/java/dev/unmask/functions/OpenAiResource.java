package dev.unmask.functions;

import dev.unmask.openai.ChatCompletionRequest;
import dev.unmask.openai.CompletionRequest;
import dev.unmask.openai.Json;
import dev.unmask.openai.PendingGeneration;
import dev.unmask.openai.Sse;
import io.smallrye.common.annotation.Blocking;
import io.smallrye.mutiny.Uni;
import io.vertx.core.http.HttpServerResponse;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.StreamingOutput;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * The OpenAI-compatible endpoints. Each one reads the raw body, hands it to {@code unmask-openai} and writes what
 * comes back; errors are {@link dev.unmask.openai.ApiException}s, written by {@link ApiExceptionMapper}.
 */
@Path("/v1")
public class OpenAiResource {

    /**
     * Built with -Plambda: API Gateway buffers responses and Lambda's Java runtime cannot stream, so a stream is
     * written whole, in the same SSE format, and sent as one body.
     */
    static final boolean BUFFERED_STREAMS = classPresent("io.quarkus.amazon.lambda.http.LambdaHttpHandler");

    @Inject
    ModelHost host;

    private static boolean classPresent(String name) {
        try {
            Class.forName(name, false, OpenAiResource.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException e) {
            return false;
        }
    }

    @GET
    @Path("/models")
    public Response models() {
        return json(host.service().models());
    }

    @GET
    @Path("/models/{id}")
    public Response model(@PathParam("id") String id) {
        return json(host.service().model(id));
    }

    @POST
    @Path("/chat/completions")
    @Consumes(MediaType.WILDCARD)
    @Blocking
    public Uni<Response> chat(byte[] body, @Context HttpServerResponse http) {
        ChatCompletionRequest request = ChatCompletionRequest.parse(body);
        return answer(host.service().chat(request), http);
    }

    @POST
    @Path("/completions")
    @Consumes(MediaType.WILDCARD)
    @Blocking
    public Uni<Response> completions(byte[] body, @Context HttpServerResponse http) {
        CompletionRequest request = CompletionRequest.parse(body);
        return answer(host.service().completion(request), http);
    }

    /**
     * A whole answer is a {@link Uni} that Quarkus REST cancels when the client's connection closes, which drops the
     * request from the batch; a stream is written on a worker thread, and a failed write drops it the same way.
     */
    private static Uni<Response> answer(PendingGeneration pending, HttpServerResponse http) {
        if (!pending.streaming()) {
            return Uni.createFrom()
                    .completionStage(pending.answer())
                    .map(OpenAiResource::json)
                    .onCancellation()
                    .invoke(pending::cancel);
        }
        if (BUFFERED_STREAMS) {
            ByteArrayOutputStream whole = new ByteArrayOutputStream();
            try {
                pending.streamTo(whole);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return Uni.createFrom()
                    .item(Response.ok(whole.toString(StandardCharsets.UTF_8), Sse.CONTENT_TYPE)
                            .build());
        }
        StreamingOutput stream = out -> pending.streamTo(out, http::closed);
        return Uni.createFrom()
                .item(Response.ok(stream, Sse.CONTENT_TYPE)
                        .header("Cache-Control", "no-cache")
                        .header("X-Accel-Buffering", "no")
                        .build());
    }

    private static Response json(Object body) {
        return Response.ok(Json.write(body), MediaType.APPLICATION_JSON).build();
    }
}
