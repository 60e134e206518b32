package dev.unmask.functions;

import dev.unmask.openai.Playground;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.NotFoundException;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.core.Response;

/**
 * The web playground ({@link Playground}, the same files and headers as {@code unmask serve}'s) at {@code /}, with
 * {@code unmask.playground.enabled=true}; off, these paths are the API's usual 404.
 */
@Path("/")
public class PlaygroundResource {

    @Inject
    UnmaskConfig config;

    @GET
    public Response index(@HeaderParam("If-None-Match") String ifNoneMatch) {
        return file("/", ifNoneMatch);
    }

    @GET
    @Path("playground.js")
    public Response script(@HeaderParam("If-None-Match") String ifNoneMatch) {
        return file("/playground.js", ifNoneMatch);
    }

    @GET
    @Path("playground.css")
    public Response style(@HeaderParam("If-None-Match") String ifNoneMatch) {
        return file("/playground.css", ifNoneMatch);
    }

    @GET
    @Path("favicon.svg")
    public Response icon(@HeaderParam("If-None-Match") String ifNoneMatch) {
        return file("/favicon.svg", ifNoneMatch);
    }

    private Response file(String path, String ifNoneMatch) {
        if (!config.playground().enabled()) {
            throw new NotFoundException(); // ApiExceptionMapper: OpenAI's 404 shape, as for any unknown path
        }
        Playground.Asset asset = Playground.asset(path).orElseThrow(NotFoundException::new);
        Response.ResponseBuilder r =
                Playground.notModified(asset, ifNoneMatch) ? Response.notModified() : Response.ok(asset.bytes());
        Playground.headers(asset).forEach(r::header);
        return r.build();
    }
}
