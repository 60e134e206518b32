package dev.unmask.openai;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unmask.engine.text.ChatMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * {@code POST /v1/chat/completions}, read and checked.
 *
 * @param model    the model id, as {@code GET /v1/models} lists it
 * @param messages the conversation, oldest first; content parts of type {@code text} are joined
 * @param params   sampling, streaming and diffusion fields
 */
public record ChatCompletionRequest(String model, List<ChatMessage> messages, GenerationParams params) {

    public static final String EXAMPLE =
            "{\"model\": \"tiny-llada\", \"messages\": [{\"role\": \"user\", \"content\": \"Hello\"}]}";

    private static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant");

    public ChatCompletionRequest {
        messages = List.copyOf(messages);
    }

    /** Parses and checks a request body. */
    public static ChatCompletionRequest parse(byte[] body) {
        return read(Json.readObject(body, EXAMPLE));
    }

    /** Checks a parsed body. */
    public static ChatCompletionRequest read(JsonNode body) {
        String model = Fields.requiredString(body, "model", "\"model\": \"tiny-llada\" (GET /v1/models lists the ids)");
        JsonNode list = body.get("messages");
        if (list == null || list.isNull()) {
            throw ApiException.invalid(
                    "messages", "missing_required_parameter", "'messages' is required: send e.g. " + EXAMPLE);
        }
        if (!list.isArray()) {
            throw Fields.wrongType(
                    "messages",
                    "an array of messages",
                    "\"messages\": [{\"role\": \"user\", \"content\": \"Hello\"}]",
                    list);
        }
        if (list.isEmpty()) {
            throw ApiException.invalid(
                    "messages",
                    "'messages' must hold at least one message, e.g. "
                            + "\"messages\": [{\"role\": \"user\", \"content\": \"Hello\"}]");
        }
        List<ChatMessage> messages = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            messages.add(message(list.get(i), "messages[" + i + "]"));
        }
        return new ChatCompletionRequest(model, messages, GenerationParams.read(body, true));
    }

    private static ChatMessage message(JsonNode m, String where) {
        String example = "{\"role\": \"user\", \"content\": \"Hello\"}";
        if (!m.isObject()) {
            throw Fields.wrongType(where, "a message object", example, m);
        }
        String role = Fields.string(m, "role", example);
        if (role == null) {
            throw ApiException.invalid(
                    where + ".role", "missing_required_parameter", where + " needs a role: send e.g. " + example);
        }
        if (role.equals("tool") || role.equals("function")) {
            throw ApiException.invalid(
                    where + ".role",
                    "unsupported_parameter",
                    where + " has role '" + role
                            + "': tool calling is not supported; send the tool's result as a \"user\" message");
        }
        if (!ROLES.contains(role)) {
            throw ApiException.invalid(
                    where + ".role",
                    where + ".role must be one of \"system\", \"user\", \"assistant\" "
                            + "(\"developer\" reads as \"system\"), e.g. " + example + "; got \"" + role + "\"");
        }
        if (Fields.given(m, "tool_calls")) {
            throw ApiException.invalid(
                    where + ".tool_calls",
                    "unsupported_parameter",
                    where + " has tool_calls: tool calling is not supported; send the assistant's text as content");
        }
        JsonNode content = m.get("content");
        String text;
        if (content == null || content.isNull()) {
            throw ApiException.invalid(
                    where + ".content", "missing_required_parameter", where + " needs content: send e.g. " + example);
        } else if (content.isTextual()) {
            text = content.textValue();
        } else if (content.isArray()) {
            StringBuilder joined = new StringBuilder();
            for (int p = 0; p < content.size(); p++) {
                JsonNode part = content.get(p);
                String type = part.path("type").asText("");
                if (!type.equals("text") || !part.path("text").isTextual()) {
                    throw ApiException.invalid(
                            where + ".content[" + p + "]",
                            "unsupported_parameter",
                            where + ".content["
                                    + p + "] is a '" + type + "' part: only text parts are supported, e.g. "
                                    + "{\"type\": \"text\", \"text\": \"Hello\"}");
                }
                joined.append(part.get("text").textValue());
            }
            text = joined.toString();
        } else {
            throw Fields.wrongType(
                    where + ".content", "a string or an array of text parts", "\"content\": \"Hello\"", content);
        }
        return new ChatMessage(role.equals("developer") ? "system" : role, text);
    }
}
