package dev.unmask.openai;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.unmask.testing.Repo;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * docs/api.md's table "Every OpenAI request field" is what the parser does: each row's example, sent to each endpoint
 * the row names, is refused with a 400 naming the field, ignored (the same request as without it) or honoured
 * (accepted), as the table says; and the table lists every request field of OpenAI's reference.
 */
class RequestFieldTableTest {

    /**
     * The request fields of OpenAI's API reference (openai-python {@code types/chat/completion_create_params.py} and
     * {@code types/completion_create_params.py}).
     */
    static final Set<String> OPENAI_CHAT = Set.of(
            "model",
            "messages",
            "audio",
            "frequency_penalty",
            "function_call",
            "functions",
            "logit_bias",
            "logprobs",
            "max_completion_tokens",
            "max_tokens",
            "metadata",
            "modalities",
            "n",
            "parallel_tool_calls",
            "prediction",
            "presence_penalty",
            "prompt_cache_key",
            "reasoning_effort",
            "response_format",
            "safety_identifier",
            "seed",
            "service_tier",
            "stop",
            "store",
            "stream",
            "stream_options",
            "temperature",
            "tool_choice",
            "tools",
            "top_logprobs",
            "top_p",
            "user",
            "verbosity",
            "web_search_options");

    static final Set<String> OPENAI_COMPLETIONS = Set.of(
            "model",
            "prompt",
            "best_of",
            "echo",
            "frequency_penalty",
            "logit_bias",
            "logprobs",
            "max_tokens",
            "n",
            "presence_penalty",
            "seed",
            "stop",
            "stream",
            "stream_options",
            "suffix",
            "temperature",
            "top_p",
            "user");

    /** Fields OpenAI only accepts beside another: sent with it. */
    static final Map<String, String> COMPANIONS =
            Map.of("stream_options", "{\"stream\": true}", "top_logprobs", "{\"logprobs\": true}");

    record Row(String field, String chat, String completions, String chatExample, String completionsExample) {}

    static List<Row> table() throws IOException {
        List<String> lines = Files.readAllLines(Repo.root().resolve("docs/api.md"));
        int start = lines.indexOf("### Every OpenAI request field");
        assertTrue(start >= 0, "docs/api.md has the section \"### Every OpenAI request field\"");
        List<Row> rows = new ArrayList<>();
        for (int i = start + 1; i < lines.size() && !lines.get(i).startsWith("#"); i++) {
            String line = lines.get(i);
            if (!line.startsWith("| `")) {
                if (!rows.isEmpty() && !line.startsWith("|")) {
                    break; // the table has ended
                }
                continue;
            }
            String[] cells = line.substring(1).split(" \\| ", 5);
            String field = unquote(cells[0]);
            String[] examples = cells[3].split("` / `");
            String chatExample = unquote(examples[0] + (examples.length > 1 ? "`" : ""));
            String completionsExample = examples.length > 1 ? unquote("`" + examples[1]) : chatExample;
            rows.add(new Row(field, cells[1].trim(), cells[2].trim(), chatExample, completionsExample));
        }
        return rows;
    }

    static String unquote(String cell) {
        String c = cell.trim();
        assertTrue(c.startsWith("`") && c.endsWith("`"), "a `code` cell: " + c);
        return c.substring(1, c.length() - 1);
    }

    @Test
    void theTableListsEveryOpenAiRequestFieldForEachEndpoint() throws IOException {
        Set<String> chat = new TreeSet<>();
        Set<String> completions = new TreeSet<>();
        for (Row r : table()) {
            if (!r.chat().equals("—")) {
                chat.add(r.field());
            }
            if (!r.completions().equals("—")) {
                completions.add(r.field());
            }
        }
        assertTrue(chat.containsAll(OPENAI_CHAT), "missing for chat: " + minus(OPENAI_CHAT, chat));
        assertTrue(
                completions.containsAll(OPENAI_COMPLETIONS),
                "missing for completions: " + minus(OPENAI_COMPLETIONS, completions));
    }

    static Set<String> minus(Set<String> a, Set<String> b) {
        Set<String> out = new TreeSet<>(a);
        out.removeAll(b);
        return out;
    }

    @Test
    void eachRowsExampleIsHonouredIgnoredOrRefusedAsTheTableSays() throws IOException {
        Map<String, String> checked = new LinkedHashMap<>();
        for (Row r : table()) {
            check(
                    r,
                    r.chat(),
                    r.chatExample(),
                    "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}",
                    ChatCompletionRequest::read);
            check(
                    r,
                    r.completions(),
                    r.completionsExample(),
                    "{\"model\": \"m\", \"prompt\": \"x\"}",
                    CompletionRequest::read);
            checked.put(r.field(), r.chat() + "/" + r.completions());
        }
        assertTrue(checked.size() >= OPENAI_CHAT.size(), checked.toString());
    }

    static void check(Row r, String status, String example, String base, Function<JsonNode, Object> parse)
            throws IOException {
        if (status.equals("—")) {
            return;
        }
        ObjectNode without = (ObjectNode) Json.mapper().readTree(base);
        String companion = COMPANIONS.get(r.field());
        if (companion != null) {
            without.setAll((ObjectNode) Json.mapper().readTree(companion));
        }
        ObjectNode with = without.deepCopy();
        with.set(r.field(), Json.mapper().readTree(example));
        String what = r.field() + ": " + example + " (" + status + ")";
        switch (status.split(" ")[0]) {
            case "refused" -> {
                ApiException e = assertThrows(ApiException.class, () -> parse.apply(with), what);
                assertEquals(400, e.httpStatus(), what);
                assertEquals(r.field(), e.param(), what);
                assertEquals("unsupported_parameter", e.code(), what);
            }
            case "ignored" -> assertEquals(parse.apply(without), parse.apply(with), what + " changes nothing");
            case "honoured" -> parse.apply(with);
            default -> throw new AssertionError("a status is honoured, ignored, refused or —: " + what);
        }
    }
}
