package dev.unmask.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.unmask.engine.Generation;
import java.io.PrintWriter;

/** How a generation is written: its text on stdout, or one JSON object with {@code --json}. */
final class Output {

    private static final ObjectMapper JSON = new ObjectMapper();

    private Output() {}

    static void print(PrintWriter out, Generation g, String text, boolean json) {
        print(out, g, text, json, null);
    }

    /** The JSON object with {@code "logprobs"}: one entry per token, as the API's chat {@code logprobs.content}. */
    static void print(PrintWriter out, Generation g, String text, JsonNode logprobs) {
        print(out, g, text, true, logprobs);
    }

    private static void print(PrintWriter out, Generation g, String text, boolean json, JsonNode logprobs) {
        if (json) {
            ObjectNode node = JSON.createObjectNode();
            node.put("text", text);
            node.put("finish_reason", g.reason().openAiName());
            node.put("stop_cause", g.reason().name().toLowerCase(java.util.Locale.ROOT));
            node.put("prompt_tokens", g.promptTokens());
            node.put("completion_tokens", g.tokens().length);
            node.put("steps", g.steps());
            node.put("model_ms", g.modelNanos() / 1e6);
            node.put("sampler_ms", g.samplerNanos() / 1e6);
            if (logprobs != null) {
                node.set("logprobs", logprobs);
            }
            out.println(node.toString());
        } else {
            out.println(text);
        }
        out.flush();
    }

    static void summary(PrintWriter err, Generation g) {
        err.printf(
                "unmask: %d tokens in %d steps, %.1f ms (model %.1f ms, sampler %.1f ms), finish: %s%n",
                g.tokens().length,
                g.steps(),
                (g.modelNanos() + g.samplerNanos()) / 1e6,
                g.modelNanos() / 1e6,
                g.samplerNanos() / 1e6,
                g.reason().name().toLowerCase(java.util.Locale.ROOT));
        err.flush();
    }
}
