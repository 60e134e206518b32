package dev.unmask.packager;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unmask.testing.Repo;
import java.nio.file.Path;

/** The bundled tiny-llada checkpoint and its golden fixtures, for the packager's tests (found by {@link Repo}). */
public final class TinyModel {
    private TinyModel() {}

    public static Path checkpoint() {
        return Repo.checkpoint();
    }

    public static JsonNode forwardFixture() {
        return Repo.json(checkpoint().resolve("fixtures/forward.json"));
    }
}
