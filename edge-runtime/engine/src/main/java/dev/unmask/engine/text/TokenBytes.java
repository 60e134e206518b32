package dev.unmask.engine.text;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The UTF-8 bytes each token id stands for, read from {@code tokenizer.json}'s vocabulary: what OpenAI's
 * {@code logprobs[].bytes} carries, so that a client can join the bytes of tokens that split one character (a
 * byte-level BPE token may hold half of a UTF-8 sequence, whose own text is then U+FFFD).
 *
 * <p>Two spellings of a piece are read: byte-level BPE (GPT-2's, which LLaDA, Dream/Qwen2 and the tiny models use:
 * {@code decoder.type == "ByteLevel"}), where each character of the piece stands for one byte through GPT-2's
 * {@code bytes_to_unicode} table; otherwise SentencePiece-style pieces, where {@code <0xHH>} is a byte and
 * {@code ▁} a space. Added (special) tokens are their content's UTF-8.
 */
final class TokenBytes {

    private final Map<Long, byte[]> bytes;

    private TokenBytes(Map<Long, byte[]> bytes) {
        this.bytes = bytes;
    }

    /** The bytes of {@code id}; empty for an id the vocabulary does not hold. */
    byte[] of(long id) {
        byte[] b = bytes.get(id);
        return b == null ? new byte[0] : b.clone();
    }

    static TokenBytes read(Path tokenizerJson) {
        Map<String, Long> vocab = new HashMap<>();
        Map<Long, String> added = new HashMap<>();
        boolean byteLevel = false;
        try (JsonParser p = new JsonFactory().createParser(tokenizerJson.toFile())) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new IOException(tokenizerJson + " is not a JSON object");
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken value = p.nextToken();
                if (field.equals("added_tokens") && value == JsonToken.START_ARRAY) {
                    while (p.nextToken() == JsonToken.START_OBJECT) {
                        Long id = null;
                        String content = null;
                        while (p.nextToken() == JsonToken.FIELD_NAME) {
                            String name = p.currentName();
                            JsonToken v = p.nextToken();
                            if (name.equals("id") && v == JsonToken.VALUE_NUMBER_INT) {
                                id = p.getLongValue();
                            } else if (name.equals("content") && v == JsonToken.VALUE_STRING) {
                                content = p.getText();
                            } else {
                                p.skipChildren();
                            }
                        }
                        if (id != null && content != null) {
                            added.put(id, content);
                        }
                    }
                } else if (field.equals("decoder") && value == JsonToken.START_OBJECT) {
                    byteLevel = mentionsByteLevel(p);
                } else if (field.equals("model") && value == JsonToken.START_OBJECT) {
                    while (p.nextToken() == JsonToken.FIELD_NAME) {
                        String name = p.currentName();
                        JsonToken v = p.nextToken();
                        if (name.equals("vocab") && v == JsonToken.START_OBJECT) {
                            while (p.nextToken() == JsonToken.FIELD_NAME) {
                                String piece = p.currentName();
                                p.nextToken();
                                vocab.put(piece, p.getLongValue());
                            }
                        } else {
                            p.skipChildren();
                        }
                    }
                } else {
                    p.skipChildren();
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Could not read the vocabulary of " + tokenizerJson, e);
        }
        Map<Long, byte[]> bytes = new HashMap<>();
        int[] unicodeToByte = byteLevel ? unicodeToByte() : null;
        for (Map.Entry<String, Long> e : vocab.entrySet()) {
            bytes.put(e.getValue(), byteLevel ? byteLevel(e.getKey(), unicodeToByte) : pieceBytes(e.getKey()));
        }
        for (Map.Entry<Long, String> e : added.entrySet()) {
            bytes.put(e.getKey(), e.getValue().getBytes(StandardCharsets.UTF_8));
        }
        return new TokenBytes(bytes);
    }

    /** Whether a decoder (or, in a {@code Sequence}, one of its decoders) is {@code ByteLevel}. */
    private static boolean mentionsByteLevel(JsonParser p) throws IOException {
        boolean found = false;
        int depth = 1;
        while (depth > 0) {
            JsonToken t = p.nextToken();
            if (t == JsonToken.START_OBJECT || t == JsonToken.START_ARRAY) {
                depth++;
            } else if (t == JsonToken.END_OBJECT || t == JsonToken.END_ARRAY) {
                depth--;
            } else if (t == JsonToken.VALUE_STRING
                    && "type".equals(p.currentName())
                    && p.getText().equals("ByteLevel")) {
                found = true;
            }
        }
        return found;
    }

    private static byte[] byteLevel(String piece, int[] unicodeToByte) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(piece.length());
        for (int i = 0; i < piece.length(); i++) {
            char c = piece.charAt(i);
            int b = c < unicodeToByte.length ? unicodeToByte[c] : -1;
            if (b < 0) { // not a byte-level character: keep its own UTF-8
                out.writeBytes(String.valueOf(c).getBytes(StandardCharsets.UTF_8));
            } else {
                out.write(b);
            }
        }
        return out.toByteArray();
    }

    private static byte[] pieceBytes(String piece) {
        if (piece.length() == 6 && piece.startsWith("<0x") && piece.endsWith(">")) {
            try {
                return new byte[] {(byte) Integer.parseInt(piece.substring(3, 5), 16)};
            } catch (NumberFormatException e) {
                // not a byte piece: read it as text
            }
        }
        return piece.replace('\u2581', ' ').getBytes(StandardCharsets.UTF_8);
    }

    /**
     * The inverse of GPT-2's {@code bytes_to_unicode()} (openai/gpt-2 {@code src/encoder.py}, and the Hugging Face
     * tokenizers' {@code ByteLevel}): printable Latin-1 bytes stand for themselves, the other 68 bytes for
     * {@code U+0100} onwards in byte order. Indexed by character, -1 where no byte maps.
     */
    static int[] unicodeToByte() {
        int[] inverse = new int[256 + 256];
        java.util.Arrays.fill(inverse, -1);
        int next = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            if (printable) {
                inverse[b] = b;
            } else {
                inverse[256 + next++] = b;
            }
        }
        return inverse;
    }
}
