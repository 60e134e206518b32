package dev.unmask.packager.cli;

import dev.unmask.packager.Progress;
import dev.unmask.packager.arch.AttentionKernel;
import dev.unmask.packager.arch.GraphOptions;
import dev.unmask.packager.onnx.WeightFormat;
import dev.unmask.packager.pack.ConvertRequest;
import dev.unmask.packager.pack.PackageWriter;
import dev.unmask.packager.quant.MatMulNBitsLinear;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
        name = "convert",
        mixinStandardHelpOptions = true,
        description = {
            "Converts a checkpoint folder (config.json, model.safetensors or sharded safetensors with "
                    + "model.safetensors.index.json, tokenizer.json) into a package folder.",
            "The package is written next to --out and renamed into place only once complete and verified.",
            "Example: unmask-pack convert models/tiny-llada --out models/tiny-llada/package",
            "Example: unmask-pack convert --from /path/to/Dream-v0-Instruct-7B --out dream-7b-int4 --quant int4",
            "Example: unmask-pack convert hf:GSAI-ML/LLaDA-8B-Instruct --out llada-8b-int4 --quant int4",
            "A hf:ORG/NAME[@revision] checkpoint is downloaded from the Hugging Face Hub (HF_ENDPOINT, HF_TOKEN) into "
                    + "its cache (HF_HUB_CACHE, as huggingface_hub lays it out): only config, tokenizer and "
                    + "safetensors files, resumed if cut, each checked against its SHA-256; HF_HUB_OFFLINE=1 uses "
                    + "the cache alone."
        })
final class ConvertCommand implements Callable<Integer> {

    enum SelfTestMode {
        run,
        skip
    }

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Parameters(
            index = "0",
            arity = "0..1",
            paramLabel = "<checkpoint dir>",
            description = "Hugging Face checkpoint folder (or --from)")
    Path checkpoint;

    @Option(
            names = "--from",
            paramLabel = "<checkpoint dir | hf:ORG/NAME[@revision]>",
            description =
                    "Hugging Face checkpoint folder, or a model on the Hugging Face Hub (or as the first argument)")
    Path from;

    @Option(
            names = "--out",
            required = true,
            paramLabel = "<package dir>",
            description = "package folder to create (must not exist unless --force)")
    Path out;

    @Option(
            names = "--dtype",
            defaultValue = "fp32",
            paramLabel = "fp32|fp16",
            description =
                    "storage of float weights (default: ${DEFAULT-VALUE}); fp16 weights are Cast to fp32 in the graph")
    String dtype;

    @Option(
            names = "--quant",
            defaultValue = "none",
            paramLabel = "none|int4|int8[:block=32|64|128][:sym|:asym][:acc=0..4]",
            description =
                    "weight-only quantization of every projection to com.microsoft MatMulNBits (default: ${DEFAULT-VALUE}); "
                            + "e.g. int4, int8, int4:block=128:asym; defaults block=32, sym, acc=4 (int8 activations on CPU)")
    String quant;

    @Option(
            names = "--quant-head",
            defaultValue = "same",
            paramLabel = "same|int8|float",
            description = "precision of the output head when --quant is set (default: ${DEFAULT-VALUE}); "
                    + "int8 or float (the --dtype) keep it wider than the layers")
    String quantHead;

    @Option(
            names = "--top-k",
            defaultValue = "" + GraphOptions.DEFAULT_TOP_K,
            paramLabel = "<k>",
            description = "candidates per position in the sampling head, 1.." + GraphOptions.MAX_TOP_K
                    + " (default: ${DEFAULT-VALUE})")
    int topK;

    @Option(
            names = "--attention",
            defaultValue = "onnx",
            paramLabel = "onnx|mha",
            description = "the layers' attention operator: onnx (ONNX Attention, fastest on CPU) or mha "
                    + "(MultiHeadAttention, for the CUDA build: ONNX Runtime 1.23 runs ONNX Attention on the CPU "
                    + "there) (default: ${DEFAULT-VALUE})")
    String attention;

    @Option(
            names = "--full-logits",
            description = "also output the full [batch, positions, vocab] logits (verification, CFG)")
    boolean fullLogits;

    @Option(
            names = "--self-test",
            defaultValue = "run",
            paramLabel = "run|skip",
            description =
                    "run the written graph in ONNX Runtime to record and check the self-test (default: ${DEFAULT-VALUE}); "
                            + "skip only when the model is too large to run on this machine")
    SelfTestMode selfTest;

    @Option(
            names = "--name",
            paramLabel = "<name>",
            description = "package name (default: the checkpoint folder's name)")
    String name;

    @Option(names = "--force", description = "replace an existing package at --out (atomically)")
    boolean force;

    @Option(names = "--no-progress", description = "no progress bar")
    boolean noProgress;

    @CommandLine.Mixin
    QualityOptions quality;

    /** The checkpoint, named once: as the first argument or with --from (both only when they agree). */
    private Path checkpoint() {
        if (checkpoint != null && from != null && !checkpoint.equals(from)) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(),
                    "Name the checkpoint once: 'unmask-pack convert " + checkpoint + " --out <dir>' or "
                            + "'unmask-pack convert --from " + from + " --out <dir>', not both");
        }
        if (checkpoint == null && from == null) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(),
                    "Missing the checkpoint folder: e.g. unmask-pack convert models/tiny-llada --out "
                            + "models/tiny-llada/package (or --from models/tiny-llada)");
        }
        return checkpoint != null ? checkpoint : from;
    }

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        HubCheckpoint.Source source = HubCheckpoint.resolve(checkpoint(), err, noProgress); // hf:... is downloaded
        Path from = source.folder();
        String name = this.name != null ? this.name : source.name();
        WeightFormat format = WeightFormat.parse(dtype);
        GraphOptions options = new GraphOptions(
                format,
                topK,
                fullLogits,
                MatMulNBitsLinear.fromOptions(quant, quantHead, format),
                AttentionKernel.parse(attention));
        Progress progress = Progress.NONE;
        if (!noProgress) {
            long[] work = PackageWriter.workload(from);
            progress = new ProgressBar(err, System.console() != null, work[0], work[1]);
        }
        java.util.function.Consumer<String> log = line -> {
            err.println("unmask-pack: " + line);
            err.flush();
        };
        PackageWriter writer =
                new PackageWriter(log, progress, quality.gate(spec.commandLine().getOut(), log));
        long t0 = System.nanoTime();
        PackageWriter.Written w =
                writer.convert(new ConvertRequest(from, out, options, name, selfTest == SelfTestMode.run, force));
        spec.commandLine()
                .getOut()
                .printf(
                        "Wrote package %s (%s, %s) to %s in %.1f s%n",
                        w.manifest().name(),
                        w.manifest().precision().dtype(),
                        w.manifest().precision().quantization(),
                        w.dir(),
                        (System.nanoTime() - t0) / 1e9);
        spec.commandLine().getOut().flush();
        return 0;
    }
}
