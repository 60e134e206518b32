package dev.unmask.packager;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The bundled tiny-llada checkpoint and its golden fixtures, found through the {@code unmask.repo.root} property. */
public final class TinyModel {
    private TinyModel() {}

    public static Path repoRoot() {
        String root = System.getProperty("unmask.repo.root");
        Path p = root != null ? Path.of(root) : Path.of("").toAbsolutePath();
        while (p != null && !Files.isDirectory(p.resolve("models/tiny-llada"))) {
            p = p.getParent();
        }
        if (p == null) {
            throw new IllegalStateException("models/tiny-llada not found; run the tests through Maven (sets unmask.repo.root)");
        }
        return p;
    }

    public static Path checkpoint() {
        return repoRoot().resolve("models/tiny-llada");
    }

    public static JsonNode forwardFixture() {
        try {
            return new ObjectMapper().readTree(checkpoint().resolve("fixtures/forward.json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
