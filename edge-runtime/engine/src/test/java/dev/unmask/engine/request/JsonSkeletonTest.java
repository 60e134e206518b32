package dev.unmask.engine.request;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** A JSON Schema as the answer's skeleton: what is fixed, what is a slot, and what is refused before any work. */
class JsonSkeletonTest {

    static final ObjectMapper JSON = new ObjectMapper();

    static JsonSkeleton skeleton(String schema) throws Exception {
        return JsonSkeleton.of(JSON.readTree(schema));
    }

    @Test
    void keys_quotes_braces_and_commas_are_fixed_and_each_value_is_a_slot() throws Exception {
        JsonSkeleton s = skeleton("""
                {"type": "object", "properties": {
                  "name": {"type": "string", "maxLength": 20},
                  "age": {"type": "integer"},
                  "ok": {"type": "boolean"},
                  "kind": {"const": "cat"},
                  "none": {"type": "null"}}}""");
        assertEquals(
                List.of(
                        new JsonSkeleton.Fixed("{\"name\": \""),
                        new JsonSkeleton.StringSlot(20, 0, 20),
                        new JsonSkeleton.Fixed("\", \"age\": "),
                        new JsonSkeleton.IntegerSlot(JsonSkeleton.DEFAULT_INTEGER_WIDTH, null, null),
                        new JsonSkeleton.Fixed(", \"ok\": "),
                        new JsonSkeleton.EnumSlot(List.of("true", "false")),
                        new JsonSkeleton.Fixed(", \"kind\": \"cat\", \"none\": null}")),
                s.pieces());
    }

    @Test
    void an_array_gets_a_count_within_its_bounds_and_a_string_without_max_length_the_default_slot() throws Exception {
        JsonSkeleton fixedCount = skeleton("""
                {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 2}""");
        assertEquals(2, fixedCount.slots().size());
        assertEquals(
                new JsonSkeleton.StringSlot(JsonSkeleton.DEFAULT_STRING_TOKENS, 0, -1),
                fixedCount.slots().get(0));
        JsonSkeleton open = skeleton("""
                {"type": "array", "items": {"type": "integer", "minimum": -5, "maximum": 250}}""");
        assertEquals(JsonSkeleton.DEFAULT_ITEMS, open.slots().size());
        assertEquals(
                new JsonSkeleton.IntegerSlot(3, BigInteger.valueOf(-5), BigInteger.valueOf(250)),
                open.slots().get(0)); // "-5" and "250": at most three positions
        assertEquals(
                0,
                skeleton("{\"type\": \"array\", \"items\": {\"type\": \"string\"}, \"maxItems\": 0}")
                        .slots()
                        .size());
    }

    @Test
    void an_enum_of_one_value_is_fixed_text_and_of_several_a_slot_of_their_json_texts() throws Exception {
        assertEquals(
                List.of(new JsonSkeleton.Fixed("\"only\"")),
                skeleton("{\"enum\": [\"only\"]}").pieces());
        assertEquals(
                List.of(new JsonSkeleton.EnumSlot(List.of("\"a\"", "2", "null"))),
                skeleton("{\"enum\": [\"a\", 2, null]}").pieces());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiter = '|',
            quoteCharacter = '`',
            value = {
                "pattern|{\"type\": \"string\", \"pattern\": \"^[a-z]+$\"}",
                "format|{\"type\": \"object\", \"properties\": {\"at\": {\"type\": \"string\", \"format\": \"date-time\"}}}",
                "$ref|{\"type\": \"object\", \"properties\": {\"next\": {\"$ref\": \"#\"}}}",
                "anyOf|{\"anyOf\": [{\"type\": \"string\"}, {\"type\": \"integer\"}]}",
                "oneOf|{\"type\": \"object\", \"oneOf\": [{\"required\": [\"a\"]}]}",
                "allOf|{\"allOf\": [{\"type\": \"string\"}]}",
                "additionalProperties|{\"type\": \"object\", \"additionalProperties\": {\"type\": \"string\"}}",
                "'type': [|{\"type\": [\"string\", \"null\"]}",
                "exclusiveMinimum|{\"type\": \"integer\", \"exclusiveMinimum\": 0}",
                "no 'type'|{\"properties\": {\"a\": {\"type\": \"string\"}}}",
                "required \"b\"|{\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"string\"}}, \"required\": [\"b\"]}",
                "no 'items'|{\"type\": \"array\"}",
            })
    void an_unsupported_keyword_is_refused_by_name_with_a_schema_that_works(String named, String schema) {
        InvalidRequestException e = assertThrows(InvalidRequestException.class, () -> skeleton(schema));
        Violation v = e.violations().get(0);
        assertEquals(RequestField.RESPONSE_SCHEMA, v.field());
        assertTrue(e.getMessage().contains(named), e.getMessage());
        assertTrue(e.getMessage().contains(JsonSkeleton.EXAMPLE), e.getMessage());
    }

    @Test
    void a_skeleton_too_large_or_too_deep_is_refused_while_it_is_read() throws Exception {
        // 64 items of 64 items: 4096 values, refused at the 257th, before the rest is laid out
        String wide = "{\"type\": \"array\", \"minItems\": 64, \"maxItems\": 64, \"items\": "
                + "{\"type\": \"array\", \"minItems\": 64, \"maxItems\": 64, \"items\": {\"type\": \"integer\"}}}";
        InvalidRequestException tooMany = assertThrows(InvalidRequestException.class, () -> skeleton(wide));
        assertTrue(
                tooMany.getMessage().contains("more than " + JsonSkeleton.MAX_VALUES + " values"),
                tooMany.getMessage());

        String deep = "{\"type\": \"string\"}";
        for (int i = 0; i <= JsonSkeleton.MAX_DEPTH; i++) {
            deep = "{\"type\": \"object\", \"properties\": {\"a\": " + deep + "}}";
        }
        JsonNode deepSchema = JSON.readTree(deep);
        InvalidRequestException tooDeep =
                assertThrows(InvalidRequestException.class, () -> JsonSkeleton.of(deepSchema));
        assertTrue(tooDeep.getMessage().contains("nesting deeper than"), tooDeep.getMessage());

        InvalidRequestException tooManyItems = assertThrows(
                InvalidRequestException.class,
                () -> skeleton("{\"type\": \"array\", \"items\": {\"type\": \"string\"}, \"minItems\": 100000}"));
        assertTrue(tooManyItems.getMessage().contains("minItems"), tooManyItems.getMessage());
    }

    @Test
    void a_number_slot_renders_as_a_valid_number_within_its_bounds_whatever_it_holds() {
        assertEquals("0", JsonCanvas.integer("", null, null));
        assertEquals("7", JsonCanvas.integer("007", null, null));
        assertEquals("-12", JsonCanvas.integer("-12", null, null));
        assertEquals("0", JsonCanvas.integer("-", null, null));
        assertEquals("120", JsonCanvas.integer("999", BigInteger.ZERO, BigInteger.valueOf(120)));
        assertEquals("1", JsonCanvas.integer("0", BigInteger.ONE, null));
        assertEquals("3.25", JsonCanvas.number("03.2.5", null, null));
        assertEquals("-4", JsonCanvas.number("-4.", null, null));
        assertEquals("0", JsonCanvas.number("-.", null, null));
        assertEquals("-10", JsonCanvas.number("-55", BigDecimal.TEN.negate(), BigDecimal.TEN));
    }

    @Test
    void a_string_slot_is_escaped_for_json() {
        assertEquals("a\\\"b\\\\c\\n\\u0001", JsonCanvas.escape("a\"b\\c\n\u0001"));
    }
}
