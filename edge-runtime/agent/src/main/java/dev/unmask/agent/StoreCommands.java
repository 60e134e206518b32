package dev.unmask.agent;

import dev.unmask.format.PackageManifest;
import java.io.PrintWriter;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code unmask pull | list | show | cp | rm}: the model store. */
final class StoreCommands {

    private StoreCommands() {}

    static String megabytes(long bytes) {
        return String.format("%.1f MB", bytes / 1e6);
    }

    @Command(
            name = "pull",
            mixinStandardHelpOptions = true,
            sortOptions = false,
            description = {
                "Install a model package into the store, every file verified first.",
                "%nEvery file is checked against the manifest's SHA-256 in a staging folder, then the folder is "
                        + "renamed into place, so a failed pull installs nothing.%n",
                "Examples: unmask pull models/tiny-llada/package",
                "          unmask pull tiny-llada.zip --name tiny",
                "          unmask pull https://example.com/tiny-llada.zip",
                "          unmask pull hf:ORG/NAME[@revision]   (a Hugging Face Hub repository holding a package; "
                        + "HF_ENDPOINT, HF_TOKEN, HF_HUB_CACHE, HF_HUB_OFFLINE apply)"
            })
    static final class Pull implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Parameters(
                index = "0",
                paramLabel = "<package folder | .zip | https URL | hf:ORG/NAME>",
                description = "a package folder written by 'unmask-pack convert', a .zip of one, an https URL of such "
                        + "a zip, or a Hugging Face Hub repository that holds a package")
        String source;

        @Option(
                names = "--name",
                paramLabel = "<model>",
                description = "the model's name in the store (default: the package's name, lower-cased)")
        String name;

        @Option(
                names = {"-f", "--force"},
                description = "replace an installed model of the same name")
        boolean force;

        @Mixin
        StoreOption store;

        @Override
        public Integer call() {
            PrintWriter err = spec.commandLine().getErr();
            ModelStore.Installed m = store.open().pull(source, name, force, line -> {
                err.println("unmask: " + line);
                err.flush();
            });
            PrintWriter out = spec.commandLine().getOut();
            out.println(m.name());
            out.flush();
            return ExitCodes.OK;
        }
    }

    @Command(
            name = "list",
            aliases = "ls",
            mixinStandardHelpOptions = true,
            description = "List the installed models: name, size, family, precision.")
    static final class ListModels implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Mixin
        StoreOption store;

        @Override
        public Integer call() {
            ModelStore s = store.open();
            ModelStore.Listing listing = s.listing();
            List<ModelStore.Installed> all = listing.models();
            PrintWriter out = spec.commandLine().getOut();
            if (all.isEmpty() && listing.broken().isEmpty()) {
                spec.commandLine()
                        .getErr()
                        .println("unmask: no model in " + s.root()
                                + "; install one with 'unmask pull <package folder | .zip | https URL>'");
                spec.commandLine().getErr().flush();
                return ExitCodes.OK;
            }
            out.printf("%-24s %10s  %-8s %s%n", "NAME", "SIZE", "FAMILY", "PRECISION");
            for (ModelStore.Installed m : all) {
                out.printf(
                        "%-24s %10s  %-8s %s%n",
                        m.name(),
                        megabytes(m.bytes()),
                        m.manifest().architecture().family(),
                        precision(m.manifest()));
            }
            for (ModelStore.Broken b : listing.broken()) { // listed, so that one damaged folder hides nothing
                out.printf("%-24s %10s  %-8s %s%n", b.name(), "-", "BROKEN", b.reason());
            }
            out.flush();
            if (!listing.broken().isEmpty()) {
                spec.commandLine()
                        .getErr()
                        .println("unmask: " + listing.broken().size() + " broken folder(s) in " + s.root()
                                + " are not served; reinstall with 'unmask pull <package> --name <model> --force' "
                                + "or remove with 'unmask rm <model>'");
                spec.commandLine().getErr().flush();
            }
            return ExitCodes.OK;
        }
    }

    @Command(
            name = "show",
            mixinStandardHelpOptions = true,
            description =
                    "Show an installed model: its folder, architecture, precision, generation defaults and files.")
    static final class Show implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Parameters(index = "0", paramLabel = "<model>", description = "an installed model, as 'unmask list' shows it")
        String name;

        @Mixin
        StoreOption store;

        @Override
        public Integer call() {
            ModelStore.Installed m = store.open().show(name);
            PackageManifest p = m.manifest();
            PackageManifest.Architecture a = p.architecture();
            PrintWriter out = spec.commandLine().getOut();
            out.printf("name:          %s%n", m.name());
            out.printf("package name:  %s%n", p.name());
            out.printf("folder:        %s%n", m.dir());
            out.printf("size:          %s%n", megabytes(m.bytes()));
            out.printf(
                    "architecture:  %s, %d layers, d_model %d, %d heads (%d kv), vocab %d, max %d tokens%n",
                    a.family(), a.layers(), a.modelDim(), a.heads(), a.kvHeads(), a.vocabSize(), a.maxSequenceLength());
            out.printf("precision:     %s%n", precision(p));
            if (p.generationDefaults() != null) {
                PackageManifest.GenerationDefaults d = p.generationDefaults();
                out.printf(
                        "defaults:      gen_length %d, block_length %d, steps %d, temperature %s, remasking %s%n",
                        d.genLength(), d.blockLength(), d.steps(), d.temperature(), d.remasking());
            }
            out.printf("chat template: %s%n", p.chatTemplate() == null ? "none" : "yes");
            out.println("files:");
            for (Map.Entry<String, PackageManifest.FileEntry> f : new java.util.TreeMap<>(p.files()).entrySet()) {
                out.printf(
                        "  %-20s %10s  sha256 %s%n",
                        f.getKey(),
                        megabytes(f.getValue().bytes()),
                        f.getValue().sha256());
            }
            out.flush();
            return ExitCodes.OK;
        }
    }

    @Command(
            name = "cp",
            mixinStandardHelpOptions = true,
            description = {
                "Copy an installed model under a new name (as 'ollama cp'): files are hard-linked where the store's "
                        + "file system allows, so even a large model copies at once.",
                "Example: unmask cp tiny-llada my-llada"
            })
    static final class Copy implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Parameters(index = "0", paramLabel = "<source>", description = "an installed model, as 'unmask list' shows it")
        String source;

        @Parameters(
                index = "1",
                paramLabel = "<destination>",
                description = "the copy's name: lower-case letters, digits, '.', '_' and '-', e.g. my-llada")
        String destination;

        @Option(
                names = {"-f", "--force"},
                description = "replace an installed model named <destination>")
        boolean force;

        @Mixin
        StoreOption store;

        @Override
        public Integer call() {
            ModelStore.Installed m = store.open().copy(source, destination, force);
            spec.commandLine().getErr().println("unmask: copied '" + source + "' to '" + m.name() + "' in " + m.dir());
            spec.commandLine().getErr().flush();
            return ExitCodes.OK;
        }
    }

    @Command(name = "rm", mixinStandardHelpOptions = true, description = "Remove an installed model from the store.")
    static final class Remove implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Parameters(
                index = "0",
                arity = "1..*",
                paramLabel = "<model>",
                description = "installed models, as 'unmask list' shows them")
        List<String> names;

        @Mixin
        StoreOption store;

        @Override
        public Integer call() {
            ModelStore s = store.open();
            for (String n : names) {
                s.remove(n);
                spec.commandLine().getErr().println("unmask: removed '" + n + "'");
            }
            spec.commandLine().getErr().flush();
            return ExitCodes.OK;
        }
    }

    private static String precision(PackageManifest p) {
        if (p.precision() == null) {
            return "?";
        }
        return p.precision().quantization() == null
                        || p.precision().quantization().isBlank()
                        || p.precision().quantization().equals("none")
                ? p.precision().dtype()
                : p.precision().dtype() + " " + p.precision().quantization();
    }
}
