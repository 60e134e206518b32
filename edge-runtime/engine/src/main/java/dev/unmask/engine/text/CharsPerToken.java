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
 * <p>That only holds for a tokenizer that never drops input: no normalizer that deletes characters, no pre-tokenizer
 * that throws whitespace away, no unknown token or stripping added token that swallows a run of characters. Byte-level BPE (LLaDA's, GPT-2's,
 * Llama 3's) is such a tokenizer, and each vocabulary entry is one character per byte there, so the longest entry
 * bounds the bytes, and so the UTF-16 characters, a token covers. A Unicode normalization (NFC, NFKC) joins at most
 * {@link #COMPOSITION} characters into one, so it multiplies the bound; for any other tokenizer the bound is
 * {@link #UNKNOWN} and prompts are tokenized whole, as before.
 *
 * @param max the most characters one token covers; {@link #UNKNOWN} when the tokenizer may drop input
 */
public record CharsPerToken(int max) {

    /** No bound: the tokenizer may drop input, and only tokenizing tells the length. */
    public static final int UNKNOWN = 0;

    /** The most characters a canonical composition joins into one (e.g. U+1F82, alpha with three marks). */
    static final int COMPOSITION = 4;

    private static final Set<String> LOSSLESS_PRE_TOKENIZERS =
            Set.of("ByteLevel", "Metaspace", "Split", "Digits", "Punctuation", "UnicodeScripts");
    private static final Set<String> COMPOSING_NORMALIZERS = Set.of("NFC", "NFKC", "NFD", "NFKD", "Lowercase");

    public CharsPerToken {
        if (max < 0) {
            throw new IllegalArgumentException("max must be 0 (unknown) or positive; got " + max);
        }
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
     * Reads the bound of a {@code tokenizer.json}; {@link #UNKNOWN} for a tokenizer this cannot vouch for, or a file
     * it cannot read.
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
        int factor = normalizerFactor(tokenizer.path("normalizer"));
        if (factor == 0 || !losslessPreTokenizer(tokenizer.path("pre_tokenizer"))) {
            return new CharsPerToken(UNKNOWN);
        }
        JsonNode model = tokenizer.path("model");
        String type = model.path("type").asText("");
        if (!(type.equals("BPE") || type.isEmpty() && model.has("merges"))
                || model.path("fuse_unk").asBoolean(false)) {
            return new CharsPerToken(UNKNOWN); // WordPiece's and Unigram's unknown token may cover a whole word
        }
        int longest = 1;
        for (Iterator<Map.Entry<String, JsonNode>> it = model.path("vocab").fields(); it.hasNext(); ) {
            longest = Math.max(longest, it.next().getKey().length());
        }
        for (JsonNode added : tokenizer.path("added_tokens")) {
            if (added.path("lstrip").asBoolean(false) || added.path("rstrip").asBoolean(false)) {
                return new CharsPerToken(UNKNOWN); // it takes the whitespace around it, however long
            }
            longest = Math.max(longest, added.path("content").asText("").length());
        }
        return new CharsPerToken((int) Math.min(Integer.MAX_VALUE, (long) longest * factor));
    }

    /** 1 for none, {@link #COMPOSITION} for Unicode normal forms; 0 for a normalizer that may delete input. */
    private static int normalizerFactor(JsonNode n) {
        if (n.isMissingNode() || n.isNull()) {
            return 1;
        }
        String type = n.path("type").asText("");
        if (type.equals("Sequence")) {
            int factor = 1;
            for (JsonNode each : n.path("normalizers")) {
                int f = normalizerFactor(each);
                if (f == 0) {
                    return 0;
                }
                factor = Math.max(factor, f);
            }
            return factor;
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
