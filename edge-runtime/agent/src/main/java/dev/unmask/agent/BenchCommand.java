package dev.unmask.agent;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.unmask.engine.Engine;
import dev.unmask.engine.Generation;
import dev.unmask.engine.decode.CommitRule;
import dev.unmask.engine.decode.DenoisingListener;
import dev.unmask.engine.decode.KvCache;
import dev.unmask.engine.decode.KvCacheMode;
import dev.unmask.engine.model.OnnxDenoiser;
import dev.unmask.engine.request.DecodingPlan;
import dev.unmask.engine.request.GenerationRequest;
import dev.unmask.engine.text.Tokenizer;
import dev.unmask.format.ModelPackage;
import dev.unmask.format.PackageManifest;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
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
            "Measure generation speed, with and without the key/value cache, side by side in one run: time per step,",
            "tokens/s, forwards per answer, tokens per forward and achieved GFLOP/s, each cache against none.",
            "The whole canvas is denoised (no early exit), so runs with equal options do equal work; the caches run",
            "interleaved (one generation of each per round), so the machine's noise hits all of them alike.",
            "Example: unmask bench --cache none,prefix,dual --prompt-length 256 --gen-length 128,256 --block-length 32",
            "With --cache-quality: how far the approximate caches drift from no cache on held-out prompts."
        })
final class BenchCommand implements Callable<Integer> {

    /** The synthetic prompt's text, repeated until it is long enough (ordinary code: what the tiny models know). */
    static final String SYNTHETIC_SOURCE = "def fibonacci(n):\n    if n < 2:\n        return n\n"
            + "    return fibonacci(n - 1) + fibonacci(n - 2)\n\n\nclass Counter:\n    def __init__(self):\n"
            + "        self.count = 0\n\n    def add(self, value):\n        self.count += value\n"
            + "        return self.count\n\n\n";

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(
            names = "--prompt",
            defaultValue = "def fibonacci(n):\n",
            paramLabel = "<text>",
            description = "prompt (default: a Python def)")
    String prompt;

    @Option(
            names = "--prompt-length",
            paramLabel = "<tokens>",
            description = "instead of --prompt, a synthetic prompt of this many tokens (Python code, repeated)")
    Integer promptLength;

    @Option(
            names = "--cache",
            split = ",",
            paramLabel = "none|prefix|dual",
            description = "key/value caches to compare, comma-separated, e.g. none,prefix,dual (default: none; "
                    + "with --cache-quality: prefix,dual)")
    List<String> caches = new ArrayList<>();

    @Option(
            names = "--cache-refresh",
            defaultValue = "0",
            paramLabel = "<steps>",
            description = "refresh the cache every this many steps within a block; 0 = at block starts only "
                    + "(default: ${DEFAULT-VALUE})")
    int cacheRefresh;

    @Option(
            names = "--gen-length",
            split = ",",
            paramLabel = "<tokens>",
            description = "tokens to generate, comma-separated to compare lengths, e.g. 128,256,512 "
                    + "(default: the package's)")
    List<Integer> genLengths = new ArrayList<>();

    @Option(names = "--block-length", paramLabel = "<tokens>", description = "semi-autoregressive block size")
    Integer blockLength;

    @Option(
            names = "--steps",
            paramLabel = "<n>",
            description = "denoising steps over all blocks, for every --gen-length (default: the package's pace)")
    Integer steps;

    @Option(
            names = "--threshold",
            paramLabel = "<p>",
            description = "Fast-dLLM parallel decoding: commit every token at least this sure, e.g. 0.9")
    Double threshold;

    @Option(names = "--factor", paramLabel = "<f>", description = "Fast-dLLM factor rule, e.g. 1.0")
    Double factor;

    @Option(
            names = "--warmup",
            defaultValue = "2",
            paramLabel = "<n>",
            description = "untimed generations of each cache first (default: ${DEFAULT-VALUE})")
    int warmup;

    @Option(
            names = "--runs",
            defaultValue = "5",
            paramLabel = "<n>",
            description = "timed rounds, one generation of each cache per round (default: ${DEFAULT-VALUE})")
    int runs;

    @Option(names = "--json", description = "print one JSON object per generation length and cache (JSON Lines)")
    boolean json;

    @Option(
            names = "--cache-quality",
            description = "instead of speed: identical greedy answers and per-step top-1 agreement of each cache "
                    + "and refresh policy against no cache, over --prompts")
    boolean cacheQuality;

    @Option(
            names = "--prompts",
            paramLabel = "<dir>",
            description = "with --cache-quality: text files to cut prompts from (default: models/tiny-llada/heldout)")
    Path prompts;

    @Option(
            names = "--prompt-count",
            defaultValue = "8",
            paramLabel = "<n>",
            description = "with --cache-quality: how many prompts (default: ${DEFAULT-VALUE})")
    int promptCount;

    @Option(
            names = "--refresh",
            split = ",",
            defaultValue = "0,8,4",
            paramLabel = "<steps>",
            description = "with --cache-quality: refresh policies to measure, comma-separated; 0 = at block starts "
                    + "only, N = also every N steps (default: ${DEFAULT-VALUE})")
    List<Integer> refreshPolicies;

    @Mixin
    ModelOptions model;

    @Override
    public Integer call() {
        if (runs < 1 || warmup < 0) {
            throw new IllegalArgumentException(
                    "--runs must be at least 1 and --warmup at least 0, e.g. --warmup 2 --runs 5");
        }
        if (promptLength != null && promptLength < 1) {
            throw new IllegalArgumentException("--prompt-length must be at least 1 token, e.g. --prompt-length 256");
        }
        List<KvCacheMode> modes = modes();
        long loadStart = System.nanoTime();
        ModelPackage pkg = ModelPackage.open(model.packageDir());
        Tokenizer tokenizer = Tokenizer.load(pkg.tokenizerFile());
        MeteredModel metered;
        try {
            metered = new MeteredModel(OnnxDenoiser.load(pkg, model.runtime()));
        } catch (RuntimeException e) {
            tokenizer.close();
            throw e;
        }
        try (Engine engine = new Engine(metered, tokenizer)) {
            double loadMs = (System.nanoTime() - loadStart) / 1e6;
            PrintWriter out = spec.commandLine().getOut();
            if (cacheQuality) {
                CacheQuality.Report report = new CacheQuality(
                                engine, request(genLengths.isEmpty() ? null : genLengths.get(0)))
                        .measure(
                                CacheQuality.heldOutPrompts(promptsDir(), promptCount, promptLengthOr(64), tokenizer),
                                cachePolicies(modes));
                report.print(out, json);
                out.flush();
                return ExitCodes.OK;
            }
            String promptText = promptText(tokenizer);
            List<Integer> lengths = genLengths.isEmpty() ? java.util.Collections.singletonList(null) : genLengths;
            Header header = null;
            for (Integer length : lengths) {
                List<Measured> rows = measure(engine, metered, promptText, length, modes);
                if (json) {
                    for (Measured m : rows) {
                        out.println(json(engine, m, baseline(rows), loadMs));
                    }
                } else {
                    if (header == null) {
                        header = new Header(engine, rows.get(0), loadMs);
                        header.print(out, model.threads, cacheRefresh, warmup, runs);
                    }
                    print(out, engine, rows);
                }
                out.flush();
            }
            return ExitCodes.OK;
        }
    }

    /** The caches asked for, each once, in the order given; none when none were named. */
    private List<KvCacheMode> modes() {
        if (caches.isEmpty()) {
            return cacheQuality ? List.of(KvCacheMode.PREFIX, KvCacheMode.DUAL) : List.of(KvCacheMode.NONE);
        }
        LinkedHashSet<KvCacheMode> modes = new LinkedHashSet<>();
        for (String c : caches) {
            modes.add(KvCacheMode.parse(c.strip()));
        }
        return List.copyOf(modes);
    }

    /**
     * Each cache times each refresh policy: what --cache-quality compares with no cache. {@code none} named among
     * them is one row, the tool's own check (it must agree fully).
     */
    private List<KvCache> cachePolicies(List<KvCacheMode> modes) {
        List<KvCache> policies = new ArrayList<>();
        for (KvCacheMode m : modes) {
            if (m == KvCacheMode.NONE) {
                policies.add(KvCache.NONE);
                continue;
            }
            for (int refresh : refreshPolicies) {
                policies.add(new KvCache(m, refresh));
            }
        }
        return policies;
    }

    private Path promptsDir() {
        if (prompts != null) {
            return prompts;
        }
        Path home = ModelOptions.home();
        Path dir = Path.of("models/tiny-llada/heldout");
        return home == null ? dir : home.resolve(dir);
    }

    private int promptLengthOr(int fallback) {
        return promptLength == null ? fallback : promptLength;
    }

    /** The request every measured generation makes, but for its length; greedy unless the package says otherwise. */
    GenerationRequest request(Integer length) {
        return GenerationRequest.builder(new GenerationRequest.Prompt.Continuation(prompt))
                .length(length)
                .blockLength(blockLength)
                .steps(steps)
                .threshold(threshold)
                .factor(factor)
                .earlyExit(false)
                .build();
    }

    private String promptText(Tokenizer tokenizer) {
        return promptLength == null ? prompt : syntheticPrompt(tokenizer, promptLength);
    }

    /**
     * Code text that encodes (with the tokenizer's special tokens, as a prompt is) to {@code tokens} tokens, or as
     * close to it from below as a cut between characters allows.
     */
    static String syntheticPrompt(Tokenizer tokenizer, int tokens) {
        StringBuilder text = new StringBuilder();
        while (tokenizer.encode(text.toString(), true).length < tokens) {
            text.append(SYNTHETIC_SOURCE);
        }
        // shorten by characters until it fits: a token never covers less than one character, so this ends
        int end = text.length();
        while (end > 0 && tokenizer.encode(text.substring(0, end), true).length > tokens) {
            end -= Math.max(1, (tokenizer.encode(text.substring(0, end), true).length - tokens) / 2);
        }
        return text.substring(0, Math.max(end, 1));
    }

    /** Warm-ups, then rounds of one generation per cache, interleaved; one row per cache. */
    private List<Measured> measure(
            Engine engine, MeteredModel metered, String promptText, Integer length, List<KvCacheMode> modes) {
        GenerationRequest base = request(length).toBuilder()
                .prompt(new GenerationRequest.Prompt.Continuation(promptText))
                .build();
        List<DecodingPlan> plans = new ArrayList<>();
        for (KvCacheMode mode : modes) {
            plans.add(plan(engine, base, new KvCache(mode, mode == KvCacheMode.NONE ? 0 : cacheRefresh)));
        }
        for (int w = 0; w < warmup; w++) {
            for (DecodingPlan plan : plans) {
                engine.run(plan, DenoisingListener.NONE);
            }
        }
        List<List<Timed>> timed = new ArrayList<>();
        modes.forEach(m -> timed.add(new ArrayList<>()));
        for (int r = 0; r < runs; r++) {
            for (int i = 0; i < plans.size(); i++) {
                metered.reset();
                long start = System.nanoTime();
                Generation g = engine.run(plans.get(i), DenoisingListener.NONE);
                long wall = System.nanoTime() - start;
                timed.get(i)
                        .add(new Timed(
                                wall,
                                g.modelNanos(),
                                g.samplerNanos(),
                                g.steps(),
                                metered.forwards(),
                                metered.queryTokens(),
                                metered.headPositions(),
                                metered.operations(),
                                metered.pastForwards(),
                                metered.pastNanos(),
                                metered.fullNanos()));
            }
        }
        List<Measured> rows = new ArrayList<>();
        for (int i = 0; i < plans.size(); i++) {
            rows.add(Measured.of(plans.get(i), timed.get(i)));
        }
        return rows;
    }

    /**
     * The planner's plan of {@code request} with {@code cache}: it checks the cache against the package (a graph
     * without one runs only with none) and plans block-causal models' blocks, as for every other surface.
     */
    static DecodingPlan plan(Engine engine, GenerationRequest request, KvCache cache) {
        GenerationRequest cached = request.toBuilder()
                .cache(cache.mode())
                .cacheRefresh(cache.enabled() ? cache.refreshEverySteps() : null)
                .build();
        return DecodingArgs.plan(engine, cached, CliFields.GENERATE);
    }

    /** One timed generation. */
    record Timed(
            long wallNanos,
            long modelNanos,
            long samplerNanos,
            int steps,
            long forwards,
            long queryTokens,
            long headPositions,
            double operations,
            long pastForwards,
            long pastNanos,
            long fullNanos) {}

    /**
     * One cache's rows of runs, summarized.
     *
     * @param msPerStep   wall time of a generation over its steps, per run
     * @param tokensPerS  generated tokens over the wall time, per run
     * @param gflopPerS   {@link ModelFlops} operations over the time in the model, per run
     */
    record Measured(
            DecodingPlan plan,
            int runs,
            int steps,
            double forwards,
            double queryTokens,
            double headPositions,
            double gflop,
            Spread wallMs,
            Spread msPerStep,
            Spread modelMsPerStep,
            Spread samplerMsPerStep,
            Spread tokensPerS,
            Spread gflopPerS,
            double pastForwards,
            Spread fullForwardMs,
            Spread pastForwardMs) {

        static Measured of(DecodingPlan plan, List<Timed> runs) {
            int n = runs.size();
            double[] wall = new double[n];
            double[] perStep = new double[n];
            double[] model = new double[n];
            double[] sampler = new double[n];
            double[] tokensPerS = new double[n];
            double[] gflopPerS = new double[n];
            double[] fullMs = new double[n];
            double[] pastMs = new double[n];
            double pastForwards = 0;
            double forwards = 0;
            double queries = 0;
            double heads = 0;
            double operations = 0;
            for (int i = 0; i < n; i++) {
                Timed t = runs.get(i);
                int steps = Math.max(1, t.steps());
                wall[i] = t.wallNanos() / 1e6;
                perStep[i] = wall[i] / steps;
                model[i] = t.modelNanos() / 1e6 / steps;
                sampler[i] = t.samplerNanos() / 1e6 / steps;
                tokensPerS[i] = plan.length() * 1e9 / t.wallNanos();
                long forwardNanos = t.fullNanos() + t.pastNanos();
                gflopPerS[i] = forwardNanos == 0 ? 0 : t.operations() / forwardNanos; // FLOP per ns = GFLOP/s
                long full = t.forwards() - t.pastForwards();
                fullMs[i] = full == 0 ? Double.NaN : t.fullNanos() / 1e6 / full;
                pastMs[i] = t.pastForwards() == 0 ? Double.NaN : t.pastNanos() / 1e6 / t.pastForwards();
                pastForwards += t.pastForwards();
                forwards += t.forwards();
                queries += t.queryTokens();
                heads += t.headPositions();
                operations += t.operations();
            }
            return new Measured(
                    plan,
                    n,
                    runs.get(n - 1).steps(),
                    forwards / n,
                    queries / n,
                    heads / n,
                    operations / n / 1e9,
                    Spread.of(wall),
                    Spread.of(perStep),
                    Spread.of(model),
                    Spread.of(sampler),
                    Spread.of(tokensPerS),
                    Spread.of(gflopPerS),
                    pastForwards / n,
                    Spread.of(fullMs),
                    Spread.of(pastMs));
        }

        KvCache cache() {
            return plan.options().cache();
        }

        /** Committed tokens per forward: the whole region (no early exit) over the forwards it took. */
        double tokensPerForward() {
            return forwards == 0 ? 0 : plan.length() / forwards;
        }

        /** The sampler's share of a step's model plus sampler time. */
        double samplerShare() {
            double stepMs = modelMsPerStep.mean() + samplerMsPerStep.mean();
            return stepMs == 0 ? 0 : samplerMsPerStep.mean() / stepMs;
        }

        double queryTokensPerForward() {
            return forwards == 0 ? 0 : queryTokens / forwards;
        }

        /** This cache's bytes for one request: every layer's keys and values at every canvas position. */
        long cacheBytes(PackageManifest.KvCache kv) {
            return cache().enabled() && kv != null
                    ? kv.bytesPerPosition() * plan.layout().tokens().length
                    : 0;
        }
    }

    /** What the rows of one run share, printed once. */
    private record Header(Engine engine, Measured first, double loadMs) {
        void print(PrintWriter out, int threads, int refresh, int warmup, int runs) {
            PackageManifest m = engine.manifest();
            ModelFlops flops = ModelFlops.of(m.architecture());
            out.printf(
                    "model           %s (%s), threads %s%n",
                    m.name(), precision(m), threads == 0 ? "auto" : String.valueOf(threads));
            out.printf(
                    "shape           %d layers, d_model %d, %d/%d heads, MLP %d, vocab %d: %.1f M parameters per "
                            + "token in the blocks%n",
                    m.architecture().layers(),
                    m.architecture().modelDim(),
                    m.architecture().heads(),
                    m.architecture().kvHeads(),
                    m.architecture().mlpHiddenSize(),
                    m.architecture().vocabSize(),
                    flops.projectionParams() / 1e6);
            out.printf(
                    "canvas          prompt %d tokens, blocks of %d, %s, cache refresh %s%n",
                    first.plan().layout().genStart(),
                    first.plan().blockLength(),
                    describe(first.plan().options().commitRule()),
                    refresh == 0 ? "at block starts" : "every " + refresh + " steps");
            out.printf(
                    "runs            %d rounds of each cache, interleaved, after %d warm-ups; mean ± sd; load %.0f ms%n",
                    runs, warmup, loadMs);
            out.println();
            out.println(
                    "gen  cache   ms/step (± sd)      vs none  tokens/s (± sd)   vs none  forwards  tokens/fwd  query/fwd  GFLOP/s  "
                            + "sampler  full fwd ms  cached fwd ms  cache MiB");
        }
    }

    private static void print(PrintWriter out, Engine engine, List<Measured> rows) {
        Measured none = baseline(rows);
        for (Measured m : rows) {
            out.printf(
                    Locale.ROOT,
                    "%-4d %-7s %8.3f ± %-8.3f %6s  %8.1f ± %-7.1f %6s  %8.1f  %10.2f  %9.1f  %7.2f  %5.1f %%  %11s  %13s  %9.2f%n",
                    m.plan().length(),
                    m.cache().mode().wireName(),
                    m.msPerStep().mean(),
                    m.msPerStep().sd(),
                    none == null
                            ? ""
                            : String.format(
                                    Locale.ROOT,
                                    "%.2f×",
                                    m.msPerStep().mean() / none.msPerStep().mean()),
                    m.tokensPerS().mean(),
                    m.tokensPerS().sd(),
                    none == null
                            ? ""
                            : String.format(
                                    Locale.ROOT,
                                    "%.2f×",
                                    m.tokensPerS().mean() / none.tokensPerS().mean()),
                    m.forwards(),
                    m.tokensPerForward(),
                    m.queryTokensPerForward(),
                    m.gflopPerS().mean(),
                    100 * m.samplerShare(),
                    millis(m.fullForwardMs().mean()),
                    millis(m.pastForwardMs().mean()),
                    m.cacheBytes(engine.manifest().graph().kvCache()) / (1024.0 * 1024.0));
        }
    }

    /** Milliseconds with three decimals, a dash when not measured. */
    private static String millis(double ms) {
        return Double.isNaN(ms) ? "—" : String.format(Locale.ROOT, "%.3f", ms);
    }

    /** The uncached row, which the others are compared with; null when it was not measured. */
    private static Measured baseline(List<Measured> rows) {
        return rows.stream().filter(m -> !m.cache().enabled()).findFirst().orElse(null);
    }

    private String json(Engine engine, Measured m, Measured none, double loadMs) {
        // the fields before "cache" are the ones this command printed before caches existed; scripts read them
        ObjectNode n = new ObjectMapper().createObjectNode();
        n.put("model", engine.manifest().name());
        n.put("precision", precision(engine.manifest()));
        n.put("threads", model.threads);
        n.put("gen_length", m.plan().length());
        n.put("block_length", m.plan().blockLength());
        n.put("steps", m.steps());
        n.put("commit_rule", describe(m.plan().options().commitRule()));
        n.put("runs", m.runs());
        n.put("load_ms", loadMs);
        n.put("wall_ms", m.wallMs().median());
        n.put("tokens_per_s", m.tokensPerS().mean());
        n.put("steps_per_s", m.steps() * 1000 / m.wallMs().mean());
        n.put("model_ms_per_step", m.modelMsPerStep().mean());
        n.put("sampler_ms_per_step", m.samplerMsPerStep().mean());
        n.put("sampler_share", m.samplerShare());
        n.put("cache", m.cache().mode().wireName());
        n.put("cache_refresh", m.cache().refreshEverySteps());
        n.put("prompt_tokens", m.plan().layout().genStart());
        n.put("canvas_tokens", m.plan().layout().tokens().length);
        n.put("ms_per_step", m.msPerStep().mean());
        n.put("ms_per_step_sd", m.msPerStep().sd());
        n.put("ms_per_step_min", m.msPerStep().min());
        n.put("ms_per_step_max", m.msPerStep().max());
        n.put("tokens_per_s_sd", m.tokensPerS().sd());
        n.put("forwards", m.forwards());
        n.put("tokens_per_forward", m.tokensPerForward());
        n.put("query_tokens_per_forward", m.queryTokensPerForward());
        n.put("gflop_per_answer", m.gflop());
        n.put("gflop_per_s", m.gflopPerS().mean());
        n.put("gflop_per_s_sd", m.gflopPerS().sd());
        n.put("cached_forwards", m.pastForwards());
        putNumber(n, "full_forward_ms", m.fullForwardMs().mean());
        putNumber(n, "full_forward_ms_sd", m.fullForwardMs().sd());
        putNumber(n, "cached_forward_ms", m.pastForwardMs().mean());
        putNumber(n, "cached_forward_ms_sd", m.pastForwardMs().sd());
        n.put("cache_bytes", m.cacheBytes(engine.manifest().graph().kvCache()));
        PackageManifest.KvCache kv = engine.manifest().graph().kvCache();
        n.put("cache_bytes_per_position", kv == null ? 0 : kv.bytesPerPosition());
        if (none != null) {
            n.put("ms_per_step_vs_none", m.msPerStep().mean() / none.msPerStep().mean());
            n.put(
                    "tokens_per_s_vs_none",
                    m.tokensPerS().mean() / none.tokensPerS().mean());
        }
        return n.toString();
    }

    /** {@code value}, or null when it was not measured (NaN: no forward of that kind). */
    private static void putNumber(ObjectNode n, String field, double value) {
        if (Double.isNaN(value)) {
            n.putNull(field);
        } else {
            n.put(field, value);
        }
    }

    private static String precision(PackageManifest m) {
        PackageManifest.Precision p = m.precision();
        return p == null ? "?" : p.dtype() + "/" + p.quantization();
    }

    static String describe(CommitRule rule) {
        if (rule instanceof CommitRule.Threshold t) {
            return "threshold " + t.threshold();
        }
        if (rule instanceof CommitRule.Factor f) {
            return "factor " + f.factor();
        }
        return "LLaDA schedule";
    }
}
