package dev.unmask.engine;

import dev.unmask.engine.decode.BatchDenoiser;
import dev.unmask.engine.decode.CanvasLayout;
import dev.unmask.engine.decode.DecodingOptions;
import dev.unmask.engine.decode.Denoised;
import dev.unmask.engine.decode.DenoisingListener;
import dev.unmask.engine.decode.DenoisingRun;
import dev.unmask.engine.decode.ModelTraits;
import dev.unmask.engine.model.DenoisingModel;
import dev.unmask.engine.model.OnnxDenoiser;
import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.format.ModelPackage;
import dev.unmask.format.PackageManifest;
import dev.unmask.engine.text.ChatMessage;
import dev.unmask.engine.text.ChatTemplate;
import dev.unmask.engine.text.Tokenizer;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * A loaded package ready to generate: the model, its tokenizer and its chat template, with the samplers on top.
 * The one object the command line, the desktop agent and the functions hold.
 *
 * <pre>{@code
 * try (Engine engine = Engine.open(Path.of("models/tiny-llada/package"), RuntimeOptions.defaults())) {
 *     Generation g = engine.generate("def fibonacci(n):\n", engine.defaultOptions(), DenoisingListener.NONE);
 *     System.out.println(g.text());
 * }
 * }</pre>
 *
 * <p>Servers that batch concurrent requests use {@link #start} to get a {@link DenoisingRun} per request,
 * {@link #step(List)} to advance all of them with one forward pass, and {@link #finish} for the answer.
 */
public final class Engine implements AutoCloseable {

    private final DenoisingModel model;
    private final Tokenizer tokenizer;
    private final PackageManifest manifest;
    private final ModelTraits traits;
    private final ChatTemplate chatTemplate; // null when the package has none

    /** Takes ownership of {@code model} and {@code tokenizer}: closing the engine closes them. */
    public Engine(DenoisingModel model, Tokenizer tokenizer) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.manifest = model.manifest();
        this.traits = ModelTraits.of(manifest);
        String template = manifest.chatTemplate();
        this.chatTemplate = template == null || template.isBlank() ? null
                : new ChatTemplate(template, tokenText(manifest.specialTokens().bos()), tokenText(manifest.specialTokens().eos()));
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

    /** The package's generation defaults. */
    public DecodingOptions defaultOptions() {
        return DecodingOptions.defaults(manifest);
    }

    /** Continues {@code prompt} (encoded with the BOS) with {@code options.genLength()} tokens. */
    public Generation generate(String prompt, DecodingOptions options, DenoisingListener listener) {
        return run(continuation(prompt, options), options, listener);
    }

    /** Renders {@code messages} with the package's chat template, opens the assistant's turn and generates it. */
    public Generation chat(List<ChatMessage> messages, DecodingOptions options, DenoisingListener listener) {
        return run(chatCanvas(messages, options), options, listener);
    }

    /**
     * Writes the middle between {@code prefix} and {@code suffix}.
     *
     * @param middleLength tokens to write; 0 = automatic: {@code options.genLength()} masks, with end-of-text tokens
     *                     the model writes into the middle dropped from the text
     */
    public Generation infill(String prefix, String suffix, int middleLength, DecodingOptions options,
                             DenoisingListener listener) {
        if (middleLength < 0) {
            throw new IllegalArgumentException("The middle length must be 0 (automatic) or positive, e.g. --length 16; got " + middleLength);
        }
        int length = middleLength == 0 ? options.genLength() : middleLength;
        CanvasLayout layout = CanvasLayout.infill(tokenizer.encode(prefix, true), tokenizer.encode(suffix, false),
                length, traits.maskId());
        return run(layout, fit(options, length), listener);
    }

    /**
     * Fills the {@code <|mdm_mask|>} placeholders of {@code text}; every other token stays as it is. The region from
     * the first to the last placeholder is one block unless {@code options.blockLength()} divides it.
     */
    public Generation fill(String text, DecodingOptions options, DenoisingListener listener) {
        CanvasLayout layout = CanvasLayout.ofPlaceholders(tokenizer.encode(text, true), traits.maskId());
        return run(layout, fit(options, layout.genLength()), listener);
    }

    /** The canvas of a plain prompt: BOS, the prompt's tokens, {@code genLength} masks. */
    public CanvasLayout continuation(String prompt, DecodingOptions options) {
        return CanvasLayout.continuation(tokenizer.encode(prompt, true), options.genLength(), traits.maskId());
    }

    /** The canvas of a chat: the rendered template (which carries its own BOS), {@code genLength} masks. */
    public CanvasLayout chatCanvas(List<ChatMessage> messages, DecodingOptions options) {
        if (chatTemplate == null) {
            throw new IllegalArgumentException("Package '" + manifest.name() + "' has no chat template: send a plain "
                    + "prompt (unmask generate without --chat), or re-package a checkpoint whose tokenizer_config.json has one");
        }
        String rendered = chatTemplate.render(messages, true);
        return CanvasLayout.continuation(tokenizer.encode(rendered, false), options.genLength(), traits.maskId());
    }

    /** Starts a request for step-by-step batching; validates it against the model. */
    public DenoisingRun start(CanvasLayout layout, DecodingOptions options, DenoisingListener listener) {
        return DenoisingRun.start(layout, options, traits, listener, tokenizer::decode);
    }

    /** One step for every unfinished run, all in one forward pass. */
    public void step(List<DenoisingRun> runs) {
        BatchDenoiser.step(model, runs);
    }

    /** The answer of a finished run. */
    public Generation finish(DenoisingRun run) {
        Denoised d = run.result();
        long[] region = d.region();
        int end = region.length;
        if (d.continuation()) {
            for (int i = 0; i < region.length; i++) {
                if (region[i] == traits.maskId() || traits.isEnd(region[i])) {
                    end = i;
                    break;
                }
            }
        }
        if (run.options().maxTokens() > 0) {
            end = Math.min(end, run.options().maxTokens());
        }
        long[] kept = Arrays.stream(Arrays.copyOf(region, end))
                .filter(t -> t != traits.maskId() && !traits.isEnd(t)).toArray();
        String text = tokenizer.decode(kept);
        int cut = text.length();
        for (String stop : run.options().stopSequences()) {
            int at = text.indexOf(stop);
            if (at >= 0) {
                cut = Math.min(cut, at);
            }
        }
        if (cut < text.length()) {
            text = text.substring(0, cut);
            kept = tokenizer.encode(text, false);
        }
        return new Generation(text, kept, d.genStart(), d.reason(), d.steps(), d.modelNanos(), d.samplerNanos(), d);
    }

    private Generation run(CanvasLayout layout, DecodingOptions options, DenoisingListener listener) {
        DenoisingRun run = start(layout, options, listener);
        run.runToEnd(model);
        return finish(run);
    }

    /**
     * Options for a region of {@code length} tokens: the same options when they fit; otherwise one block when
     * {@code blockLength} does not divide it, and the steps scaled to the new length (at least one per block).
     */
    static DecodingOptions fit(DecodingOptions options, int length) {
        if (options.genLength() == length) {
            return options;
        }
        int blockLength = length % options.blockLength() == 0 ? options.blockLength() : length;
        int blocks = length / blockLength;
        long scaled = Math.round((double) options.steps() * length / options.genLength());
        int steps = (int) Math.max(blocks, Math.min(length, scaled / blocks * blocks));
        int maxTokens = Math.min(options.maxTokens(), length);
        return options.toBuilder().genLength(length).blockLength(blockLength).steps(steps).maxTokens(maxTokens).build();
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
