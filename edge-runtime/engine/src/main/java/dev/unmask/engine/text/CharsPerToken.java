package dev.unmask.engine.text;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

/**
 * The most characters of input one token can stand for, read from {@code tokenizer.json}: the longest vocabulary
 * entry or added token. It lets a prompt that cannot fit a canvas be refused before it is tokenized: a text of
 * {@code c} characters takes at least {@code c / max} tokens, so one longer than {@code canvas * max} characters
 * does not fit (tokenizing 9 MB costs seconds of CPU and a gigabyte of native memory; counting costs nothing).
 *
 * <p>The bound is <em>proven</em> for a tokenizer that never drops input: no normalizer that deletes characters, no
 * pre-tokenizer that throws whitespace away, no unknown token or stripping added token that swallows a run of
 * characters. Byte-level BPE (LLaDA's, GPT-2's, Llama 3's, Qwen2's as Dream uses it) is such a tokenizer, and each
 * vocabulary entry is one character per byte there, so the longest entry bounds the bytes, and so the UTF-16
 * characters, a token covers. So is a SentencePiece-style BPE or Unigram with {@code byte_fallback} (Llama 2's,
 * Mistral's: an unknown character becomes its bytes, never one unknown token for a run), behind a {@code Replace} of
 * a fixed string (each match of {@code p} characters becomes {@code q >= 1}, so the text shrinks at most by
 * {@code ceil(p / q)}), {@code Prepend} or {@code Append} (which only add). A Unicode normalization (NFC, NFKC) joins
 * at most {@link #COMPOSITION} characters into one, so it multiplies the bound, and normalizers in sequence multiply
 * theirs.
 *
 * <p>Every other tokenizer (WordPiece and WordLevel, whose pre-tokenizers drop whitespace; a Unigram or BPE whose
 * unknown token fuses a run; a {@code Strip}, a regex {@code Replace}) may turn any number of characters into none,
 * so no count proves a prompt too long. For those the bound is a policy, not a proof: {@link #UNPROVEN_MAX}
 * characters per token, which no text reaches but by being almost all dropped characters (English averages about
 * 4, indented code under 20), so that a prompt far larger than any canvas is still refused before it is tokenized.
 *
 * @param max    the most characters one token covers; {@link #UNKNOWN} when no bound could be read
 * @param proven whether {@code max} follows from the tokenizer's rules ({@code false}: the policy bound)
 */
public record CharsPerToken(int max, boolean proven) {

    /** No bound: the file could not be read, and only tokenizing tells the length. */
    public static final int UNKNOWN = 0;

    /** The most characters a canonical composition joins into one (e.g. U+1F82, alpha with three marks). */
    static final int COMPOSITION = 4;

    /**
     * The characters per token of context a prompt may average for a tokenizer without a proven bound: 64 times what
     * whitespace-heavy code averages, so only a prompt of almost nothing but dropped characters is refused by it.
     */
    public static final int UNPROVEN_MAX = 256;

    private static final Set<String> LOSSLESS_PRE_TOKENIZERS =
            Set.of("ByteLevel", "Metaspace", "Split", "Digits", "Punctuation", "UnicodeScripts");
    private static final Set<String> COMPOSING_NORMALIZERS = Set.of("NFC", "NFKC", "NFD", "NFKD", "Lowercase");
    private static final Set<String> ADDING_NORMALIZERS = Set.of("Prepend", "Append");

    /** Every vocabulary entry stands for at least one character, a surrogate pair for two. */
    private static final int SHORTEST_BOUND = 2;

    public CharsPerToken {
        if (max < 0) {
            throw new IllegalArgumentException("max must be 0 (unknown) or positive; got " + max);
        }
    }

    /** A proven bound of {@code max} characters per token. */
    public CharsPerToken(int max) {
        this(max, true);
    }

    /** The policy bound of a tokenizer that may drop input. */
    public static CharsPerToken unproven() {
        return new CharsPerToken(UNPROVEN_MAX, false);
    }

    public boolean known() {
        return max != UNKNOWN;
    }

    /**
     * The longest text that can still come to at most {@code tokens} tokens; {@link Long#MAX_VALUE} when unknown.
     */
    public long maxChars(int tokens) {
        return known() ? (long) tokens * max : Long.MAX_VALUE;
    }

    /**
     * Reads the bound of a {@code tokenizer.json}: proven, or {@link #unproven()} for a tokenizer this cannot vouch
     * for; {@link #UNKNOWN} for a file it cannot read.
     */
    public static CharsPerToken of(Path tokenizerJson) {
        // tokenizer.json files of large vocabularies hold long merges lists, not deep ones
        ObjectMapper mapper = new ObjectMapper(JsonFactory.builder()
                .streamReadConstraints(
                        StreamReadConstraints.builder().maxNestingDepth(64).build())
                .build());
        try {
            return of(mapper.readTree(tokenizerJson.toFile()));
        } catch (IOException | RuntimeException e) {
            // the tokenizer itself loaded this file: without a bound prompts are tokenized whole, as before
            return new CharsPerToken(UNKNOWN);
        }
    }

    static CharsPerToken of(JsonNode tokenizer) {
        long factor = normalizerFactor(tokenizer.path("normalizer"));
        if (factor == 0 || !losslessPreTokenizer(tokenizer.path("pre_tokenizer"))) {
            return unproven();
        }
        JsonNode model = tokenizer.path("model");
        String type = model.path("type").asText("");
        boolean byteFallback = model.path("byte_fallback").asBoolean(false);
        long longest = SHORTEST_BOUND;
        if (type.equals("BPE") || type.isEmpty() && model.has("merges")) {
            if (model.path("fuse_unk").asBoolean(false) && !byteFallback) {
                return unproven(); // one unknown token for a run of unknown characters, however long
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = model.path("vocab").fields(); it.hasNext(); ) {
                longest = Math.max(longest, it.next().getKey().length());
            }
        } else if (type.equals("Unigram") && byteFallback) {
            for (JsonNode piece : model.path("vocab")) { // [piece, score] pairs
                longest = Math.max(longest, piece.path(0).asText("").length());
            }
        } else {
            return unproven(); // WordPiece, WordLevel, Unigram without byte fallback: an unknown token may cover a word
        }
        for (JsonNode added : tokenizer.path("added_tokens")) {
            if (added.path("lstrip").asBoolean(false) || added.path("rstrip").asBoolean(false)) {
                return unproven(); // it takes the whitespace around it, however long
            }
            longest = Math.max(longest, added.path("content").asText("").length());
        }
        long max = longest * factor;
        return max > Integer.MAX_VALUE ? unproven() : new CharsPerToken((int) max);
    }

    /**
     * How many characters of input one character after the normalizer may stand for: 1 for none or one that only
     * adds, {@link #COMPOSITION} for a Unicode normal form, {@code ceil(p / q)} for a fixed-string replacement; the
     * product for a sequence; 0 for one that may delete input.
     */
    private static long normalizerFactor(JsonNode n) {
        if (n.isMissingNode() || n.isNull()) {
            return 1;
        }
        String type = n.path("type").asText("");
        if (type.equals("Sequence")) {
            long factor = 1;
            for (JsonNode each : n.path("normalizers")) {
                long f = normalizerFactor(each);
                if (f == 0 || factor * f > Integer.MAX_VALUE) {
                    return 0;
                }
                factor *= f;
            }
            return factor;
        }
        if (type.equals("Replace")) {
            JsonNode pattern = n.path("pattern");
            String content = n.path("content").asText("");
            if (!pattern.has("String") || content.isEmpty()) {
                return 0; // a regex may match a run of any length; an empty content deletes
            }
            int p = pattern.path("String").asText("").length();
            return Math.max(1, (p + content.length() - 1) / content.length());
        }
        if (ADDING_NORMALIZERS.contains(type)) {
            return 1;
        }
        return COMPOSING_NORMALIZERS.contains(type) ? COMPOSITION : 0;
    }

    private static boolean losslessPreTokenizer(JsonNode p) {
        if (p.isMissingNode() || p.isNull()) {
            return true;
        }
        String type = p.path("type").asText("");
        if (type.equals("Sequence")) {
            for (JsonNode each : p.path("pretokenizers")) {
                if (!losslessPreTokenizer(each)) {
                    return false;
                }
            }
            return true;
        }
        if (type.equals("Split") && p.path("behavior").asText("").equals("Removed")) {
            return false;
        }
        return LOSSLESS_PRE_TOKENIZERS.contains(type);
    }
}
