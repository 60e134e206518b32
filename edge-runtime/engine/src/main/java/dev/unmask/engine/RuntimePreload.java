package dev.unmask.engine;

import ai.djl.huggingface.tokenizers.jni.LibUtils;
import ai.onnxruntime.OrtEnvironment;
import dev.unmask.engine.text.ChatMessage;
import dev.unmask.engine.text.ChatTemplate;
import dev.unmask.engine.text.Tokenizer;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The process-wide first-use costs of {@link Engine#open}, paid ahead of it: ONNX Runtime's native library and
 * environment, the tokenizers' native library, the chat template engine (Jinjava's classes and its expression
 * language, which a template's first render initializes). None of it needs a package, so a server can run it on a
 * second core while its own framework boots, before its configuration even says which package to open.
 *
 * <p>Measured in a cold JVM on the tiny package (docs/benchmarks.md, "Cold start"): these are most of what opening a
 * package costs the first time (the same {@code Engine.open} takes about a tenth of it in a warm JVM); the package's
 * own work (its session, its tokenizer, its template) stays with {@link Engine#open}.
 *
 * <p>Best effort and idempotent: what fails here fails again, with its clear message, where {@link Engine#open}
 * needs it, so a failure here is only reported back, never thrown.
 */
public final class RuntimePreload {

    private static final AtomicBoolean STARTED = new AtomicBoolean();

    /** A template of the shape checkpoints ship (a loop over messages, string concatenation, a filter, an if). */
    private static final String TEMPLATE = "{% for message in messages %}{% set content = '<|' + message['role']"
            + " + '|>' + message['content'] | trim %}{% if loop.index0 == 0 %}{% set content = bos_token + content"
            + " %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}";

    private RuntimePreload() {}

    /**
     * Starts the preload on a daemon thread named {@code unmask-preload}, once per process; later calls do nothing.
     *
     * @return whether this call started it
     */
    public static boolean startInBackground() {
        if (!STARTED.compareAndSet(false, true)) {
            return false;
        }
        Thread t = new Thread(RuntimePreload::runQuietly, "unmask-preload");
        t.setDaemon(true);
        t.start();
        return true;
    }

    private static void runQuietly() {
        try {
            run();
        } catch (RuntimeException | LinkageError e) {
            // Engine.open meets the same failure and reports it with the package's name
            System.getLogger(RuntimePreload.class.getName())
                    .log(System.Logger.Level.DEBUG, "Preload failed; Engine.open will report it", e);
        }
    }

    /** Runs the preload on the calling thread; {@link Engine#open} then finds each part loaded. */
    public static void run() {
        OrtEnvironment.getEnvironment(); // loads libonnxruntime and its JNI library, creates the one environment
        if (System.getProperty(Tokenizer.OFFLINE_PROPERTY) == null) {
            System.setProperty(Tokenizer.OFFLINE_PROPERTY, "true"); // as Tokenizer.load: never a download
        }
        LibUtils.checkStatus(); // its static initializer finds (or extracts) and loads libtokenizers
        new ChatTemplate(TEMPLATE, "<s>", "</s>").render(List.of(new ChatMessage("user", "Hello")), true);
    }
}
