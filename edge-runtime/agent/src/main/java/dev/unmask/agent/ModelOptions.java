package dev.unmask.agent;

import dev.unmask.engine.Engine;
import dev.unmask.engine.model.ExecutionProvider;
import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.engine.pack.PackageException;
import picocli.CommandLine.Option;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Which package to load and how to run it; shared by every command. */
public final class ModelOptions {

    /** Set by bin/unmask to the repository root, where the bundled package lives. */
    public static final String HOME_PROPERTY = "unmask.home";
    public static final String BUNDLED_PACKAGE = "models/tiny-llada/package";
    public static final String BUILD_BUNDLED = "bin/unmask-pack convert --from models/tiny-llada --out models/tiny-llada/package --force";

    @Option(names = {"-m", "--model"}, paramLabel = "<package dir>",
            description = "model package folder (default: the bundled " + BUNDLED_PACKAGE + ")")
    Path model;

    @Option(names = "--threads", defaultValue = "0", paramLabel = "<n>",
            description = "ONNX Runtime intra-op threads; 0 = its choice, one per physical core (default: ${DEFAULT-VALUE})")
    int threads;

    @Option(names = "--provider", defaultValue = "cpu", paramLabel = "cpu|cuda|coreml|directml",
            description = "execution provider; falls back to CPU with a message when absent (default: ${DEFAULT-VALUE})")
    String provider;

    public Engine open() {
        return Engine.open(packageDir(), new RuntimeOptions(ExecutionProvider.parse(provider), threads));
    }

    /** Only warnings and errors from the engine's loggers (the load line is INFO). */
    static void quietLogs() {
        java.util.logging.Logger.getLogger("").setLevel(java.util.logging.Level.WARNING);
    }

    Path packageDir() {
        if (model != null) {
            return model;
        }
        Path home = home();
        Path bundled = home == null ? Path.of(BUNDLED_PACKAGE) : home.resolve(BUNDLED_PACKAGE);
        if (!Files.isRegularFile(bundled.resolve("manifest.json"))) {
            throw new PackageException("No model named and the bundled package " + bundled + " is not built yet. "
                    + "Build it from the repository root with:\n  " + BUILD_BUNDLED
                    + "\nor name a package with --model <package dir>.");
        }
        return bundled;
    }

    /** The repository root: {@code -Dunmask.home}, else the folder above the agent jar's module, else upwards from here. */
    static Path home() {
        String property = System.getProperty(HOME_PROPERTY);
        if (property != null && !property.isBlank()) {
            return Path.of(property);
        }
        try {
            Path jar = Path.of(ModelOptions.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            Path found = upwardsTo(jar);
            if (found != null) {
                return found;
            }
        } catch (URISyntaxException | RuntimeException ignored) {
            // fall through to the working directory
        }
        return upwardsTo(Path.of("").toAbsolutePath());
    }

    private static Path upwardsTo(Path start) {
        for (Path p = start; p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("models/tiny-llada"))) {
                return p;
            }
        }
        return null;
    }
}
