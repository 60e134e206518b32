package dev.unmask.openai;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.CharConversionException;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The one JSON mapper of the wire format: snake_case names, as OpenAI writes them. Responses are written here, not
 * by a framework's mapper, so that every server built on this module sends the same bytes.
 */
public final class Json {

    /**
     * How deep a request body may nest. The deepest valid request is 5 levels (body, messages, message, content,
     * part); a bound well above that keeps a hostile body of many thousand brackets a cheap 400.
     */
    public static final int MAX_NESTING_DEPTH = 64;

    private static final ObjectMapper MAPPER = new ObjectMapper(JsonFactory.builder()
                    .streamReadConstraints(StreamReadConstraints.builder()
                            .maxNestingDepth(MAX_NESTING_DEPTH)
                            .build())
                    .build())
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private Json() {}

    public static ObjectMapper mapper() {
        return MAPPER;
    }

    /** Compact JSON of a response record. */
    public static String write(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("Cannot write " + value.getClass().getSimpleName() + " as JSON", e);
        }
    }

    /**
     * Reads a request body; it must be one JSON object.
     *
     * @throws ApiException 400 {@code invalid_json} saying where the JSON breaks, with an example of a valid body
     */
    public static JsonNode readObject(byte[] body, String example) {
        if (body == null || body.length == 0) {
            throw ApiException.invalid(
                    null, "invalid_json", "The request body is empty: send a JSON object, e.g. " + example);
        }
        JsonNode node;
        try {
            node = MAPPER.readTree(body);
        } catch (StreamConstraintsException e) { // it has no location: the limit, not the text, is at fault
            throw ApiException.invalid(
                    null,
                    "invalid_json",
                    "The request body nests deeper than " + MAX_NESTING_DEPTH + " levels (" + e.getOriginalMessage()
                            + "): send a JSON object, e.g. " + example);
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            throw ApiException.invalid(
                    null,
                    "invalid_json",
                    "The request body is not valid JSON ("
                            + e.getOriginalMessage()
                            + (at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr())
                            + "): send a JSON object, e.g. " + example);
        } catch (CharConversionException e) {
            // Jackson guesses the encoding from the first bytes (UTF-8, -16 or -32, RFC 4627): a body that looks
            // like UTF-32 but is not fails in its decoder, outside JsonProcessingException (found by fuzzing)
            throw ApiException.invalid(
                    null,
                    "invalid_json",
                    "The request body is not valid JSON text (" + e.getMessage() + "): send UTF-8 JSON, e.g. "
                            + example);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (node == null || !node.isObject()) {
            throw ApiException.invalid(
                    null,
                    "invalid_json",
                    "The request body must be a JSON object, not " + Fields.describe(node) + ": send e.g. " + example);
        }
        return node;
    }
}
