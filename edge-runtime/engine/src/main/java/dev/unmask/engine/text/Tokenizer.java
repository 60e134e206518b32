package dev.unmask.engine.text;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unmask.failure.Failure;
import dev.unmask.failure.UnmaskException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

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
    /** The added tokens' spellings, longest first: what the library matches in any text before it splits words. */
    private final ControlTokens controlTokens;

    /** Whether text decoded from more tokens keeps the trailing whitespace of the shorter text (see {@link #decoders}). */
    private final boolean keepsTrailingSpace;

    private Tokenizer(
            HuggingFaceTokenizer tokenizer, Path file, ControlTokens controlTokens, boolean keepsTrailingSpace) {
        this.tokenizer = tokenizer;
        this.file = file;
        this.controlTokens = controlTokens;
        this.keepsTrailingSpace = keepsTrailingSpace;
    }

    private volatile TokenBytes tokenBytes; // read on first need

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
            try {
                return new Tokenizer(
                        tokenizer,
                        tokenizerJson,
                        new ControlTokens(addedTokens(tokenizerJson)),
                        KEEPS_TRAILING_SPACE.containsAll(decoders(tokenizerJson)));
            } catch (IOException | RuntimeException e) {
                tokenizer.close();
                throw e;
            }
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

    /**
     * Token ids of {@code text} read as plain text: a control token spelled out in it (say {@code <|eot_id|>}) becomes
     * the ordinary tokens of its characters, never the control token, which {@link #encode} would make of it (the
     * library matches added tokens in any text, whatever {@code addSpecialTokens} says). No post-processor tokens.
     * Text that spells no control token is encoded exactly as {@code encode(text, false)} encodes it.
     */
    public long[] encodeAsText(String text) {
        List<long[]> parts = new ArrayList<>();
        encodeAsText(text, parts);
        return concat(parts);
    }

    /**
     * Cuts {@code text} after the first character of each control-token spelling, so that no piece holds a whole
     * one, and encodes the pieces. Pieces that spell nothing are the whole text: it encodes as {@code encode} would.
     */
    private void encodeAsText(String text, List<long[]> parts) {
        int start = 0;
        for (ControlTokens.Match m = controlTokens.next(text, 0); m != null; m = controlTokens.next(text, start)) {
            int cut = text.offsetByCodePoints(m.start(), 1);
            if (cut == m.end()) {
                // a one-character control token cannot be cut: plain text leaves it out rather than read it as one
                addEncoded(text.substring(start, m.start()), parts);
            } else {
                addEncoded(text.substring(start, cut), parts);
            }
            start = cut;
        }
        addEncoded(text.substring(start), parts);
    }

    private void addEncoded(String piece, List<long[]> parts) {
        if (!piece.isEmpty()) {
            parts.add(encode(piece, false));
        }
    }

    /**
     * Token ids of {@code segments}, one after the other: template text encoded with its control tokens, quoted text
     * {@linkplain #encodeAsText as plain text}. No post-processor tokens: a chat template writes its own BOS.
     */
    public long[] encode(List<TextSegment> segments) {
        List<long[]> parts = new ArrayList<>();
        for (TextSegment segment : segments) {
            if (segment.plain()) {
                encodeAsText(segment.text(), parts);
            } else {
                addEncoded(segment.text(), parts);
            }
        }
        return concat(parts);
    }

    /** The spellings of the tokenizer's added tokens (BOS, EOS, turn headers, the mask, ...). */
    public ControlTokens controlTokens() {
        return controlTokens;
    }

    /**
     * The UTF-8 bytes token {@code id} stands for (OpenAI's {@code logprobs[].bytes}): one token may hold part of
     * a character, whose bytes only read as text once joined with its neighbours'. Reads the vocabulary on first
     * call.
     */
    public byte[] tokenBytes(long id) {
        TokenBytes table = tokenBytes;
        if (table == null) { // racing first readers read the same file to the same table
            table = TokenBytes.read(file);
            tokenBytes = table;
        }
        return table.of(id);
    }

    /** Text of {@code ids}, special tokens (BOS, EOS, EOT, masks) left out. */
    public String decode(long[] ids) {
        return tokenizer.decode(ids, true);
    }

    /** Text of {@code ids} with every special token written out, as the canvas view shows it. */
    public String decodeWithSpecialTokens(long[] ids) {
        return tokenizer.decode(ids, false);
    }

    private static long[] concat(List<long[]> parts) {
        if (parts.size() == 1) {
            return parts.get(0);
        }
        int n = 0;
        for (long[] p : parts) {
            n += p.length;
        }
        long[] out = new long[n];
        int at = 0;
        for (long[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    /**
     * The {@code content} of every entry of {@code tokenizer.json}'s {@code added_tokens}, read with a streaming
     * parser (the vocabulary of a large model is megabytes; only this one array is kept).
     */
    static List<String> addedTokens(Path tokenizerJson) throws IOException {
        Set<String> spellings = new LinkedHashSet<>();
        try (JsonParser p = new JsonFactory().createParser(tokenizerJson.toFile())) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new IOException(tokenizerJson + " is not a JSON object");
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken value = p.nextToken();
                if (field.equals("added_tokens") && value == JsonToken.START_ARRAY) {
                    while (p.nextToken() == JsonToken.START_OBJECT) {
                        while (p.nextToken() == JsonToken.FIELD_NAME) {
                            String name = p.currentName();
                            JsonToken v = p.nextToken();
                            if (name.equals("content")
                                    && v == JsonToken.VALUE_STRING
                                    && !p.getText().isEmpty()) {
                                spellings.add(p.getText());
                            } else {
                                p.skipChildren();
                            }
                        }
                    }
                } else {
                    p.skipChildren();
                }
            }
        }
        return List.copyOf(spellings);
    }

    /**
     * The decoders of the Hugging Face tokenizers library (Rust, {@code tokenizers/src/decoders/}) that never change a
     * decoded text's trailing whitespace when more tokens follow: each maps tokens to text on its own
     * ({@code ByteLevel}, {@code ByteFallback}, {@code Replace}, {@code Fuse}) or touches only the start
     * ({@code Metaspace}'s prefix space; {@code Strip} checked for {@code stop: 0}). Not in it: {@code WordPiece}
     * (its {@code cleanup} turns {@code " ."} into {@code "."}), {@code BPEDecoder} (its suffix becomes a space only
     * between tokens), {@code CTC}, and any decoder this list does not know.
     */
    static final Set<String> KEEPS_TRAILING_SPACE =
            Set.of("ByteLevel", "ByteFallback", "Replace", "Fuse", "Metaspace", "Strip", "Sequence");

    /**
     * Whether the text of some tokens keeps its trailing whitespace when more tokens follow, as it does under every
     * byte-level BPE (LLaDA's, Qwen's): then a stream need not hold whitespace back ({@code AnswerText#settled}).
     * False when the package's decoder may clean up spaces against the next token, or is not known.
     */
    public boolean keepsTrailingSpace() {
        return keepsTrailingSpace;
    }

    /**
     * The {@code type} of {@code tokenizer.json}'s {@code decoder} and of every decoder nested in it (a
     * {@code Sequence}'s {@code decoders}); a {@code Strip} that strips the end is reported as {@code "Strip(end)"}.
     * No decoder at all (the library then joins tokens with a space, only between them) is an empty set.
     */
    static Set<String> decoders(Path tokenizerJson) throws IOException {
        Set<String> types = new LinkedHashSet<>();
        ObjectMapper mapper = new ObjectMapper();
        try (JsonParser p = mapper.getFactory().createParser(tokenizerJson.toFile())) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new IOException(tokenizerJson + " is not a JSON object");
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken value = p.nextToken();
                if (field.equals("decoder") && value == JsonToken.START_OBJECT) {
                    collectDecoders(mapper.readTree(p), types);
                } else {
                    p.skipChildren();
                }
            }
        }
        return types;
    }

    private static void collectDecoders(JsonNode decoder, Set<String> types) {
        String type = decoder.path("type").asText("");
        types.add(type.equals("Strip") && decoder.path("stop").asInt(0) > 0 ? "Strip(end)" : type);
        for (JsonNode inner : decoder.path("decoders")) {
            collectDecoders(inner, types);
        }
    }

    public Path file() {
        return file;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
