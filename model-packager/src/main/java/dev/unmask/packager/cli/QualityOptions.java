package dev.unmask.packager.cli;

import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.format.Manifests;
import dev.unmask.format.PackageManifest;
import dev.unmask.packager.pack.PublishCheck;
import dev.unmask.packager.quant.QualityGate;
import dev.unmask.packager.quant.QualityVerifier;
import java.io.PrintWriter;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import picocli.CommandLine.Option;

/** {@code --against} and its settings, shared by verify, convert and quantize. */
final class QualityOptions {

    @Option(
            names = "--against",
            paramLabel = "<reference package>",
            description = "measure this package against a reference (the float package of the same checkpoint) on "
                    + "held-out text: top-1 agreement, KL and masked-token loss at t = 0.25/0.5/0.75, identical greedy "
                    + "generations; printed as a table, and stored as the manifest's 'quality' by convert and "
                    + "quantize (by verify with --record)")
    Path against;

    @Option(
            names = "--min-top1-agreement",
            paramLabel = "<share>",
            defaultValue = "" + QualityVerifier.Settings.DEFAULT_MIN_TOP1_AGREEMENT,
            description = "with --against: fail (exit 6, and convert/quantize write no package) when the top-1 "
                    + "agreement at any t is below this; 0 = report only (default: ${DEFAULT-VALUE})")
    double minTop1Agreement;

    @Option(
            names = "--heldout",
            paramLabel = "<dir|file>",
            description = "with --against: text the model did not train on (default: the 'heldout' folder of the "
                    + "reference's checkpoint, beside or above its package, else the repository's "
                    + BUNDLED_HELDOUT + ", found from the packager's jar, not the working directory)")
    Path heldOut;

    /** A checkpoint name that is one plain folder name, safe to look up under models/. */
    private static final Pattern PLAIN_FOLDER_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");

    /** The bundled reference model's held-out text, relative to the repository root. */
    static final String BUNDLED_HELDOUT = "models/tiny-llada/heldout";

    @Option(
            names = "--windows",
            paramLabel = "<n>",
            defaultValue = "32",
            description = "with --against: windows of 256 held-out tokens to mask (default: ${DEFAULT-VALUE})")
    int windows;

    @Option(
            names = "--prompts",
            paramLabel = "<n>",
            defaultValue = "8",
            description = "with --against: prompts of the fixed set to generate greedily with both packages, 0-8 "
                    + "(default: ${DEFAULT-VALUE})")
    int prompts;

    boolean enabled() {
        return against != null;
    }

    QualityVerifier verifier(RuntimeOptions runtime, Consumer<String> log) {
        if (prompts < 0 || windows < 1) {
            throw new IllegalArgumentException("--windows must be at least 1 and --prompts at least 0, e.g. "
                    + "--windows 32 --prompts 8; got " + windows + " and " + prompts);
        }
        QualityVerifier.Settings d = QualityVerifier.Settings.defaults(heldOut())
                .withMinTop1Agreement(minTop1Agreement)
                .withSample(windows, prompts);
        return new QualityVerifier(
                new QualityVerifier.Settings(
                        d.heldOut(),
                        d.windowTokens(),
                        d.maxWindows(),
                        d.maskFractions(),
                        d.seed(),
                        d.prompts(),
                        d.genLength(),
                        d.blockLength(),
                        d.steps(),
                        d.minTop1Agreement(),
                        runtime),
                log);
    }

    /**
     * The held-out text: {@code --heldout} as given (relative to the working directory, as a user typed it), else the
     * first that exists of the reference's own checkpoint's {@code heldout} (a package written inside or beside its
     * checkpoint: {@code models/tiny-llada/package} -> {@code models/tiny-llada/heldout}), the repository's folder of
     * that checkpoint, and the repository's {@value #BUNDLED_HELDOUT}; the repository is found upwards from the
     * packager's jar, so that {@code --against} works from any directory.
     */
    Path heldOut() {
        if (heldOut != null) {
            if (!Files.exists(heldOut)) {
                throw new IllegalArgumentException("--heldout " + heldOut + " does not exist (relative to "
                        + Path.of("").toAbsolutePath() + "): name a folder or file of text the model did not "
                        + "train on, e.g. --heldout " + BUNDLED_HELDOUT);
            }
            return heldOut;
        }
        List<Path> looked = new ArrayList<>();
        if (against != null) {
            Path reference = against.toAbsolutePath().normalize();
            looked.add(reference.resolve("heldout"));
            if (reference.getParent() != null) {
                looked.add(reference.getParent().resolve("heldout"));
            }
        }
        Path repo = repositoryRoot();
        if (repo != null) {
            String checkpoint = referenceCheckpoint();
            if (checkpoint != null && PLAIN_FOLDER_NAME.matcher(checkpoint).matches()) {
                looked.add(repo.resolve("models").resolve(checkpoint).resolve("heldout"));
            }
            looked.add(repo.resolve(BUNDLED_HELDOUT));
        }
        for (Path p : looked) {
            if (Files.exists(p)) {
                return p;
            }
        }
        throw new IllegalArgumentException("No held-out text for --against: none of " + looked + " exists. Name "
                + "text the model did not train on with --heldout <dir|file>, e.g. --heldout " + BUNDLED_HELDOUT);
    }

    /** The name of the checkpoint the reference package was converted from (its manifest's source), if readable. */
    private String referenceCheckpoint() {
        try {
            PackageManifest m = Manifests.read(against);
            return m.source() == null ? null : m.source().checkpoint();
        } catch (RuntimeException e) {
            return null; // the verifier says what is wrong with the reference
        }
    }

    /** The repository holding models/tiny-llada, upwards from the packager's jar (or classes folder). */
    static Path repositoryRoot() {
        try {
            Path code = Path.of(QualityOptions.class
                    .getProtectionDomain()
                    .getCodeSource()
                    .getLocation()
                    .toURI());
            for (Path p = code.toAbsolutePath(); p != null; p = p.getParent()) {
                if (Files.isDirectory(p.resolve(BUNDLED_HELDOUT))) {
                    return p;
                }
            }
        } catch (URISyntaxException | RuntimeException e) {
            // no code source (e.g. a custom class loader): no repository default
        }
        return null;
    }

    /** The publish check of convert/quantize: the gate when --against is given, else none. */
    PublishCheck gate(PrintWriter out, Consumer<String> log) {
        if (!enabled()) {
            return PublishCheck.NONE;
        }
        return new QualityGate(against, verifier(RuntimeOptions.defaults(), log), table -> {
            out.print(table);
            out.flush();
        });
    }
}
