package dev.unmask.openai;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * Typed reads of request fields. A field of the wrong type is a 400 naming the field, the type it must have, an
 * example, and what was sent. Absent and JSON {@code null} both read as "not given". Public for the agent's Ollama
 * API, which reads its own bodies with the same rules.
 */
public final class Fields {

    private Fields() {}

    public static boolean given(JsonNode body, String name) {
        JsonNode v = body.get(name);
        return v != null && !v.isNull();
    }

    public static String string(JsonNode body, String name, String example) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw wrongType(name, "a string", example, v);
        }
        return v.textValue();
    }

    public static String requiredString(JsonNode body, String name, String example) {
        String s = string(body, name, example);
        if (s == null) {
            throw ApiException.invalid(
                    name, "missing_required_parameter", "'" + name + "' is required: send e.g. " + example);
        }
        return s;
    }

    public static Integer integer(JsonNode body, String name, String example) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) {
            return null;
        }
        if (v.isIntegralNumber() && v.canConvertToInt()) {
            return v.intValue();
        }
        if (v.isFloatingPointNumber()
                && v.doubleValue() == Math.rint(v.doubleValue())
                && Math.abs(v.doubleValue()) < Integer.MAX_VALUE) {
            return (int) v.doubleValue(); // 64.0 is 64, as JavaScript clients send it
        }
        throw wrongType(name, "an integer", example, v);
    }

    public static Long longInteger(JsonNode body, String name, String example) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) {
            return null;
        }
        if (v.isIntegralNumber() && v.canConvertToLong()) {
            return v.longValue();
        }
        throw wrongType(name, "an integer", example, v);
    }

    public static Double number(JsonNode body, String name, String example) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isNumber()) {
            throw wrongType(name, "a number", example, v);
        }
        return v.doubleValue();
    }

    public static Boolean bool(JsonNode body, String name, String example) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isBoolean()) {
            throw wrongType(name, "true or false", example, v);
        }
        return v.booleanValue();
    }

    /** OpenAI's {@code stop}: a string or an array of up to {@code max} strings (the planner refuses empty ones). */
    public static List<String> stop(JsonNode body, String name, int max) {
        JsonNode v = body.get(name);
        String example = "\"" + name + "\": [\"\\n\\n\", \"END\"]";
        if (v == null || v.isNull()) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        if (v.isTextual()) {
            out.add(v.textValue());
        } else if (v.isArray()) {
            for (JsonNode s : v) {
                if (!s.isTextual()) {
                    throw wrongType(name, "a string or an array of strings", example, v);
                }
                out.add(s.textValue());
            }
        } else {
            throw wrongType(name, "a string or an array of strings", example, v);
        }
        if (out.size() > max) {
            throw ApiException.invalid(
                    name,
                    "'" + name + "' takes at most " + max + " sequences, got " + out.size() + ": send e.g. " + example);
        }
        return List.copyOf(out);
    }

    public static ApiException wrongType(String name, String type, String example, JsonNode got) {
        return ApiException.invalid(
                name,
                "invalid_type",
                "'" + name + "' must be " + type + ", e.g. " + example + "; got " + describe(got));
    }

    /** How a sent value reads in an error message: its JSON, shortened, and its type. */
    public static String describe(JsonNode v) {
        if (v == null || v.isMissingNode()) {
            return "nothing";
        }
        String type = v.isTextual()
                ? "a string"
                : v.isNumber()
                        ? "a number"
                        : v.isBoolean() ? "a boolean" : v.isArray() ? "an array" : v.isObject() ? "an object" : "null";
        String text = v.toString();
        if (text.length() > 40) {
            text = text.substring(0, 37) + "...";
        }
        return text + " (" + type + ")";
    }
}
