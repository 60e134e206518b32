package dev.unmask.packager.cli;

import dev.unmask.format.Manifests;
import dev.unmask.format.PackageManifest;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(
        name = "inspect",
        mixinStandardHelpOptions = true,
        description = {
            "Prints a package's manifest: architecture, precision, graph inputs and outputs, special tokens, "
                    + "files with sizes and checksums, self-test. Reads the manifest only (use verify to check the files).",
            "Example: unmask-pack inspect models/tiny-llada/package"
        })
final class InspectCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "<package>", description = "package folder")
    Path dir;

    @CommandLine.Option(names = "--json", description = "print manifest.json as it is")
    boolean json;

    @Override
    public Integer call() {
        PackageManifest m = Manifests.read(dir);
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(Manifests.toJson(m));
            out.flush();
            return 0;
        }
        PackageManifest.Architecture a = m.architecture();
        out.printf(
                "package        %s (format %s v%d) at %s%n",
                m.name(), m.format(), m.formatVersion(), dir.toAbsolutePath());
        out.printf(
                "architecture   %s/%s: %d layers, d_model %d, %d heads, %d kv heads, head_dim %d, mlp %d, vocab %d, "
                        + "max_seq %d, rope_theta %s, eps %s, bidirectional %s, logits_shift %s%n",
                a.family(),
                a.modelType(),
                a.layers(),
                a.modelDim(),
                a.heads(),
                a.kvHeads(),
                a.headDim(),
                a.mlpHiddenSize(),
                a.vocabSize(),
                a.maxSequenceLength(),
                a.ropeTheta(),
                a.rmsNormEps(),
                a.bidirectional(),
                a.logitsShift());
        if (m.precision() != null) {
            out.printf(
                    "precision      dtype %s, quantization %s%n",
                    m.precision().dtype(), m.precision().quantization());
        }
        PackageManifest.Graph g = m.graph();
        out.printf(
                "graph          opset %d, IR %d, top_k %d, full logits %s%n",
                g.opset(), g.irVersion(), g.topK(), g.fullLogits());
        for (PackageManifest.TensorSpec t : g.inputs()) {
            out.printf("  input        %-15s %-8s %s%n", t.name(), t.type(), t.shape());
        }
        for (PackageManifest.TensorSpec t : g.outputs()) {
            out.printf("  output       %-15s %-8s %s%n", t.name(), t.type(), t.shape());
        }
        PackageManifest.SpecialTokens s = m.specialTokens();
        out.printf(
                "special tokens mask %d, eos %d, eot %s, bos %s, pad %d%n",
                s.mask(), s.eos(), s.eot(), s.bos(), s.pad());
        if (m.generationDefaults() != null) {
            PackageManifest.GenerationDefaults d = m.generationDefaults();
            out.printf(
                    "generation     steps %d, gen_length %d, block_length %d, temperature %s, remasking %s, cfg_scale %s%n",
                    d.steps(), d.genLength(), d.blockLength(), d.temperature(), d.remasking(), d.cfgScale());
            if (d.schedule() != null || d.confidence() != null) { // format 2: another family's decoding (Dream)
                out.printf(
                        "               confidence %s, schedule %s, eps %s, alg_temp %s, top_p %s, top_k %s%n",
                        d.confidence(), d.schedule(), d.eps(), d.algTemp(), d.topP(), d.topK());
            }
        }
        out.printf(
                "chat template  %s%n",
                m.chatTemplate() == null ? "none" : m.chatTemplate().length() + " characters");
        long total = 0;
        for (Map.Entry<String, PackageManifest.FileEntry> f : new java.util.TreeMap<>(m.files()).entrySet()) {
            out.printf(
                    "  file         %-16s %12s  sha256 %s%n",
                    f.getKey(),
                    ProgressBar.human(f.getValue().bytes()),
                    f.getValue().sha256());
            total += f.getValue().bytes();
        }
        out.printf("total          %s%n", ProgressBar.human(total));
        if (m.source() != null) {
            out.printf(
                    "source         %s (sha256 %s)%n",
                    m.source().checkpoint(), m.source().sha256());
        }
        if (m.packager() != null) {
            out.printf(
                    "packager       %s %s, %s%n",
                    m.packager().name(), m.packager().version(), m.packager().created());
        }
        if (m.selfTest() != null) {
            out.printf(
                    "self-test      input %s, head positions %s, expected top-1 %s%n",
                    Arrays.deepToString(m.selfTest().inputIds()),
                    Arrays.deepToString(m.selfTest().headPositions()),
                    Arrays.deepToString(m.selfTest().expectedTop1()));
        } else {
            out.println("self-test      none (converted with --self-test=skip)");
        }
        out.flush();
        return 0;
    }
}
