package dev.unmask.packager.quant;

import dev.unmask.engine.model.OnnxDenoiser;
import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.engine.model.SelfTest;
import dev.unmask.format.Manifests;
import dev.unmask.format.ModelPackage;
import dev.unmask.format.PackageException;
import dev.unmask.format.PackageFolders;
import dev.unmask.format.PackageManifest;
import dev.unmask.format.Verification;
import dev.unmask.packager.ExitCode;
import dev.unmask.packager.PackagerException;
import dev.unmask.packager.pack.PackageWriter;
import dev.unmask.packager.pack.PublishCheck;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * {@code unmask-pack quantize}: a float package (or a bare {@code model.onnx} exported elsewhere) in, a quantized
 * one out. For a package the other files are copied, the manifest gets the new {@code precision.quantization},
 * file checksums and a self-test recorded on the quantized graph (same canvas), and the result must pass it; it is
 * written into a hidden sibling folder and renamed into place only when complete.
 */
public final class PackageQuantizer {

    /** The result: where it went, the new manifest (null for a bare model) and what was quantized. */
    public record Written(Path dir, PackageManifest manifest, OnnxModelQuantizer.Result result) {}

    private final QuantScheme scheme;
    private final HeadPrecision head;
    private final Consumer<String> log;
    private final PublishCheck publishCheck;

    public PackageQuantizer(QuantScheme scheme, HeadPrecision head, Consumer<String> log) {
        this(scheme, head, log, PublishCheck.NONE);
    }

    /** @param publishCheck runs on the complete package before the rename (the quality gate of --against) */
    public PackageQuantizer(QuantScheme scheme, HeadPrecision head, Consumer<String> log, PublishCheck publishCheck) {
        this.scheme = Objects.requireNonNull(scheme, "quantization scheme");
        this.head = Objects.requireNonNull(head, "head precision");
        this.log = Objects.requireNonNull(log, "log");
        this.publishCheck = Objects.requireNonNull(publishCheck, "publish check");
    }

    public Written quantize(Path input, Path out, boolean replace) {
        Path from = input.toAbsolutePath().normalize();
        Path to = out.toAbsolutePath().normalize();
        if (from.equals(to)) {
            throw new PackagerException(ExitCode.USAGE, "--out must differ from the input " + input);
        }
        if (Files.exists(to) && !replace) {
            throw new PackagerException(
                    ExitCode.IO, to + " already exists; choose another --out or pass --force to replace it");
        }
        boolean isPackage = Files.isDirectory(from);
        if (!isPackage && publishCheck != PublishCheck.NONE) {
            throw new PackagerException(
                    ExitCode.USAGE,
                    "--against needs a package to verify, and " + input + " is a bare"
                            + " model; quantize it without --against, or quantize a package folder");
        }
        ModelPackage pkg = null;
        Path model = from;
        if (isPackage) {
            try {
                pkg = ModelPackage.open(from);
            } catch (PackageException e) {
                throw new PackagerException(ExitCode.BAD_PACKAGE, e.getMessage(), e);
            }
            String current = pkg.manifest().precision() == null
                    ? "none"
                    : pkg.manifest().precision().quantization();
            if (current != null && !current.equals("none")) {
                throw new PackagerException(
                        ExitCode.USAGE,
                        from + " is already quantized (" + current + "); quantize "
                                + "the float package it was made from, e.g. unmask-pack convert … --out pkg-fp32, then quantize pkg-fp32");
            }
            model = pkg.modelFile();
        }
        Path partial = PackageFolders.createPartial(to);
        try {
            log.accept("quantizing " + model + " with " + head.describe(scheme));
            OnnxModelQuantizer.Result result = new OnnxModelQuantizer(scheme, head).quantize(model, partial);
            log.accept(String.format(
                    "%d MatMuls to MatMulNBits: weights %,d -> %,d bytes%s",
                    result.quantized(),
                    result.weightBytesBefore(),
                    result.weightBytesAfter(),
                    result.skipped().isEmpty() ? "" : "; left float: " + String.join(", ", result.skipped())));
            if (result.quantized() == 0) {
                throw new PackagerException(
                        ExitCode.USAGE,
                        model + " has no MatMul with a constant 2-D float weight;" + " nothing to quantize");
            }
            PackageManifest manifest = null;
            if (pkg != null) {
                manifest = publishCheck.check(partial, finishPackage(pkg, partial, result.knownDigests()));
            }
            PackageFolders.moveIntoPlace(partial, to, replace);
            log.accept("wrote " + to);
            return new Written(to, manifest, result);
        } catch (RuntimeException | Error e) {
            PackageFolders.deleteTree(partial);
            throw e;
        }
    }

    private PackageManifest finishPackage(ModelPackage pkg, Path dir, Map<String, String> knownDigests) {
        try (Stream<Path> files = Files.list(pkg.dir())) {
            for (Path p : files.sorted().toList()) {
                String name = p.getFileName().toString();
                if (Files.isRegularFile(p)
                        && PackageFolders.isContentFile(name)
                        && !name.equals(ModelPackage.MODEL_FILE)
                        && !name.equals(ModelPackage.MODEL_DATA_FILE)) {
                    Files.copy(p, dir.resolve(name));
                }
            }
        } catch (IOException e) {
            throw new PackagerException(
                    ExitCode.IO, "Cannot copy the files of " + pkg.dir() + ": " + e.getMessage(), e);
        }
        PackageManifest m = pkg.manifest();
        String dtype = m.precision() == null ? "fp32" : m.precision().dtype();
        PackageManifest manifest = new PackageManifest(
                m.format(),
                m.formatVersion(),
                m.name(),
                m.architecture(),
                m.source(),
                new PackageManifest.Precision(dtype, head.describe(scheme)),
                m.graph(),
                m.specialTokens(),
                m.generationDefaults(),
                m.chatTemplate(),
                PackageWriter.fileEntries(dir, knownDigests),
                m.packager(),
                null);
        Manifests.write(manifest, dir);
        PackageManifest.SelfTest old = m.selfTest();
        if (old == null) {
            log.accept("the input package has no self_test; none recorded");
            return manifest;
        }
        // one checksum pass over the written files, and one session that records the self-test and then checks it
        try (OnnxDenoiser model =
                OnnxDenoiser.load(ModelPackage.open(dir, Verification.FULL), RuntimeOptions.defaults())) {
            SelfTest.Result probe = SelfTest.run(model, old);
            log.accept(String.format(
                    "self-test canvas: quantized top-1 equals the float package's at %d of %d positions",
                    probe.checked() - probe.mismatches().size(), probe.checked()));
            manifest = new PackageManifest(
                    manifest.format(),
                    manifest.formatVersion(),
                    manifest.name(),
                    manifest.architecture(),
                    manifest.source(),
                    manifest.precision(),
                    manifest.graph(),
                    manifest.specialTokens(),
                    manifest.generationDefaults(),
                    manifest.chatTemplate(),
                    manifest.files(),
                    manifest.packager(),
                    new PackageManifest.SelfTest(old.inputIds(), old.headPositions(), probe.actualTop1()));
            Manifests.write(manifest, dir);
            SelfTest.Result check = SelfTest.run(model, Manifests.read(dir).selfTest()); // as a reader will see it
            if (!check.passed()) {
                throw new PackagerException(
                        ExitCode.BAD_PACKAGE, "The quantized package fails its own self-test: " + check.summary());
            }
            log.accept(check.summary());
        } catch (PackageException e) {
            throw new PackagerException(
                    ExitCode.BAD_PACKAGE, "The quantized graph does not load in ONNX Runtime: " + e.getMessage(), e);
        }
        return manifest;
    }
}
