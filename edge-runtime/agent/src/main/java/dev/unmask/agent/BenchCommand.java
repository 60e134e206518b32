package dev.unmask.agent;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.unmask.engine.Engine;
import dev.unmask.engine.Generation;
import dev.unmask.engine.decode.CommitRule;
import dev.unmask.engine.decode.DecodingOptions;
import dev.unmask.engine.decode.DenoisingListener;
import dev.unmask.engine.request.DecodingPlan;
import dev.unmask.engine.request.GenerationRequest;
import dev.unmask.format.PackageManifest;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
        name = "bench",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Measure generation speed: tokens/s, steps/s, and each step's time split into model and sampler.",
            "The whole canvas is denoised (no early exit), so runs with equal options do equal work.",
            "Example: unmask bench --gen-length 64 --block-length 32 --steps 64 --threads 2"
        })
final class BenchCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(
            names = "--prompt",
            defaultValue = "def fibonacci(n):\n",
            paramLabel = "<text>",
            description = "prompt (default: a Python def)")
    String prompt;

    @Option(
            names = "--warmup",
            defaultValue = "2",
            paramLabel = "<n>",
            description = "untimed generations first (default: ${DEFAULT-VALUE})")
    int warmup;

    @Option(
            names = "--runs",
            defaultValue = "5",
            paramLabel = "<n>",
            description = "timed generations; the median is reported (default: ${DEFAULT-VALUE})")
    int runs;

    @Option(names = "--json", description = "print one JSON object")
    boolean json;

    @Mixin
    ModelOptions model;

    @Mixin
    DecodingArgs decoding;

    @Override
    public Integer call() {
        if (runs < 1 || warmup < 0) {
            throw new IllegalArgumentException(
                    "--runs must be at least 1 and --warmup at least 0, e.g. --warmup 2 --runs 5");
        }
        long loadStart = System.nanoTime();
        try (Engine engine = model.open()) {
            double loadMs = (System.nanoTime() - loadStart) / 1e6;
            GenerationRequest request = decoding.request(new GenerationRequest.Prompt.Continuation(prompt)).toBuilder()
                    .earlyExit(false)
                    .build();
            DecodingPlan plan = DecodingArgs.plan(engine, request, CliFields.GENERATE);
            DecodingOptions options = plan.options();
            for (int i = 0; i < warmup; i++) {
                engine.run(plan, DenoisingListener.NONE);
            }
            double[] wallMs = new double[runs];
            double[] modelMs = new double[runs];
            double[] samplerMs = new double[runs];
            int steps = 0;
            for (int i = 0; i < runs; i++) {
                long start = System.nanoTime();
                Generation g = engine.run(plan, DenoisingListener.NONE);
                wallMs[i] = (System.nanoTime() - start) / 1e6;
                modelMs[i] = g.modelNanos() / 1e6;
                samplerMs[i] = g.samplerNanos() / 1e6;
                steps = g.steps();
            }
            double wall = median(wallMs);
            double modelTotal = median(modelMs);
            double samplerTotal = median(samplerMs);
            int tokens = plan.length();
            PackageManifest.Precision precision = engine.manifest().precision();
            String precisionText = precision == null ? "?" : precision.dtype() + "/" + precision.quantization();
            String rule = describe(options.commitRule());
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                ObjectNode n = new ObjectMapper().createObjectNode();
                n.put("model", engine.manifest().name());
                n.put("precision", precisionText);
                n.put("threads", model.threads);
                n.put("gen_length", tokens);
                n.put("block_length", plan.blockLength());
                n.put("steps", steps);
                n.put("commit_rule", rule);
                n.put("runs", runs);
                n.put("load_ms", loadMs);
                n.put("wall_ms", wall);
                n.put("tokens_per_s", tokens * 1000 / wall);
                n.put("steps_per_s", steps * 1000 / wall);
                n.put("model_ms_per_step", modelTotal / steps);
                n.put("sampler_ms_per_step", samplerTotal / steps);
                n.put("sampler_share", samplerTotal / (modelTotal + samplerTotal));
                out.println(n.toString());
            } else {
                out.printf(
                        "model           %s (%s), threads %s%n",
                        engine.manifest().name(),
                        precisionText,
                        model.threads == 0 ? "auto" : String.valueOf(model.threads));
                out.printf(
                        "canvas          prompt + %d tokens, blocks of %d, %d steps (%s), median of %d runs%n",
                        tokens, plan.blockLength(), steps, rule, runs);
                out.printf(
                        "throughput      %.1f tokens/s, %.1f steps/s (%.1f ms per generation)%n",
                        tokens * 1000 / wall, steps * 1000 / wall, wall);
                out.printf(
                        "per step        %.3f ms model + %.3f ms sampler (sampler %.1f%% of step time)%n",
                        modelTotal / steps, samplerTotal / steps, 100 * samplerTotal / (modelTotal + samplerTotal));
                out.printf("load            %.0f ms%n", loadMs);
            }
            out.flush();
            return ExitCodes.OK;
        }
    }

    private static String describe(CommitRule rule) {
        if (rule instanceof CommitRule.Threshold t) {
            return "threshold " + t.threshold();
        }
        if (rule instanceof CommitRule.Factor f) {
            return "factor " + f.factor();
        }
        return "LLaDA schedule";
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
