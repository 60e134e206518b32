package dev.unmask.agent;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.unmask.engine.Engine;
import dev.unmask.engine.decode.Denoised;
import dev.unmask.engine.decode.DenoisingListener;
import dev.unmask.engine.decode.DenoisingRun;
import dev.unmask.engine.decode.KvCache;
import dev.unmask.engine.request.DecodingPlan;
import dev.unmask.engine.request.GenerationRequest;
import dev.unmask.engine.text.Tokenizer;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * How far the approximate caches (prefix, dual; Fast-dLLM) drift from no cache on a trained model: over held-out
 * prompts, the share of greedy answers identical to the uncached one, the share of identical tokens, and the
 * per-step top-1 agreement ({@link TopOneShadow}), for each cache and refresh policy. A measurement, not a test:
 * docs/benchmarks.md quotes it.
 */
final class CacheQuality {

    private final Engine engine;
    private final GenerationRequest template;

    /** {@code template}: the length, blocks and steps of every generation; its prompt is replaced, greedy forced. */
    CacheQuality(Engine engine, GenerationRequest template) {
        this.engine = engine;
        this.template = template.toBuilder().temperature(0.0).earlyExit(false).build();
    }

    /**
     * Prompts of about {@code tokens} tokens each, cut from the text files under {@code dir} (every {@code .py} and
     * {@code .txt}, in path order), starting at a line a fifth into each file so that licence headers are skipped;
     * the files are taken in turn, each next prompt of a file further in.
     */
    static List<String> heldOutPrompts(Path dir, int count, int tokens, Tokenizer tokenizer) {
        List<Path> files;
        try (Stream<Path> walk = Files.walk(dir)) {
            files = walk.filter(Files::isRegularFile)
                    .filter(p -> p.toString().endsWith(".py") || p.toString().endsWith(".txt"))
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "cannot list held-out prompts in " + dir
                            + ": name a folder of .py or .txt files, e.g. --prompts models/tiny-llada/heldout",
                    e);
        }
        if (files.isEmpty() || count < 1 || tokens < 1) {
            throw new IllegalArgumentException("no prompts: --prompts needs a folder with .py or .txt files and "
                    + "--prompt-count and --prompt-length at least 1, e.g. --prompts models/tiny-llada/heldout "
                    + "--prompt-count 8 --prompt-length 64; got " + dir);
        }
        List<String> prompts = new ArrayList<>();
        for (int i = 0; prompts.size() < count && i < count * 4; i++) {
            String text = read(files.get(i % files.size()));
            int round = i / files.size();
            int start = text.indexOf('\n', (text.length() / 5 + round * (text.length() / 4)) % text.length());
            if (start < 0 || start + 1 >= text.length()) {
                continue;
            }
            long[] ids = tokenizer.encode(text.substring(start + 1), false);
            if (ids.length < tokens) {
                continue;
            }
            prompts.add(tokenizer.decode(Arrays.copyOf(ids, tokens)));
        }
        return prompts;
    }

    private static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read held-out prompt file " + file, e);
        }
    }

    /** Every policy against no cache on every prompt: one uncached and one cached greedy generation each. */
    Report measure(List<String> prompts, List<KvCache> policies) {
        List<long[]> uncached = new ArrayList<>();
        DecodingPlan firstPlan = null;
        for (String p : prompts) {
            DecodingPlan plan = plan(p, KvCache.NONE);
            firstPlan = firstPlan == null ? plan : firstPlan;
            uncached.add(run(plan, null).region());
        }
        List<Row> rows = new ArrayList<>();
        for (KvCache policy : policies) {
            TopOneShadow shadow = new TopOneShadow(engine.model());
            int identical = 0;
            long sameTokens = 0;
            long tokens = 0;
            for (int i = 0; i < prompts.size(); i++) {
                long[] cached = run(plan(prompts.get(i), policy), shadow).region();
                long[] reference = uncached.get(i);
                identical += Arrays.equals(cached, reference) ? 1 : 0;
                for (int t = 0; t < reference.length; t++) {
                    sameTokens += cached[t] == reference[t] ? 1 : 0;
                }
                tokens += reference.length;
            }
            rows.add(new Row(
                    policy,
                    prompts.size(),
                    identical,
                    tokens == 0 ? 1 : (double) sameTokens / tokens,
                    shadow.agreement(),
                    shadow.cachedAgreement(),
                    shadow.steps(),
                    shadow.cachedSteps()));
        }
        return new Report(engine.manifest().name(), firstPlan, prompts.size(), rows);
    }

    private DecodingPlan plan(String prompt, KvCache cache) {
        GenerationRequest request = template.toBuilder()
                .prompt(new GenerationRequest.Prompt.Continuation(prompt))
                .build();
        return BenchCommand.plan(engine, request, cache);
    }

    /** Runs {@code plan} on the engine's model, through {@code shadow} when given. */
    private Denoised run(DecodingPlan plan, TopOneShadow shadow) {
        DenoisingRun run = engine.start(plan, DenoisingListener.NONE);
        if (shadow == null) {
            return run.runToEnd(engine.model());
        }
        shadow.nextRequest(run.canvas());
        return run.runToEnd(shadow);
    }

    /**
     * One cache policy against no cache.
     *
     * @param identical       prompts whose whole answer equals the uncached one
     * @param tokenAgreement  share of answer tokens equal to the uncached answer's at the same position
     * @param stepAgreement   share of head positions, over all steps, whose top-1 is the full forward's
     * @param cachedAgreement the same over cached steps only (NaN when every step was a refresh)
     */
    record Row(
            KvCache policy,
            int prompts,
            int identical,
            double tokenAgreement,
            double stepAgreement,
            double cachedAgreement,
            long steps,
            long cachedSteps) {

        double identicalShare() {
            return prompts == 0 ? 1 : (double) identical / prompts;
        }
    }

    record Report(String model, DecodingPlan plan, int prompts, List<Row> rows) {

        void print(PrintWriter out, boolean json) {
            if (json) {
                ObjectMapper mapper = new ObjectMapper();
                for (Row r : rows) {
                    ObjectNode n = mapper.createObjectNode();
                    n.put("model", model);
                    n.put("prompts", r.prompts());
                    n.put("prompt_tokens", plan.layout().genStart());
                    n.put("gen_length", plan.length());
                    n.put("block_length", plan.blockLength());
                    n.put("cache", r.policy().mode().wireName());
                    n.put("cache_refresh", r.policy().refreshEverySteps());
                    n.put("identical", r.identical());
                    n.put("identical_share", r.identicalShare());
                    n.put("token_agreement", r.tokenAgreement());
                    n.put("step_top1_agreement", r.stepAgreement());
                    if (!Double.isNaN(r.cachedAgreement())) {
                        n.put("cached_step_top1_agreement", r.cachedAgreement());
                    }
                    n.put("steps", r.steps());
                    n.put("cached_steps", r.cachedSteps());
                    out.println(n.toString());
                }
                return;
            }
            out.printf(
                    "model           %s, greedy, no early exit%n"
                            + "prompts         %d held-out, prompt ~%d tokens + %d, blocks of %d, %s%n%n",
                    model,
                    prompts,
                    plan.layout().genStart(),
                    plan.length(),
                    plan.blockLength(),
                    BenchCommand.describe(plan.options().commitRule()));
            out.println(
                    "cache   refresh          identical answers  identical tokens  top-1 (all steps)  top-1 (cached steps)");
            for (Row r : rows) {
                out.printf(
                        Locale.ROOT,
                        "%-7s %-16s %3d/%-3d %6.1f %%     %6.1f %%          %.4f             %s%n",
                        r.policy().mode().wireName(),
                        r.policy().refreshEverySteps() == 0
                                ? "block starts"
                                : "every " + r.policy().refreshEverySteps(),
                        r.identical(),
                        r.prompts(),
                        100 * r.identicalShare(),
                        100 * r.tokenAgreement(),
                        r.stepAgreement(),
                        Double.isNaN(r.cachedAgreement())
                                ? "— (no cached step)"
                                : String.format(Locale.ROOT, "%.4f over %d", r.cachedAgreement(), r.cachedSteps()));
            }
        }
    }
}
