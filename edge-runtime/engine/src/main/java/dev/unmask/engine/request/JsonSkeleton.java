package dev.unmask.engine.request;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A JSON Schema checked for structured output and laid out as the answer's skeleton: fixed text (braces, keys,
 * quotes, colons, commas, single enum choices, constants) and value slots in between, in the order the answer is
 * written. {@link JsonCanvas} turns it into tokens. Every size, depth and count is bounded while the schema is
 * read, so an oversized or recursive schema is refused before any work in proportion to it.
 *
 * <p>Supported: {@code type} object (with {@code properties}, in order; {@code required}; {@code additionalProperties}
 * true or false), string ({@code maxLength}, {@code minLength}), integer and number ({@code minimum},
 * {@code maximum}), boolean, null, array ({@code items}, {@code minItems}, {@code maxItems}); {@code enum} of
 * scalars, {@code const}; annotations ({@code title}, {@code description}, ...) are ignored. Every property is
 * generated, optional ones too (a schema that lists a property asks for its shape; an answer that holds it
 * validates either way). Everything else is refused with the keyword's name: {@code pattern}, {@code format},
 * {@code $ref}, {@code anyOf}/{@code oneOf}/{@code allOf}, schemas as {@code additionalProperties}, ... (see
 * {@code docs/structured-output.md}).
 *
 * <pre>{@code
 * {"type": "object", "properties": {"name": {"type": "string", "maxLength": 20}, "age": {"type": "integer"}}}
 *   -> {"name": "⟨string, 20 tokens⟩", "age": ⟨integer, 6 tokens⟩}
 * }</pre>
 */
public final class JsonSkeleton {

    /** Deepest nesting of objects and arrays. */
    public static final int MAX_DEPTH = 8;
    /** Most values (objects, arrays, scalars, array items counted each time) in one skeleton. */
    public static final int MAX_VALUES = 256;
    /** Most tokens of a string slot (with {@code maxLength} the slot is {@code min(maxLength, this)} tokens). */
    public static final int MAX_STRING_TOKENS = 128;
    /** Tokens of a string slot whose schema gives no {@code maxLength}. */
    public static final int DEFAULT_STRING_TOKENS = 16;
    /** The longest {@code minLength} (the rendering pads a shorter string with spaces). */
    public static final int MAX_MIN_LENGTH = 1024;
    /** Positions of an integer slot without both bounds: a sign or digit, then digits. */
    public static final int DEFAULT_INTEGER_WIDTH = 6;
    /** Positions of a number slot: sign, digits and a decimal point. */
    public static final int DEFAULT_NUMBER_WIDTH = 8;
    /** Items of an array whose schema does not fix the count, within minItems and maxItems. */
    public static final int DEFAULT_ITEMS = 3;
    /** Most items of one array. */
    public static final int MAX_ITEMS = 64;
    /** Most choices of one enum. */
    public static final int MAX_ENUM_CHOICES = 64;
    /** Most characters of the skeleton's fixed text (keys, constants, enum choices). */
    public static final int MAX_FIXED_CHARS = 32_768;

    /** A schema every message shows as one that works. */
    public static final String EXAMPLE = "{\"type\": \"object\", \"properties\": {\"name\": {\"type\": \"string\", "
            + "\"maxLength\": 20}, \"age\": {\"type\": \"integer\"}}, \"required\": [\"name\", \"age\"]}";

    private static final String SUPPORTED = "type object (properties, required, additionalProperties false), "
            + "string (maxLength, minLength), integer and number (minimum, maximum), boolean, null, "
            + "array (items, minItems, maxItems), enum, const; see docs/structured-output.md";

    private static final Set<String> ANNOTATIONS = Set.of(
            "title",
            "description",
            "$schema",
            "$id",
            "$comment",
            "examples",
            "default",
            "deprecated",
            "readOnly",
            "writeOnly",
            "$defs",
            "definitions");

    /** Keywords refused with their own reason wherever they are, with a type or without. */
    private static final Set<String> REFUSED_BY_NAME =
            Set.of("$ref", "anyOf", "oneOf", "allOf", "not", "pattern", "format");

    private static final Map<String, Set<String>> KEYWORDS = Map.of(
            "object", Set.of("type", "properties", "required", "additionalProperties"),
            "array", Set.of("type", "items", "minItems", "maxItems"),
            "string", Set.of("type", "maxLength", "minLength", "enum"),
            "integer", Set.of("type", "minimum", "maximum", "enum"),
            "number", Set.of("type", "minimum", "maximum", "enum"),
            "boolean", Set.of("type", "enum"),
            "null", Set.of("type", "enum"));

    /** One piece of the skeleton, in the answer's order. */
    public sealed interface Piece {}

    /** Text that is written as it is. */
    public record Fixed(String text) implements Piece {}

    /** A value the model writes. */
    public sealed interface Slot extends Piece {}

    /**
     * A string's content, between its fixed quotes.
     *
     * @param width    positions on the canvas, each a token of string text or the pad (nothing)
     * @param minChars the shortest text (padded with spaces), 0 = any
     * @param maxChars the longest text (cut), -1 = no limit
     */
    public record StringSlot(int width, int minChars, int maxChars) implements Slot {}

    /**
     * An integer: a sign or digits first, then digits, the pad anywhere (nothing).
     *
     * @param minimum the least value, or null; the rendering clamps to the bounds
     * @param maximum the greatest value, or null
     */
    public record IntegerSlot(int width, BigInteger minimum, BigInteger maximum) implements Slot {}

    /** A number: a sign or digits first, then digits and a decimal point. */
    public record NumberSlot(int width, BigDecimal minimum, BigDecimal maximum) implements Slot {}

    /** One of several JSON values (an enum, a boolean), each given as its JSON text. */
    public record EnumSlot(List<String> choices) implements Slot {}

    private final List<Piece> pieces;

    private JsonSkeleton(List<Piece> pieces) {
        this.pieces = List.copyOf(pieces);
    }

    public List<Piece> pieces() {
        return pieces;
    }

    /** The slots, in order. */
    public List<Slot> slots() {
        return pieces.stream().filter(p -> p instanceof Slot).map(p -> (Slot) p).toList();
    }

    /**
     * Checks {@code schema} and lays out its skeleton.
     *
     * @throws InvalidRequestException a {@link RequestField#RESPONSE_SCHEMA} violation naming the unsupported keyword
     *                                 and where it is
     */
    public static JsonSkeleton of(JsonNode schema) {
        Builder b = new Builder();
        b.value(schema, "#", 0);
        return new JsonSkeleton(b.finish());
    }

    private static final class Builder {
        private final List<Piece> pieces = new ArrayList<>();
        private final StringBuilder fixed = new StringBuilder();
        private int values;
        private int fixedChars;

        List<Piece> finish() {
            flush();
            return pieces;
        }

        private void text(String t) {
            fixedChars += t.length();
            if (fixedChars > MAX_FIXED_CHARS) {
                throw refuse(
                        "a skeleton of " + fixedChars + "+ characters of fixed text",
                        "a schema whose keys and constants hold at most " + MAX_FIXED_CHARS + " characters");
            }
            fixed.append(t);
        }

        private void slot(Slot s) {
            flush();
            pieces.add(s);
        }

        private void flush() {
            if (!fixed.isEmpty()) {
                pieces.add(new Fixed(fixed.toString()));
                fixed.setLength(0);
            }
        }

        void value(JsonNode schema, String path, int depth) {
            if (++values > MAX_VALUES) {
                throw refuse(
                        "more than " + MAX_VALUES + " values at " + path,
                        "a schema of at most " + MAX_VALUES + " values (array items counted each time): "
                                + "fewer properties, or smaller minItems/maxItems");
            }
            if (schema == null || !schema.isObject()) {
                throw refuse(
                        (schema == null
                                        ? "nothing"
                                        : schema.getNodeType().name().toLowerCase()) + " at " + path,
                        "a schema object, e.g. {\"type\": \"string\"}");
            }
            JsonNode type = schema.get("type");
            JsonNode constant = schema.get("const");
            JsonNode choices = schema.get("enum");
            for (Iterator<String> it = schema.fieldNames(); it.hasNext(); ) {
                String k = it.next();
                if (ANNOTATIONS.contains(k)) {
                    continue;
                }
                if (type == null) {
                    if (k.equals("const") || k.equals("enum")) {
                        continue;
                    }
                    if (REFUSED_BY_NAME.contains(k) || choices != null || constant != null) {
                        throw unsupported(k, path, null);
                    }
                    continue; // a schema of other keywords without a type: "no 'type'" below
                }
                Set<String> allowed = type.isTextual() ? KEYWORDS.get(type.textValue()) : null;
                if (allowed == null) {
                    break; // the type itself is wrong: reported below
                }
                if (!allowed.contains(k)) {
                    throw unsupported(k, path, type);
                }
            }
            if (type == null && choices == null && constant == null) {
                throw refuse(
                        "no 'type' at " + path,
                        "a schema with a 'type' (one of object, array, string, integer, number, boolean, null), "
                                + "an 'enum' or a 'const'");
            }
            if (constant != null) {
                if (type != null) {
                    throw unsupported("const", path, type);
                }
                text(constant.toString());
                return;
            }
            if (type != null && (!type.isTextual() || !KEYWORDS.containsKey(type.textValue()))) {
                throw refuse(
                        "'type': " + type + " at " + path,
                        "a 'type' that is one of object, array, string, integer, number, boolean, null (one type, "
                                + "not a list: a value that may be null is not supported)");
            }
            String t = type == null ? null : type.textValue();
            if (choices != null) {
                enumeration(choices, t, path);
                return;
            }
            switch (t) {
                case "object" -> object(schema, path, depth);
                case "array" -> array(schema, path, depth);
                case "string" -> string(schema, path);
                case "integer" -> integer(schema, path);
                case "number" -> number(schema, path);
                case "boolean" -> slot(new EnumSlot(List.of("true", "false")));
                default -> text("null");
            }
        }

        private void object(JsonNode schema, String path, int depth) {
            nesting(path, depth);
            JsonNode properties = schema.get("properties");
            if (properties != null && !properties.isObject()) {
                throw refuse("'properties' that is not an object at " + path, "'properties': {\"name\": {...}}");
            }
            JsonNode extra = schema.get("additionalProperties");
            if (extra != null && !extra.isBoolean()) {
                throw refuse(
                        "an 'additionalProperties' schema at " + path,
                        "a schema whose 'additionalProperties' is false or left out: list every property in "
                                + "'properties'");
            }
            Set<String> names = new HashSet<>();
            if (properties != null) {
                properties.fieldNames().forEachRemaining(names::add);
            }
            JsonNode required = schema.get("required");
            if (required != null) {
                if (!required.isArray()) {
                    throw refuse("'required' that is not a list at " + path, "'required': [\"name\"]");
                }
                for (JsonNode r : required) {
                    if (!r.isTextual() || !names.contains(r.textValue())) {
                        throw refuse(
                                "required " + r + " at " + path + ", which 'properties' does not list",
                                "a schema whose 'required' names only properties it lists");
                    }
                }
            }
            text("{");
            boolean first = true;
            if (properties != null) {
                for (Iterator<Map.Entry<String, JsonNode>> it = properties.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> p = it.next();
                    text((first ? "" : ", ") + TextNode.valueOf(p.getKey()) + ": ");
                    value(p.getValue(), path + "/properties/" + p.getKey(), depth + 1);
                    first = false;
                }
            }
            text("}");
        }

        private void array(JsonNode schema, String path, int depth) {
            nesting(path, depth);
            JsonNode items = schema.get("items");
            if (items == null || !items.isObject()) {
                throw refuse(
                        (items == null ? "no 'items'" : "'items' that is not one schema") + " at " + path,
                        "an array schema with one 'items' schema, e.g. {\"type\": \"array\", \"items\": "
                                + "{\"type\": \"string\"}, \"maxItems\": 3}");
            }
            int min = count(schema, "minItems", path, 0);
            int max = count(schema, "maxItems", path, Integer.MAX_VALUE);
            if (min > MAX_ITEMS || min > max) {
                throw refuse(
                        "minItems " + min + (max < Integer.MAX_VALUE ? " and maxItems " + max : "") + " at " + path,
                        "minItems at most maxItems and at most " + MAX_ITEMS);
            }
            int n = Math.min(Math.max(DEFAULT_ITEMS, min), Math.min(max, MAX_ITEMS));
            text("[");
            for (int i = 0; i < n; i++) {
                if (i > 0) {
                    text(", ");
                }
                value(items, path + "/items", depth + 1);
            }
            text("]");
        }

        private void string(JsonNode schema, String path) {
            int max = count(schema, "maxLength", path, -1);
            int min = count(schema, "minLength", path, 0);
            if (min > MAX_MIN_LENGTH || (max >= 0 && min > max)) {
                throw refuse(
                        "minLength " + min + " at " + path,
                        "minLength at most maxLength and at most " + MAX_MIN_LENGTH);
            }
            text("\"");
            if (max != 0) {
                slot(new StringSlot(max < 0 ? DEFAULT_STRING_TOKENS : Math.min(max, MAX_STRING_TOKENS), min, max));
            }
            text("\"");
        }

        private void integer(JsonNode schema, String path) {
            BigDecimal least = bound(schema, "minimum", path, true);
            BigDecimal most = bound(schema, "maximum", path, true);
            BigInteger min = least == null ? null : least.toBigInteger();
            BigInteger max = most == null ? null : most.toBigInteger();
            if (min != null && max != null && min.compareTo(max) > 0) {
                throw refuse("minimum " + min + " above maximum " + max + " at " + path, "minimum at most maximum");
            }
            int width = min != null && max != null
                    ? Math.max(min.toString().length(), max.toString().length())
                    : DEFAULT_INTEGER_WIDTH;
            if (min != null && max != null && min.equals(max)) {
                text(min.toString());
                return;
            }
            slot(new IntegerSlot(width, min, max));
        }

        private void number(JsonNode schema, String path) {
            BigDecimal min = bound(schema, "minimum", path, false);
            BigDecimal max = bound(schema, "maximum", path, false);
            if (min != null && max != null && min.compareTo(max) > 0) {
                throw refuse("minimum " + min + " above maximum " + max + " at " + path, "minimum at most maximum");
            }
            slot(new NumberSlot(DEFAULT_NUMBER_WIDTH, min, max));
        }

        private void enumeration(JsonNode choices, String type, String path) {
            if (!choices.isArray() || choices.isEmpty() || choices.size() > MAX_ENUM_CHOICES) {
                throw refuse(
                        "'enum' " + (choices.isArray() ? "of " + choices.size() + " values" : "that is not a list")
                                + " at " + path,
                        "an 'enum' list of 1 to " + MAX_ENUM_CHOICES + " values, e.g. \"enum\": [\"red\", \"green\"]");
            }
            List<String> texts = new ArrayList<>();
            for (JsonNode c : choices) {
                boolean fits = type == null
                        ? c.isValueNode()
                        : switch (type) {
                            case "string" -> c.isTextual();
                            case "integer" -> c.isIntegralNumber();
                            case "number" -> c.isNumber();
                            case "boolean" -> c.isBoolean();
                            case "null" -> c.isNull();
                            default -> false;
                        };
                if (!fits) {
                    throw refuse(
                            "enum value " + c + " at " + path,
                            "an 'enum' of "
                                    + (type == null ? "strings, numbers, booleans or null" : type + " values")
                                    + " (an object or array choice is not supported)");
                }
                String text = c.toString();
                fixedChars += text.length();
                texts.add(text);
            }
            if (fixedChars > MAX_FIXED_CHARS) {
                throw refuse(
                        "enum choices of " + fixedChars + "+ characters at " + path,
                        "a schema whose keys and constants hold at most " + MAX_FIXED_CHARS + " characters");
            }
            List<String> distinct = texts.stream().distinct().toList();
            if (distinct.size() == 1) {
                text(distinct.get(0));
            } else {
                slot(new EnumSlot(distinct));
            }
        }

        private static void nesting(String path, int depth) {
            if (depth >= MAX_DEPTH) {
                throw refuse(
                        "nesting deeper than " + MAX_DEPTH + " at " + path,
                        "objects and arrays nested at most " + MAX_DEPTH + " deep");
            }
        }

        private static int count(JsonNode schema, String keyword, String path, int absent) {
            JsonNode v = schema.get(keyword);
            if (v == null) {
                return absent;
            }
            if (!v.isIntegralNumber() || v.asLong() < 0 || v.asLong() > Integer.MAX_VALUE) {
                throw refuse("'" + keyword + "': " + v + " at " + path, "'" + keyword + "' a non-negative integer");
            }
            return v.intValue();
        }

        private static BigDecimal bound(JsonNode schema, String keyword, String path, boolean integral) {
            JsonNode v = schema.get(keyword);
            if (v == null) {
                return null;
            }
            if (!v.isNumber()
                    || (integral && v.decimalValue().stripTrailingZeros().scale() > 0)) {
                throw refuse(
                        "'" + keyword + "': " + v + " at " + path,
                        "'" + keyword + "' " + (integral ? "an integer" : "a number"));
            }
            BigDecimal d = v.decimalValue();
            if (d.abs().compareTo(BigDecimal.TEN.pow(18)) >= 0) {
                throw refuse("'" + keyword + "': " + v + " at " + path, "'" + keyword + "' below 10^18 in size");
            }
            return d;
        }

        private static InvalidRequestException unsupported(String keyword, String path, JsonNode type) {
            String why = switch (keyword) {
                case "$ref" -> "references are not resolved: write the referenced schema in place";
                case "anyOf", "oneOf", "allOf", "not" ->
                    "a choice between schemas has no single skeleton: use one schema";
                case "pattern", "format" -> "the text's shape is not constrained: use maxLength or an enum";
                case "const" -> "'const' goes without a 'type'";
                default ->
                    type == null
                            ? "a schema without a 'type' takes only 'enum' or 'const'"
                            : "it is not supported with type " + type.asText();
            };
            return refuse(
                    "'" + keyword + "' at " + path,
                    "a schema without '" + keyword + "' (" + why + "; supported: " + SUPPORTED + ")");
        }
    }

    private static InvalidRequestException refuse(String got, String allowed) {
        return new InvalidRequestException(List.of(
                new Violation(RequestField.RESPONSE_SCHEMA, got, allowed, EXAMPLE, Violation.Kind.OUT_OF_RANGE)));
    }
}
