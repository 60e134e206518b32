package dev.unmask.openai;

import dev.unmask.engine.Engine;
import java.util.Objects;

/**
 * A package served under a model id.
 *
 * @param id             the id clients send as {@code model}
 * @param engine         the loaded package
 * @param scheduler      batches its requests
 * @param createdSeconds {@code created} in {@code GET /v1/models}: when the server loaded it, epoch seconds
 */
public record ServedModel(String id, Engine engine, BatchScheduler scheduler, long createdSeconds) {

    public ServedModel {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(engine, "engine");
        Objects.requireNonNull(scheduler, "scheduler");
    }
}
