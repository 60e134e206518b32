package dev.unmask.format;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reads and writes {@code manifest.json}. The one place that knows its JSON encoding. */
public final class Manifests {

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    private Manifests() {}

    /**
     * Reads the manifest of the package folder {@code packageDir}.
     *
     * @throws PackageException when the file is missing, is not JSON of this shape, or has a format version this
     *                          engine was not written for
     */
    public static PackageManifest read(Path packageDir) {
        Path file = packageDir.resolve(PackageManifest.FILE_NAME);
        if (!Files.isRegularFile(file)) {
            throw new PackageException(
                    "No " + PackageManifest.FILE_NAME + " in " + packageDir
                            + ": point at a package folder written by 'unmask-pack convert', e.g. --model models/tiny-llada/package");
        }
        PackageManifest manifest;
        try {
            manifest = JSON.readValue(file.toFile(), PackageManifest.class);
        } catch (IOException | RuntimeException e) {
            throw new PackageException(file + " is not a valid package manifest: " + rootMessage(e), e);
        }
        if (!PackageManifest.FORMAT.equals(manifest.format())) {
            throw new PackageException(
                    file + " has format '" + manifest.format() + "', expected '" + PackageManifest.FORMAT + "'");
        }
        if (manifest.formatVersion() < PackageManifest.OLDEST_FORMAT_VERSION
                || manifest.formatVersion() > PackageManifest.CURRENT_FORMAT_VERSION) {
            throw new PackageException(file + " has format_version " + manifest.formatVersion()
                    + "; this engine reads format_version " + PackageManifest.OLDEST_FORMAT_VERSION + " to "
                    + PackageManifest.CURRENT_FORMAT_VERSION
                    + ". Re-package the checkpoint with a matching 'unmask-pack', or upgrade Unmask.");
        }
        return manifest;
    }

    public static void write(PackageManifest manifest, Path packageDir) {
        try {
            JSON.writeValue(packageDir.resolve(PackageManifest.FILE_NAME).toFile(), manifest);
        } catch (IOException e) {
            throw new UncheckedIOException("Could not write " + PackageManifest.FILE_NAME + " to " + packageDir, e);
        }
    }

    public static String toJson(PackageManifest manifest) {
        try {
            return JSON.writeValueAsString(manifest);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getMessage();
    }
}
