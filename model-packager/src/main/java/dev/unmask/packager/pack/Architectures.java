package dev.unmask.packager.pack;

import dev.unmask.packager.ExitCode;
import dev.unmask.packager.PackagerException;
import dev.unmask.packager.arch.ConfigJson;
import dev.unmask.packager.arch.ModelArchitecture;
import dev.unmask.packager.arch.TransformerConfig;
import dev.unmask.packager.dream.Dream;
import dev.unmask.packager.llada.Llada;
import dev.unmask.packager.sdar.Sdar;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The model families the packager converts, and the choice among them from a checkpoint's {@code config.json}. It
 * lives with the writer, above both the seam ({@code arch}) and its implementations ({@code llada}, …), so that
 * neither depends on the other's package.
 */
public final class Architectures {

    /** Every supported family; adding an architecture means adding it here. */
    public static final List<ModelArchitecture> SUPPORTED = List.of(new Llada(), new Dream(), new Sdar());

    private Architectures() {}

    /** A checkpoint's family and its hyper-parameters. */
    public record Chosen(ModelArchitecture architecture, TransformerConfig config) {}

    /** Reads {@code checkpointDir/config.json}, chooses the family and reads the config with it. */
    public static Chosen read(Path checkpointDir) {
        ConfigJson json = ConfigJson.read(checkpointDir);
        ModelArchitecture architecture = choose(json, SUPPORTED);
        try {
            return new Chosen(architecture, architecture.readConfig(json));
        } catch (IllegalArgumentException e) {
            throw json.invalid(e.getMessage());
        }
    }

    /**
     * The family whose {@code model_type} the config names; when it names none, the one whose model class is in
     * {@code architectures}. A {@code model_type} that no family converts is an error even when a listed class
     * matches: the type says what the weights are.
     */
    public static ModelArchitecture choose(ConfigJson json, List<ModelArchitecture> among) {
        String modelType = json.modelType();
        List<String> classes = json.architectures();
        for (ModelArchitecture a : among) {
            if (modelType != null
                    ? a.modelTypes().contains(modelType)
                    : classes.stream().anyMatch(a.modelClasses()::contains)) {
                return a;
            }
        }
        throw new PackagerException(
                ExitCode.BAD_CHECKPOINT,
                json.file() + " has model_type "
                        + (modelType == null ? "(none)" : "'" + modelType + "'") + " (architectures " + classes
                        + "); unmask-pack converts: " + describe(among)
                        + ". Point --from at a checkpoint of one of these, e.g. GSAI-ML/LLaDA-8B-Instruct (\"model_type\": \"llada\") or "
                        + "Dream-org/Dream-v0-Instruct-7B (\"model_type\": \"Dream\")");
    }

    /** E.g. {@code llada (LLaDAModelLM)}, one entry per family. */
    public static String describe(List<ModelArchitecture> among) {
        return among.stream()
                .map(a -> String.join("/", a.modelTypes()) + " (" + String.join(", ", a.modelClasses()) + ")")
                .collect(Collectors.joining(", "));
    }
}
