package dev.unmask.packager.cli;

import dev.unmask.engine.model.ExecutionProvider;
import dev.unmask.engine.model.OnnxDenoiser;
import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.engine.model.SelfTest;
import dev.unmask.format.Manifests;
import dev.unmask.format.ModelPackage;
import dev.unmask.format.PackageManifest;
import dev.unmask.format.Verification;
import dev.unmask.packager.ExitCode;
import dev.unmask.packager.PackagerException;
import dev.unmask.packager.quant.QualityGate;
import dev.unmask.packager.quant.QualityVerifier;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
        name = "verify",
        mixinStandardHelpOptions = true,
        description = {
            "Re-checks every file's size and SHA-256 against the manifest, loads the graph in ONNX Runtime, "
                    + "checks its inputs and outputs, and runs the stored self-test.",
            "With --against <reference>: also measures what quantization costs on held-out text (top-1 agreement, "
                    + "KL, masked-token loss, identical generations), prints the table, and exits 6 below "
                    + "--min-top1-agreement.",
            "Example: unmask-pack verify models/tiny-llada/package",
            "Example: unmask-pack verify pkg-int4 --against pkg-fp32 --heldout models/tiny-llada/heldout"
        })
final class VerifyCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "<package>", description = "package folder")
    Path dir;

    @Option(
            names = "--provider",
            defaultValue = "cpu",
            paramLabel = "cpu|cuda|coreml|directml",
            description =
                    "execution provider for the self-test (default: ${DEFAULT-VALUE}; falls back to CPU when absent)")
    String provider;

    @Option(
            names = "--threads",
            defaultValue = "0",
            description = "intra-op threads, 0 = ONNX Runtime's choice (default)")
    int threads;

    @CommandLine.Mixin
    QualityOptions quality;

    @Option(
            names = "--record",
            description = "with --against: also store the report as the package's manifest 'quality'")
    boolean record;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        ModelPackage pkg = ModelPackage.open(dir, Verification.FULL); // never the record: this is where it is made
        out.printf("checksums ok: %d files of %s%n", pkg.manifest().files().size(), pkg.dir());
        RuntimeOptions runtime = new RuntimeOptions(ExecutionProvider.parse(provider), threads);
        if (pkg.manifest().selfTest() == null) {
            out.println("no self-test stored (converted with --self-test=skip): checksums only");
        } else {
            try (OnnxDenoiser model = OnnxDenoiser.load(pkg, runtime)) {
                SelfTest.Result r = SelfTest.run(model);
                if (!r.passed()) {
                    throw new PackagerException(ExitCode.BAD_PACKAGE, pkg.dir() + ": " + r.summary());
                }
                out.println(r.summary());
            }
        }
        out.flush();
        if (quality.enabled()) {
            PrintWriter err = spec.commandLine().getErr();
            PackageManifest.Quality q = quality.verifier(runtime, line -> {
                        err.println("unmask-pack: " + line);
                        err.flush();
                    })
                    .measure(pkg.dir(), quality.against);
            PackageManifest withQuality = pkg.manifest().withQuality(q);
            out.print(QualityVerifier.table(q, withQuality));
            out.flush();
            if (record) {
                Manifests.write(withQuality, pkg.dir());
                out.println("stored the report in " + pkg.dir().resolve(PackageManifest.FILE_NAME));
                out.flush();
            }
            QualityGate.failIfBelow(q, "the package is below the gate");
        }
        return 0;
    }
}
