package dev.unmask.functions;

import dev.unmask.openai.ApiException;
import dev.unmask.openai.ErrorKind;
import dev.unmask.openai.Errors;
import dev.unmask.openai.Json;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

/** Writes every error of {@code /v1} in OpenAI's shape, with the status {@code unmask-openai} maps it to. */
public class ApiExceptionMapper {

    @ServerExceptionMapper
    public Response api(ApiException e) {
        return write(e);
    }

    /** Framework errors (unknown path, wrong method, wrong media type) in the same shape. */
    @ServerExceptionMapper
    public Response web(WebApplicationException e) {
        int status = e.getResponse().getStatus();
        if (status >= 500) {
            return write(Errors.internal(e, Errors.newRequestId()));
        }
        ErrorKind kind = switch (status) {
            case 401 -> ErrorKind.AUTHENTICATION;
            case 404 -> ErrorKind.NOT_FOUND;
            case 405 -> ErrorKind.METHOD_NOT_ALLOWED;
            case 413 -> ErrorKind.PAYLOAD_TOO_LARGE;
            default -> ErrorKind.INVALID_REQUEST;
        };
        String message = switch (status) {
            case 404 ->
                "Unknown path: the API serves POST /v1/chat/completions, POST /v1/completions and GET /v1/models";
            case 405 ->
                "Wrong method for this path: use POST for /v1/chat/completions and /v1/completions, GET for /v1/models";
            default -> e.getMessage();
        };
        return write(new ApiException(kind, message, null, null, 0, e));
    }

    /** Everything else: the typed failures by their kind; a fault of the server's own is logged with an id. */
    @ServerExceptionMapper
    public Response other(Throwable e) {
        return write(Errors.toApi(e));
    }

    static Response write(ApiException e) {
        Response.ResponseBuilder r =
                Response.status(e.httpStatus()).type(MediaType.APPLICATION_JSON).entity(Json.write(e.body()));
        e.headers().forEach(r::header);
        return r.build();
    }
}
