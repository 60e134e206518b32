package dev.unmask.packager.cli;

import dev.unmask.packager.quant.HeadPrecision;
import dev.unmask.packager.quant.PackageQuantizer;
import dev.unmask.packager.quant.QuantScheme;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
        name = "quantize",
        mixinStandardHelpOptions = true,
        description = {
            "Quantizes the weights of a float package, or of an ONNX model exported elsewhere, to "
                    + "com.microsoft MatMulNBits (every MatMul with a constant 2-D float weight).",
            "A package gets a new manifest (precision, checksums, self-test re-recorded on the quantized graph); "
                    + "a bare model.onnx gives a folder with model.onnx and model.onnx.data.",
            "Example: unmask-pack quantize models/tiny-llada/package --out /tmp/tiny-int4 --quant int4:block=32"
        })
final class QuantizeCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(
            index = "0",
            paramLabel = "<package|model.onnx>",
            description = "float package folder, or an .onnx file")
    Path input;

    @Option(
            names = "--out",
            required = true,
            paramLabel = "<dir>",
            description = "folder to create (must not exist unless --force)")
    Path out;

    @Option(
            names = "--quant",
            defaultValue = "int4",
            paramLabel = "int4|int8[:block=32|64|128][:sym|:asym][:acc=0..4]",
            description =
                    "scheme (default: ${DEFAULT-VALUE}, i.e. block=32, sym, acc=4), e.g. int8, int4:block=128:asym")
    String quant;

    @Option(
            names = "--quant-head",
            defaultValue = "same",
            paramLabel = "same|int8|float",
            description = "precision of the output head (default: ${DEFAULT-VALUE}): the MatMul the package graph "
                    + "records as its sampling head (in a model from elsewhere, the last weight MatMul)")
    String quantHead;

    @Option(names = "--force", description = "replace an existing --out (atomically)")
    boolean force;

    @CommandLine.Mixin
    QualityOptions quality;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        QuantScheme scheme = QuantScheme.parse(quant);
        HeadPrecision head = HeadPrecision.parse(quantHead);
        long t0 = System.nanoTime();
        java.util.function.Consumer<String> log = line -> {
            err.println("unmask-pack: " + line);
            err.flush();
        };
        PackageQuantizer.Written w = new PackageQuantizer(
                        scheme, head, log, quality.gate(spec.commandLine().getOut(), log))
                .quantize(input, out, force);
        spec.commandLine()
                .getOut()
                .printf(
                        "Wrote %s (%s, %d MatMulNBits, weights %,d -> %,d bytes) in %.1f s%n",
                        w.dir(),
                        head.describe(scheme),
                        w.result().quantized(),
                        w.result().weightBytesBefore(),
                        w.result().weightBytesAfter(),
                        (System.nanoTime() - t0) / 1e9);
        spec.commandLine().getOut().flush();
        return 0;
    }
}
