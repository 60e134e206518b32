package dev.unmask.packager.cli;

import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.packager.pack.PublishCheck;
import dev.unmask.packager.quant.QualityGate;
import dev.unmask.packager.quant.QualityVerifier;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.function.Consumer;
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
            defaultValue = "models/tiny-llada/heldout",
            description = "with --against: text the model did not train on (default: ${DEFAULT-VALUE})")
    Path heldOut;

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
        QualityVerifier.Settings d = QualityVerifier.Settings.defaults(heldOut)
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
