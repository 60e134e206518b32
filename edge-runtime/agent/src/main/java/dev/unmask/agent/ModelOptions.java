package dev.unmask.agent;

import dev.unmask.engine.Engine;
import dev.unmask.engine.model.ExecutionProvider;
import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.format.PackageException;
import dev.unmask.format.PackageManifest;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Which package to load and how to run it; shared by every command. */
public final class ModelOptions {

    /** Set by bin/unmask to the repository root, where the bundled package lives. */
    public static final String HOME_PROPERTY = "unmask.home";

    public static final String BUNDLED_PACKAGE = "models/tiny-llada/package";
    public static final String BUILD_BUNDLED =
            "bin/unmask-pack convert --from models/tiny-llada --out models/tiny-llada/package --force";

    @Option(
            names = {"-m", "--model"},
            paramLabel = "<name | package dir>",
            description = "a model installed with 'unmask pull', or a package folder (default: the bundled "
                    + BUNDLED_PACKAGE + ")")
    String model;

    @Mixin
    StoreOption store = new StoreOption();

    @Option(
            names = "--threads",
            defaultValue = "0",
            paramLabel = "<n>",
            description =
                    "ONNX Runtime intra-op threads; 0 = its choice, one per physical core (default: ${DEFAULT-VALUE})")
    int threads;

    @Option(
            names = "--spinning",
            defaultValue = "auto",
            paramLabel = "auto|spin|sleep",
            description =
                    "whether ONNX Runtime's threads spin or sleep between parallel sections; sleep for cores "
                            + "shared with other work (default: ${DEFAULT-VALUE}: sleep for serve, ONNX Runtime's spin for the other commands)")
    String spinning;

    @Option(
            names = "--provider",
            defaultValue = "cpu",
            paramLabel = "cpu|cuda|coreml|directml",
            description =
                    "execution provider; falls back to CPU with a message when absent (default: ${DEFAULT-VALUE})")
    String provider;

    public Engine open() {
        return open(packageDir());
    }

    Engine open(Path packageDir) {
        return Engine.open(packageDir, runtime());
    }

    RuntimeOptions runtime() {
        return new RuntimeOptions(ExecutionProvider.parse(provider), threads, RuntimeOptions.Spinning.parse(spinning));
    }

    /** Only warnings and errors from the engine's loggers (the load line is INFO). */
    static void quietLogs() {
        java.util.logging.Logger.getLogger("").setLevel(java.util.logging.Level.WARNING);
    }

    Path packageDir() {
        return packageDir(model);
    }

    /**
     * The package folder of {@code nameOrDir}: a folder holding a package, else a model installed in the store;
     * the bundled package when null.
     */
    Path packageDir(String nameOrDir) {
        if (nameOrDir != null) {
            Path dir = Path.of(nameOrDir);
            if (Files.isRegularFile(dir.resolve(PackageManifest.FILE_NAME))) {
                return dir;
            }
            if (ModelStore.isName(nameOrDir)) {
                return store.open().require(nameOrDir);
            }
            if (Files.isDirectory(dir)) {
                return dir; // opening it says what is missing
            }
            throw new PackageException("'" + nameOrDir + "' is neither a package folder nor an installed model: "
                    + "name a folder holding manifest.json (e.g. " + BUNDLED_PACKAGE + ") or a model 'unmask list' "
                    + "shows, e.g. --model " + ModelStore.NAME_EXAMPLE);
        }
        Path home = home();
        Path bundled = bundledPackage();
        if (!Files.isRegularFile(bundled.resolve("manifest.json"))) {
            if (home == null || !Files.isRegularFile(home.resolve("models/tiny-llada/config.json"))) {
                // an installed app (the jlink'd image) away from the repository: no repository command would work
                throw new PackageException(noModelNamed());
            }
            throw new PackageException("No model named and the bundled package " + bundled + " is not built yet. "
                    + "Build it from the repository root with:\n  " + BUILD_BUNDLED
                    + "\nor install a model with 'unmask pull <package folder | .zip | https URL>' and name it, "
                    + "or name a package with --model <package dir>.");
        }
        return bundled;
    }

    /** What to do when no model is named and there is no repository: the models installed, or how to install one. */
    private String noModelNamed() {
        ModelStore s = store.open();
        java.util.List<String> names =
                s.list().stream().map(ModelStore.Installed::name).toList();
        if (names.isEmpty()) {
            return "No model named, and none is installed in " + s.root() + ". Install one with\n"
                    + "  unmask pull <package folder | .zip | https URL>   "
                    + "(e.g. unmask pull https://example.com/models/tiny-llada.zip)\n"
                    + "then name it: unmask run <model>, or unmask generate \"def f():\" -m <model>.";
        }
        return "No model named: name one of the installed " + String.join(", ", names) + ", e.g. unmask run "
                + names.get(0) + " (or -m " + names.get(0) + "; 'unmask list' shows them).";
    }

    /** Where the bundled package is (or would be, once built). */
    static Path bundledPackage() {
        Path home = home();
        return home == null ? Path.of(BUNDLED_PACKAGE) : home.resolve(BUNDLED_PACKAGE);
    }

    /** The repository root: {@code -Dunmask.home}, else the folder above the agent jar's module, else upwards from here. */
    static Path home() {
        String property = System.getProperty(HOME_PROPERTY);
        if (property != null && !property.isBlank()) {
            return Path.of(property);
        }
        try {
            Path jar = Path.of(ModelOptions.class
                    .getProtectionDomain()
                    .getCodeSource()
                    .getLocation()
                    .toURI());
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
