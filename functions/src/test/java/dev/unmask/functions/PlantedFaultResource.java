package dev.unmask.functions;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;

/** Tests only: a path that fails as a bug would, to see what a 500 leaves in the answer and in the log. */
@Path("/v1/test/planted-fault")
public class PlantedFaultResource {

    static final String MESSAGE = "a planted fault";

    @GET
    public String fail() {
        throw new IllegalStateException(MESSAGE);
    }
}
