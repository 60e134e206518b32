package dev.unmask.engine.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unmask.testing.Repo;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The bound that lets a prompt too long for any canvas be refused before it is tokenized. */
class CharsPerTokenTest {

    static final Path TOKENIZER = Repo.checkpoint().resolve("tokenizer.json");

    static JsonNode json(String s) throws Exception {
        return new ObjectMapper().readTree(s.replace('\'', '"'));
    }

    @Test
    void theTinyByteLevelTokenizerCoversAtMostItsLongestVocabularyEntryPerToken() {
        CharsPerToken bound = CharsPerToken.of(TOKENIZER);
        assertEquals(49, bound.max(), "a newline and 48 spaces, the longest entry of the tiny vocabulary");
        try (Tokenizer tokenizer = Tokenizer.load(TOKENIZER)) {
            for (String text : new String[] {
                "\n" + " ".repeat(48),
                ("\n" + " ".repeat(48)).repeat(50),
                "word ".repeat(300),
                "ü€😀".repeat(100),
                "<|mdm_mask|>".repeat(40),
                "def fibonacci(n):\n    return n"
            }) {
                int tokens = tokenizer.encode(text, false).length;
                assertTrue(
                        (long) tokens * bound.max() >= text.length(),
                        tokens + " tokens cover " + text.length() + " characters of " + text.substring(0, 12));
            }
        }
    }

    static final String BPE = "'model': {'type': 'BPE', 'vocab': {'a': 0, 'abc': 1}, 'merges': []}";

    @Test
    void aTokenizerThatMayDropInputHasOnlyThePolicyBound() throws Exception {
        assertEquals(new CharsPerToken(3, true), CharsPerToken.of(json("{" + BPE + "}")));
        assertEquals(
                3 * CharsPerToken.COMPOSITION,
                CharsPerToken.of(json("{'normalizer': {'type': 'NFC'}, " + BPE + "}"))
                        .max(),
                "a composition joins characters");
        for (String lossy : new String[] {
            "{'normalizer': {'type': 'StripAccents'}, " + BPE + "}",
            "{'normalizer': {'type': 'Strip', 'strip_left': true, 'strip_right': true}, " + BPE + "}",
            "{'normalizer': {'type': 'Replace', 'pattern': {'Regex': ' {2,}'}, 'content': ' '}, " + BPE + "}",
            "{'normalizer': {'type': 'Replace', 'pattern': {'String': ' '}, 'content': ''}, " + BPE + "}",
            "{'pre_tokenizer': {'type': 'WhitespaceSplit'}, " + BPE + "}",
            "{'pre_tokenizer': {'type': 'BertPreTokenizer'}, 'model': {'type': 'WordPiece', 'vocab': {'a': 0}}}",
            "{'model': {'type': 'WordLevel', 'vocab': {'a': 0}, 'unk_token': '[UNK]'}}",
            "{'model': {'type': 'Unigram', 'vocab': [['a', 0.0]], 'unk_id': 0}}",
            "{'model': {'type': 'BPE', 'vocab': {'a': 0}, 'merges': [], 'fuse_unk': true}}",
            "{'added_tokens': [{'content': '<m>', 'lstrip': true}], " + BPE + "}"
        }) {
            CharsPerToken bound = CharsPerToken.of(json(lossy));
            assertEquals(CharsPerToken.unproven(), bound, lossy);
            assertEquals(512L * CharsPerToken.UNPROVEN_MAX, bound.maxChars(512), "refused before tokenizing beyond");
        }
        assertEquals(Long.MAX_VALUE, new CharsPerToken(CharsPerToken.UNKNOWN).maxChars(512));
    }

    @Test
    void sentencePieceStyleTokenizersWithByteFallbackHaveAProvenBound() throws Exception {
        // Llama 2's and Mistral's tokenizer.json: spaces replaced by U+2581 and one prepended, BPE with byte fallback
        // (an unknown character becomes its bytes, so fuse_unk never fuses a run)
        String llama2 = "{'normalizer': {'type': 'Sequence', 'normalizers': [{'type': 'Prepend', 'prepend': '\u2581'},"
                + " {'type': 'Replace', 'pattern': {'String': ' '}, 'content': '\u2581'}]}, 'pre_tokenizer': null,"
                + " 'model': {'type': 'BPE', 'vocab': {'<0x41>': 0, '\u2581the': 1}, 'merges': [],"
                + " 'fuse_unk': true, 'byte_fallback': true}}";
        assertEquals(new CharsPerToken(6, true), CharsPerToken.of(json(llama2)), "<0x41> is the longest entry");
        String unigram =
                "{'pre_tokenizer': {'type': 'Metaspace', 'replacement': '\u2581'}, 'model': {'type': 'Unigram',"
                        + " 'vocab': [['<unk>', 0.0], ['\u2581hello', -1.5]], 'unk_id': 0, 'byte_fallback': true}}";
        assertEquals(new CharsPerToken(6, true), CharsPerToken.of(json(unigram)));
        String twoToOne = "{'normalizer': {'type': 'Sequence', 'normalizers': [{'type': 'NFC'},"
                + " {'type': 'Replace', 'pattern': {'String': '  '}, 'content': '\\t'}]}, " + BPE + "}";
        assertEquals(
                3 * CharsPerToken.COMPOSITION * 2,
                CharsPerToken.of(json(twoToOne)).max(),
                "normalizers in sequence multiply: a composition, then two spaces into a tab");
    }
}
