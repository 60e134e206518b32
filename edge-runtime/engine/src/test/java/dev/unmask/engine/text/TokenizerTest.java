package dev.unmask.engine.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unmask.testing.Repo;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class TokenizerTest {

    static Tokenizer tokenizer;
    static JsonNode generation;

    @BeforeAll
    static void load() {
        tokenizer = Tokenizer.load(Repo.checkpoint().resolve("tokenizer.json"));
        generation = Repo.json(Repo.checkpoint().resolve("fixtures/generation.json"));
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    @Test
    void encodes_prompts_exactly_as_the_python_tokenizer_did_for_the_fixtures_with_the_bos_first() {
        for (JsonNode c : generation.get("cases")) {
            if (c.has("prompt")) {
                assertArrayEquals(
                        Repo.longs(c.get("prompt_ids")),
                        tokenizer.encode(c.get("prompt").asText(), true),
                        c.get("name").asText());
            } else {
                assertArrayEquals(
                        Repo.longs(c.get("prefix_ids")),
                        tokenizer.encode(c.get("prefix").asText(), true));
                assertArrayEquals(
                        Repo.longs(c.get("suffix_ids")),
                        tokenizer.encode(c.get("suffix").asText(), false));
            }
        }
    }

    @Test
    void without_special_tokens_there_is_no_bos() {
        long[] with = tokenizer.encode("import os\n", true);
        long[] without = tokenizer.encode("import os\n", false);
        assertEquals(0, with[0], "the post-processor prepends <|startoftext|> (id 0)");
        assertEquals(with.length - 1, without.length);
    }

    @Test
    void mask_placeholders_in_text_become_the_mask_token() {
        long[] ids = tokenizer.encode("x = <|mdm_mask|><|mdm_mask|>\n", false);
        assertEquals(2, java.util.Arrays.stream(ids).filter(id -> id == 3).count());
    }

    @Test
    void decoding_skips_special_tokens_and_round_trips_unicode() {
        String text = "héllo wörld 😀\n    return x";
        long[] ids = tokenizer.encode(text, true);
        assertEquals(text, tokenizer.decode(ids));
        assertTrue(tokenizer.decodeWithSpecialTokens(ids).startsWith("<|startoftext|>"));
    }

    @Test
    void a_long_text_is_never_truncated() {
        String text = "x = 1\n".repeat(2000);
        assertEquals(text, tokenizer.decode(tokenizer.encode(text, false)));
    }

    @Test
    void a_missing_file_is_named_in_the_error() {
        Path missing = Path.of("/nonexistent/tokenizer.json");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tokenizer.load(missing));
        assertTrue(e.getMessage().contains("/nonexistent/tokenizer.json"), e.getMessage());
    }
}
