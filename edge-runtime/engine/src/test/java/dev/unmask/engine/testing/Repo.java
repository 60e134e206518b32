package dev.unmask.engine.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The repository's bundled checkpoint and fixtures, found through {@code -Dunmask.repo.root} (set by surefire). */
public final class Repo {
    private Repo() {}

    public static Path root() {
        String root = System.getProperty("unmask.repo.root");
        Path path = root != null ? Path.of(root) : Path.of("").toAbsolutePath();
        while (path != null && !Files.isDirectory(path.resolve("models/tiny-llada"))) {
            path = path.getParent();
        }
        if (path == null) {
            throw new IllegalStateException("Cannot find models/tiny-llada: run the tests through Maven from the repository "
                    + "(it sets -Dunmask.repo.root), e.g. ./mvnw -pl edge-runtime/engine test");
        }
        return path;
    }

    public static Path checkpoint() {
        return root().resolve("models/tiny-llada");
    }

    public static JsonNode json(Path file) {
        try {
            return new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static long[] longs(JsonNode array) {
        long[] out = new long[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asLong();
        }
        return out;
    }
}
