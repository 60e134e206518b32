package dev.unmask.packager.quant;

import dev.unmask.format.Manifests;
import dev.unmask.format.PackageManifest;
import dev.unmask.packager.ExitCode;
import dev.unmask.packager.PackagerException;
import dev.unmask.packager.pack.PublishCheck;
import java.nio.file.Path;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * {@code --against <reference>} on {@code convert} and {@code quantize}: before the package is renamed into place,
 * measure it against the reference ({@link QualityVerifier}), store the report as the manifest's {@code quality},
 * print it, and fail with {@link ExitCode#QUALITY_GATE} (no package written) when a top-1 agreement is below the gate.
 */
public final class QualityGate implements PublishCheck {

    private final Path reference;
    private final QualityVerifier verifier;
    private final Consumer<String> report;

    /** @param report receives the printed table (stdout of the command) */
    public QualityGate(Path reference, QualityVerifier verifier, Consumer<String> report) {
        this.reference = Objects.requireNonNull(reference, "reference package");
        this.verifier = Objects.requireNonNull(verifier, "verifier");
        this.report = Objects.requireNonNull(report, "report");
    }

    @Override
    public PackageManifest check(Path dir, PackageManifest manifest) {
        PackageManifest.Quality quality = verifier.measure(dir, reference);
        PackageManifest withQuality = manifest.withQuality(quality);
        report.accept(QualityVerifier.table(quality, withQuality));
        failIfBelow(quality, "no package was written");
        Manifests.write(withQuality, dir);
        return withQuality;
    }

    /** Throws {@link ExitCode#QUALITY_GATE} naming the failing t values when {@code q} misses its gate. */
    public static void failIfBelow(PackageManifest.Quality q, String consequence) {
        var failed = QualityVerifier.failures(q);
        if (!failed.isEmpty()) {
            var worst = failed.stream()
                    .min(java.util.Comparator.comparingDouble(PackageManifest.Quality.MaskedTokens::top1Agreement))
                    .orElseThrow();
            throw new PackagerException(
                    ExitCode.QUALITY_GATE,
                    String.format(
                            "top-1 agreement with %s is %.4f at t = "
                                    + "%.2f, below --min-top1-agreement %.4f; %s. Use a wider scheme (e.g. int8, int4:block=32, "
                                    + "--quant-head int8) or lower the gate deliberately.",
                            q.reference().name(),
                            worst.top1Agreement(),
                            worst.maskFraction(),
                            q.minTop1Agreement(),
                            consequence));
        }
    }
}
