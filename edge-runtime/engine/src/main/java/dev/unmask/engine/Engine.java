package dev.unmask.engine;

import dev.unmask.engine.decode.AnswerText;
import dev.unmask.engine.decode.BatchDenoiser;
import dev.unmask.engine.decode.Denoised;
import dev.unmask.engine.decode.DenoisingListener;
import dev.unmask.engine.decode.DenoisingRun;
import dev.unmask.engine.decode.ModelTraits;
import dev.unmask.engine.decode.TokenLogprob;
import dev.unmask.engine.model.DenoisingModel;
import dev.unmask.engine.model.OnnxDenoiser;
import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.engine.request.DecodingPlan;
import dev.unmask.engine.request.DecodingPlanner;
import dev.unmask.engine.request.GenerationDefaults;
import dev.unmask.engine.request.GenerationRequest;
import dev.unmask.engine.request.InvalidRequestException;
import dev.unmask.engine.request.JsonCanvas;
import dev.unmask.engine.request.JsonSkeleton;
import dev.unmask.engine.request.Limits;
import dev.unmask.engine.request.PromptTokens;
import dev.unmask.engine.request.TokenClasses;
import dev.unmask.engine.text.CharsPerToken;
import dev.unmask.engine.text.ChatTemplate;
import dev.unmask.engine.text.Tokenizer;
import dev.unmask.format.ModelPackage;
import dev.unmask.format.PackageManifest;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A loaded package ready to generate: the model, its tokenizer and its chat template, with the samplers on top.
 * The one object the command line, the desktop agent and the functions hold.
 *
 * <pre>{@code
 * try (Engine engine = Engine.open(Path.of("models/tiny-llada/package"), RuntimeOptions.defaults())) {
 *     Generation g = engine.generate(GenerationRequest.builder(new Prompt.Continuation("def fibonacci(n):\n"))
 *             .length(40).build(), DenoisingListener.NONE);
 *     System.out.println(g.text());
 * }
 * }</pre>
 *
 * <p>Every surface plans with {@link #plan} (the one {@link DecodingPlanner} policy). Servers that batch concurrent
 * requests use {@link #start} to get a {@link DenoisingRun} per request,
 * {@link #step(List)} to advance all of them with one forward pass, and {@link #finish} for the answer.
 */
public final class Engine implements AutoCloseable {

    private final DenoisingModel model;
    private final Tokenizer tokenizer;
    private final PackageManifest manifest;
    private final ModelTraits traits;
    private final GenerationDefaults defaults;
    private final ChatTemplate chatTemplate; // null when the package has none
    private volatile TokenClasses tokenClasses; // structured output's token table; read on first need
    private volatile CharsPerToken charsPerToken; // bounds a prompt's length before it is tokenized; read on first need

    /** Takes ownership of {@code model} and {@code tokenizer}: closing the engine closes them. */
    public Engine(DenoisingModel model, Tokenizer tokenizer) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.manifest = model.manifest();
        this.traits = ModelTraits.of(manifest);
        this.defaults = GenerationDefaults.of(manifest);
        String template = manifest.chatTemplate();
        this.chatTemplate = template == null || template.isBlank()
                ? null
                : new ChatTemplate(
                        template,
                        tokenText(manifest.specialTokens().bos()),
                        tokenText(manifest.specialTokens().eos()));
    }

    /** Opens a package folder: manifest and checksums verified, ONNX Runtime session, tokenizer. */
    public static Engine open(Path packageDir, RuntimeOptions options) {
        ModelPackage pkg = ModelPackage.open(packageDir);
        Tokenizer tokenizer = Tokenizer.load(pkg.tokenizerFile());
        try {
            return new Engine(OnnxDenoiser.load(pkg, options), tokenizer);
        } catch (RuntimeException e) {
            tokenizer.close();
            throw e;
        }
    }

    public PackageManifest manifest() {
        return manifest;
    }

    public ModelTraits traits() {
        return traits;
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    public DenoisingModel model() {
        return model;
    }

    /** What a request gets for the fields it leaves out: the package's generation defaults. */
    public GenerationDefaults defaults() {
        return defaults;
    }

    /** The request's prompt as tokens: the canvas's fixed parts before planning. */
    public PromptTokens encode(GenerationRequest.Prompt prompt) {
        if (prompt instanceof GenerationRequest.Prompt.Continuation c) {
            return new PromptTokens.Continuation(tokenizer.encode(c.text(), true));
        }
        if (prompt instanceof GenerationRequest.Prompt.Chat c) {
            if (chatTemplate == null) {
                throw new IllegalArgumentException(
                        "Package '" + manifest.name() + "' has no chat template: send a plain "
                                + "prompt (unmask generate without --chat), or re-package a checkpoint whose tokenizer_config.json has one");
            }
            // the rendered template carries its own BOS
            if (c.allowSpecialTokens()) {
                return new PromptTokens.Continuation(tokenizer.encode(chatTemplate.render(c.messages(), true), false));
            }
            // the messages' own text is plain text: a control token typed into one cannot forge a turn
            return new PromptTokens.Continuation(
                    tokenizer.encode(chatTemplate.render(c.messages(), true, tokenizer.controlTokens())));
        }
        if (prompt instanceof GenerationRequest.Prompt.Infill i) {
            return new PromptTokens.Infill(tokenizer.encode(i.prefix(), true), tokenizer.encode(i.suffix(), false));
        }
        return new PromptTokens.Placeholders(
                tokenizer.encode(((GenerationRequest.Prompt.Placeholders) prompt).text(), true));
    }

    /** Plans a request with no limits but the model's (the command line). */
    public DecodingPlan plan(GenerationRequest request) {
        return plan(request, Limits.NONE);
    }

    /**
     * Encodes the request's prompt and plans it: canvas, blocks, steps and sampler options.
     *
     * @throws InvalidRequestException with every problem found, before any forward pass
     */
    public DecodingPlan plan(GenerationRequest request, Limits limits) {
        DecodingPlanner planner = new DecodingPlanner(defaults, traits, limits);
        planner.checkSize(request.prompt(), this::charsPerToken); // a prompt too long for any canvas is never tokenized
        JsonCanvas structured = null;
        if (request.responseSchema() != null) {
            // checked and bounded before anything is tokenized
            JsonSkeleton skeleton = JsonSkeleton.of(request.responseSchema());
            structured =
                    JsonCanvas.of(skeleton, t -> tokenizer.encode(t, false), tokenizer::decode, tokenClasses(), traits);
        }
        return planner.plan(request, encode(request.prompt()), structured);
    }

    /**
     * The most characters a prompt may have under {@code limits} and still fit the canvas ({@link Long#MAX_VALUE}
     * when the tokenizer has no bound): the size of the largest request body a server needs to read for this model.
     * Reads the bound of {@code tokenizer.json} on first call.
     */
    public long maxPromptChars(Limits limits) {
        return new DecodingPlanner(defaults, traits, limits).maxPromptChars(charsPerToken());
    }

    /** The longest canvas in tokens under {@code limits}: the model's context, or the surface's shorter one. */
    public int contextTokens(Limits limits) {
        return new DecodingPlanner(defaults, traits, limits).contextTokens();
    }

    /** The most characters one token of this package's tokenizer covers: what bounds a prompt before tokenizing. */
    public CharsPerToken charsPerToken() {
        CharsPerToken bound = charsPerToken;
        if (bound == null) { // racing first readers read the same file to the same value
            bound = CharsPerToken.of(tokenizer.file());
            charsPerToken = bound;
        }
        return bound;
    }

    /**
     * What each token of the vocabulary may stand for in a structured answer (digits, string text, ...); read on
     * the first structured request, one decode per token id.
     */
    public TokenClasses tokenClasses() {
        TokenClasses classes = tokenClasses;
        if (classes == null) { // racing first readers compute the same table
            classes = TokenClasses.of(manifest.architecture().vocabSize(), id -> tokenizer.decode(new long[] {id}));
            tokenClasses = classes;
        }
        return classes;
    }

    /** Plans and runs one request alone. */
    public Generation generate(GenerationRequest request, DenoisingListener listener) {
        return run(plan(request), listener);
    }

    /** Runs a plan alone, to the end. */
    public Generation run(DecodingPlan plan, DenoisingListener listener) {
        DenoisingRun run = start(plan, listener);
        run.runToEnd(model);
        return finish(run);
    }

    /** The rendering of a plan's text: final answer, settled stream prefix, drafts. */
    public AnswerText answerText(DecodingPlan plan) {
        return new AnswerText(
                plan.layout(),
                plan.options(),
                traits,
                tokenizer::decode,
                t -> tokenizer.encode(t, false),
                tokenizer.keepsTrailingSpace(),
                plan.structure());
    }

    /** Starts a planned request for step-by-step batching. */
    public DenoisingRun start(DecodingPlan plan, DenoisingListener listener) {
        return DenoisingRun.start(
                plan.layout(), plan.blocks(), plan.options(), traits, listener, answerText(plan), plan.structure());
    }

    /** One step for every unfinished run, all in one forward pass. */
    public void step(List<DenoisingRun> runs) {
        BatchDenoiser.step(model, runs);
    }

    /** The answer of a finished run. */
    public Generation finish(DenoisingRun run) {
        Denoised d = run.result();
        AnswerText.Answer answer = run.text().answer(d.canvas());
        int[] positions = run.text().keptPositions(d.canvas());
        long[] tokens = answer.tokens();
        List<TokenLogprob> logprobs = new ArrayList<>(tokens.length);
        for (int i = 0; i < tokens.length; i++) {
            // a stop sequence's cut re-encodes the text: its tokens match the canvas's up to the cut, where the last
            // one may differ and reads as that position's candidate (or UNLIKELY)
            TokenLogprob at = i < positions.length ? run.logprob(positions[i]) : null;
            logprobs.add(at == null ? new TokenLogprob(tokens[i], 0.0, List.of()) : at.as(tokens[i]));
        }
        return new Generation(
                answer.text(),
                answer.tokens(),
                d.genStart(),
                d.reason(),
                d.steps(),
                d.modelNanos(),
                d.samplerNanos(),
                d,
                logprobs);
    }

    private String tokenText(Integer id) {
        return id == null ? "" : tokenizer.decodeWithSpecialTokens(new long[] {id});
    }

    @Override
    public void close() {
        try {
            model.close();
        } finally {
            tokenizer.close();
        }
    }
}
