package dev.unmask.packager.arch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unmask.packager.ExitCode;
import dev.unmask.packager.PackagerException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A checkpoint's {@code config.json}, read once, with the accessors an architecture's reader needs; every problem is
 * a {@link ExitCode#BAD_CHECKPOINT} that names the file and the key, with a correct example.
 */
public record ConfigJson(Path file, JsonNode root) {

    public static final String FILE_NAME = "config.json";

    public static ConfigJson read(Path checkpointDir) {
        Path file = checkpointDir.resolve(FILE_NAME);
        if (!Files.isRegularFile(file)) {
            throw new PackagerException(
                    ExitCode.BAD_CHECKPOINT,
                    "No config.json in " + checkpointDir
                            + ": point --from at a Hugging Face checkpoint folder, e.g. --from models/tiny-llada");
        }
        JsonNode c;
        try {
            c = new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new PackagerException(ExitCode.BAD_CHECKPOINT, file + " is not valid JSON: " + e.getMessage(), e);
        }
        if (c == null || !c.isObject()) {
            throw new PackagerException(ExitCode.BAD_CHECKPOINT, file + " is not a JSON object");
        }
        return new ConfigJson(file, c);
    }

    /** {@code model_type}, or null when absent. */
    public String modelType() {
        JsonNode v = root.get("model_type");
        return v == null || v.isNull() ? null : v.asText();
    }

    /** {@code architectures}, the Hugging Face model classes (e.g. {@code LLaDAModelLM}); empty when absent. */
    public List<String> architectures() {
        List<String> out = new ArrayList<>();
        JsonNode v = root.get("architectures");
        if (v != null && v.isArray()) {
            v.forEach(a -> out.add(a.asText()));
        } else if (v != null && v.isTextual()) {
            out.add(v.asText());
        }
        return List.copyOf(out);
    }

    public boolean has(String key) {
        return root.has(key) && !root.get(key).isNull();
    }

    public int requireInt(String key) {
        JsonNode v = root.get(key);
        if (v == null || !v.canConvertToInt() || v.asInt() <= 0) {
            throw invalid("needs a positive integer \"" + key + "\" (found " + v + "), e.g. \"" + key + "\": 32");
        }
        return v.asInt();
    }

    /** {@code key} as a positive integer when present, else {@code otherwise}. */
    public int intOr(String key, int otherwise) {
        return has(key) ? requireInt(key) : otherwise;
    }

    public Integer optInt(String key) {
        JsonNode v = root.get(key);
        return v == null || v.isNull() ? null : v.asInt();
    }

    public double doubleOr(String key, double otherwise) {
        return root.path(key).asDouble(otherwise);
    }

    public boolean boolOr(String key, boolean otherwise) {
        return root.path(key).asBoolean(otherwise);
    }

    /** Fails unless {@code key} is absent or equals {@code expected} (case-insensitive). */
    public void requireValue(String key, String expected, String family) {
        JsonNode v = root.get(key);
        if (v != null && !v.isNull() && !expected.equalsIgnoreCase(v.asText())) {
            throw invalid("has \"" + key + "\": \"" + v.asText() + "\"; " + family + " packages support only \"" + key
                    + "\": \"" + expected + "\"");
        }
    }

    /** Fails when {@code key} is true: a feature this architecture's graph does not build. */
    public void requireFalse(String key, String family) {
        JsonNode v = root.get(key);
        if (v != null && v.asBoolean(false)) {
            throw invalid("has \"" + key + "\": true; the packager converts " + family + " checkpoints without it (\""
                    + key + "\": false)");
        }
    }

    /**
     * Another JSON file of the checkpoint folder (e.g. {@code generation_config.json}), or null when there is none: for
     * a family whose graph depends on a value its reference code keeps there.
     */
    public JsonNode siblingOrNull(String fileName) {
        Path dir = file.getParent();
        Path other = dir == null ? Path.of(fileName) : dir.resolve(fileName);
        if (!Files.isRegularFile(other)) {
            return null;
        }
        try {
            return new ObjectMapper().readTree(other.toFile());
        } catch (IOException e) {
            throw new PackagerException(ExitCode.BAD_CHECKPOINT, other + " is not valid JSON: " + e.getMessage(), e);
        }
    }

    public PackagerException invalid(String what) {
        return new PackagerException(ExitCode.BAD_CHECKPOINT, file + " " + what);
    }
}
