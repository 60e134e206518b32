package dev.unmask.engine.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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

    @Test
    void aTokenizerThatMayDropInputHasNoBound() throws Exception {
        String bpe = "'model': {'type': 'BPE', 'vocab': {'a': 0, 'abc': 1}, 'merges': []}";
        assertEquals(3, CharsPerToken.of(json("{" + bpe + "}")).max());
        assertEquals(
                3 * CharsPerToken.COMPOSITION,
                CharsPerToken.of(json("{'normalizer': {'type': 'NFC'}, " + bpe + "}"))
                        .max(),
                "a composition joins characters");
        assertFalse(CharsPerToken.of(json("{'normalizer': {'type': 'StripAccents'}, " + bpe + "}"))
                .known());
        assertFalse(CharsPerToken.of(json("{'pre_tokenizer': {'type': 'WhitespaceSplit'}, " + bpe + "}"))
                .known());
        assertFalse(CharsPerToken.of(json("{'model': {'type': 'WordPiece', 'vocab': {'a': 0}}}"))
                .known());
        assertFalse(CharsPerToken.of(json("{'added_tokens': [{'content': '<m>', 'lstrip': true}], " + bpe + "}"))
                .known());
        assertEquals(Long.MAX_VALUE, new CharsPerToken(CharsPerToken.UNKNOWN).maxChars(512));
    }
}
