package dev.unmask.engine.text;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.unmask.failure.Failure;
import dev.unmask.failure.UnmaskException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A package's {@code tokenizer.json}, run by the Hugging Face tokenizers library through DJL's binding.
 *
 * <p>The native library ships inside the DJL jar for linux-x86_64/aarch64, macOS and Windows and is extracted
 * once into DJL's cache ({@code ~/.djl.ai}, or {@code DJL_CACHE_DIR} / {@code -DDJL_CACHE_DIR=...}); nothing is
 * downloaded. {@link #OFFLINE_PROPERTY} is set before the first load so that DJL never tries the network even
 * on a platform whose native is not bundled (it then fails with a message instead).
 *
 * <p>Owns a native handle: close it with try-with-resources.
 */
public final class Tokenizer implements AutoCloseable {

    /** DJL's switch that forbids downloads of native libraries and models. */
    public static final String OFFLINE_PROPERTY = "ai.djl.offline";

    private final HuggingFaceTokenizer tokenizer;
    private final Path file;

    private Tokenizer(HuggingFaceTokenizer tokenizer, Path file) {
        this.tokenizer = tokenizer;
        this.file = file;
    }

    /**
     * Loads {@code tokenizer.json}. No truncation, no padding: the engine sizes canvases itself and rejects
     * prompts that do not fit, rather than cutting them silently.
     */
    public static Tokenizer load(Path tokenizerJson) {
        if (!Files.isRegularFile(tokenizerJson)) {
            throw new IllegalArgumentException("No tokenizer at " + tokenizerJson
                    + ": a package folder holds tokenizer.json next to manifest.json (re-run 'unmask-pack convert')");
        }
        if (System.getProperty(OFFLINE_PROPERTY) == null) {
            System.setProperty(OFFLINE_PROPERTY, "true");
        }
        try {
            HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.builder()
                    .optTokenizerPath(tokenizerJson)
                    .optAddSpecialTokens(true)
                    .optTruncation(false)
                    .optPadding(false)
                    .build();
            return new Tokenizer(tokenizer, tokenizerJson);
        } catch (IOException e) {
            throw new UncheckedIOException("Could not read tokenizer " + tokenizerJson, e);
        } catch (RuntimeException | UnsatisfiedLinkError e) {
            throw new UnmaskException(
                    Failure.RUNTIME, "Could not load tokenizer " + tokenizerJson + ": " + e.getMessage(), e);
        }
    }

    /** Token ids of {@code text}, with the post-processor's special tokens (the BOS for LLaDA) when asked. */
    public long[] encode(String text, boolean addSpecialTokens) {
        Encoding encoding = tokenizer.encode(text, addSpecialTokens, false);
        return encoding.getIds();
    }

    /** Text of {@code ids}, special tokens (BOS, EOS, EOT, masks) left out. */
    public String decode(long[] ids) {
        return tokenizer.decode(ids, true);
    }

    /** Text of {@code ids} with every special token written out, as the canvas view shows it. */
    public String decodeWithSpecialTokens(long[] ids) {
        return tokenizer.decode(ids, false);
    }

    public Path file() {
        return file;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
