package dev.unmask.engine.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.testing.Repo;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The bytes of each token (OpenAI's {@code logprobs[].bytes}) on the tiny models' byte-level BPE tokenizer. */
class TokenBytesTest {

    @Test
    void theBytesOfATextsTokensJoinedAreItsUtf8EvenWhereATokenSplitsACharacter() throws Exception {
        try (Tokenizer tokenizer = Tokenizer.load(Repo.checkpoint().resolve("tokenizer.json"))) {
            String text = "def é(x):\n    return '你好 🙂' + x  # naïve";
            long[] ids = tokenizer.encode(text, false);
            ByteArrayOutputStream joined = new ByteArrayOutputStream();
            boolean split = false;
            for (long id : ids) {
                byte[] b = tokenizer.tokenBytes(id);
                assertTrue(b.length > 0, "token " + id + " has bytes");
                split |= !validUtf8(b);
                joined.writeBytes(b);
            }
            assertArrayEquals(text.getBytes(StandardCharsets.UTF_8), joined.toByteArray());
            assertTrue(split, "a 4096-token vocabulary splits some of these characters between tokens");
            assertEquals(
                    " x", new String(tokenizer.tokenBytes(tokenizer.encode(" x", false)[0]), StandardCharsets.UTF_8));
        }
    }

    @Test
    void gpt2sByteTableMapsEveryByteOnce() {
        int[] inverse = TokenBytes.unicodeToByte();
        boolean[] seen = new boolean[256];
        int mapped = 0;
        for (int b : inverse) {
            if (b >= 0) {
                assertTrue(!seen[b], "byte " + b + " once");
                seen[b] = true;
                mapped++;
            }
        }
        assertEquals(256, mapped);
        assertEquals('A', inverse['A']);
        assertEquals(' ', inverse['\u0120']); // GPT-2's "Ġ" is the space
        assertEquals('\n', inverse['\u010A']); // "Ċ" the newline
    }

    static boolean validUtf8(byte[] b) {
        try {
            StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(b));
            return true;
        } catch (CharacterCodingException e) {
            return false;
        }
    }
}
