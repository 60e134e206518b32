package dev.unmask.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.unmask.engine.Generation;
import dev.unmask.engine.request.GenerationRequest;
import dev.unmask.engine.request.Phrasing;
import dev.unmask.engine.request.RequestField;
import dev.unmask.engine.text.ChatMessage;
import dev.unmask.format.Manifests;
import dev.unmask.format.PackageManifest;
import dev.unmask.openai.ApiException;
import dev.unmask.openai.DiffusionControls;
import dev.unmask.openai.ErrorKind;
import dev.unmask.openai.Fields;
import dev.unmask.openai.GenerationParams;
import dev.unmask.openai.Json;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * Ollama's native API ({@code /api/...}) in Ollama's own shapes, over the same engine request model as the OpenAI
 * routes: a body is read here into a {@link GenerationRequest} and {@link GenerationParams}, which
 * {@link dev.unmask.openai.OpenAiService#generate} admits, plans and queues like any completion, so every bound is
 * the planner's. What this class owns is only the wire format: field names, {@code options}, NDJSON, durations in
 * nanoseconds, {@code {"error": "..."}}.
 *
 * <p>Checked against Ollama's {@code docs/api.md} (ollama/ollama) and the official client's
 * {@code src/interfaces.ts}, {@code src/browser.ts} and {@code src/utils.ts} (ollama-js 0.6.4, the version the tests
 * pin): a stream is one JSON object per line, the client stops at the first with {@code "done": true} and throws on
 * one with {@code "error"}; an error status's JSON {@code error} becomes its {@code ResponseError}'s message. Which
 * fields are honoured, ignored or refused: {@code docs/ollama.md}.
 */
final class OllamaApi {

    private OllamaApi() {}

    /**
     * What {@code GET /api/version} answers: the Ollama release whose API this mirrors (its {@code docs/api.md} as
     * read, and ollama-js 0.6.4), for tools that check a minimum version.
     */
    static final String VERSION = "0.6.4";

    /** The content type of Ollama's streams: one JSON object per line. */
    static final String NDJSON = "application/x-ndjson";

    /** How many stop sequences {@code options.stop} may hold (Ollama has no bound; a hostile list stays small). */
    static final int MAX_STOP_SEQUENCES = 16;

    /** Ollama's default tag: {@code tiny:latest} is the model {@code tiny}. */
    static final String LATEST = ":latest";

    static final String GENERATE_EXAMPLE = "{\"model\": \"tiny-llada\", \"prompt\": \"def add(a, b):\"}";
    static final String CHAT_EXAMPLE =
            "{\"model\": \"tiny-llada\", \"messages\": [{\"role\": \"user\", \"content\": \"Hello\"}]}";

    /**
     * A generate or chat body, read and checked; the engine's request is made once the package is known (whether it
     * has a chat template decides how a non-raw prompt is rendered).
     *
     * @param name      the model as sent, echoed in every answer ({@code tiny:latest} stays so)
     * @param chat      {@code /api/chat}
     * @param messages  chat: the conversation; generate: null
     * @param prompt    generate: the prompt (the prefix, with a suffix); null or empty = load or unload only
     * @param suffix    generate: the text after the answer (fill-in-the-middle); null for none
     * @param system    generate: a system message for the chat template; null for none
     * @param raw       generate: the prompt as is, no template
     * @param topK      {@code options.top_k}, which OpenAI's fields lack
     * @param params    everything else, in the OpenAI routes' record: sampling, stop, seed, diffusion, stream
     * @param keepAlive the request's keep-alive; null = the server's
     */
    record Request(
            String name,
            boolean chat,
            List<ChatMessage> messages,
            String prompt,
            String suffix,
            String system,
            boolean raw,
            Integer topK,
            GenerationParams params,
            Duration keepAlive) {

        /** The model id in this server: Ollama's default tag dropped. */
        String model() {
            return modelId(name);
        }

        boolean stream() {
            return params.stream();
        }

        /** Ollama's "load a model" and "unload a model": no prompt, no messages. */
        boolean loadOnly() {
            return chat ? messages.isEmpty() : (prompt == null || prompt.isEmpty()) && suffix == null;
        }

        /** {@code keep_alive: 0}: unload, here as in Ollama only when nothing is to be generated. */
        boolean unload() {
            return loadOnly() && keepAlive != null && keepAlive.isZero();
        }

        /**
         * The engine's request: a chat as a chat; a prompt with a suffix as an infill (native to a diffusion model);
         * a raw prompt, or any prompt to a package without a chat template, as a continuation; else the prompt as the
         * user's message in the package's chat template, after {@code system}, as Ollama's template does it.
         */
        GenerationRequest request(boolean packageHasChatTemplate) {
            GenerationRequest.Prompt p;
            if (chat) {
                p = new GenerationRequest.Prompt.Chat(messages);
            } else if (suffix != null) {
                p = new GenerationRequest.Prompt.Infill(prompt == null ? "" : prompt, suffix);
            } else if (raw || !packageHasChatTemplate) {
                p = new GenerationRequest.Prompt.Continuation(prompt);
            } else {
                List<ChatMessage> m = new ArrayList<>();
                if (system != null && !system.isEmpty()) {
                    m.add(new ChatMessage("system", system));
                }
                m.add(new ChatMessage("user", prompt));
                p = new GenerationRequest.Prompt.Chat(m);
            }
            GenerationRequest r = params.request(p);
            return topK == null ? r : r.toBuilder().topK(topK).build();
        }

        /** The field names of this request's route, for the planner's messages. */
        Phrasing names() {
            return chat ? Names.CHAT : Names.GENERATE;
        }
    }

    /** {@code tiny:latest} is {@code tiny}; any other tag is part of the name. */
    static String modelId(String name) {
        return name.endsWith(LATEST) ? name.substring(0, name.length() - LATEST.length()) : name;
    }

    /** {@code POST /api/generate}. */
    static Request generate(JsonNode body) {
        String model = model(body, GENERATE_EXAMPLE);
        String prompt = Fields.string(body, "prompt", "\"prompt\": \"def add(a, b):\"");
        String suffix = Fields.string(body, "suffix", "\"suffix\": \"\\n    return result\"");
        if (suffix != null && suffix.isEmpty()) {
            suffix = null;
        }
        String system = Fields.string(body, "system", "\"system\": \"You are a helpful assistant.\"");
        boolean raw = Boolean.TRUE.equals(Fields.bool(body, "raw", "\"raw\": true"));
        String template = Fields.string(body, "template", "\"template\": \"\"");
        if (template != null && !template.isEmpty()) {
            throw invalid("'template' is not supported: the package's own chat template renders the prompt. Leave "
                    + "template out, or render the prompt yourself and send it with \"raw\": true");
        }
        if (suffix != null && system != null && !system.isEmpty()) {
            throw invalid("'system' cannot be combined with 'suffix': fill-in-the-middle fills the text between "
                    + "prompt and suffix as they are; leave system out");
        }
        JsonNode context = body.get("context");
        if (context != null && !context.isNull() && !(context.isArray() && context.isEmpty())) {
            throw invalid("'context' (the deprecated token memory of /api/generate) is not supported: send the "
                    + "conversation as \"messages\" to POST /api/chat instead");
        }
        refuseImages(body, "images");
        refuseCommon(body);
        return new Request(model, false, null, prompt, suffix, system, raw, topK(body), params(body), keepAlive(body));
    }

    /** {@code POST /api/chat}. */
    static Request chat(JsonNode body) {
        String model = model(body, CHAT_EXAMPLE);
        JsonNode list = body.get("messages");
        List<ChatMessage> messages = new ArrayList<>();
        if (list != null && !list.isNull()) {
            if (!list.isArray()) {
                throw Fields.wrongType(
                        "messages",
                        "an array of messages",
                        "\"messages\": [{\"role\": \"user\", \"content\": \"Hello\"}]",
                        list);
            }
            for (int i = 0; i < list.size(); i++) {
                messages.add(message(list.get(i), "messages[" + i + "]"));
            }
        }
        JsonNode tools = body.get("tools");
        if (tools != null && !tools.isNull() && !(tools.isArray() && tools.isEmpty())) {
            throw invalid("'tools' (tool calling) is not supported by this server: leave tools out and describe the "
                    + "tool in the prompt");
        }
        refuseCommon(body);
        return new Request(model, true, messages, null, null, null, false, topK(body), params(body), keepAlive(body));
    }

    /** {@code POST /api/show}: the model named by {@code model} (or, as older clients send it, {@code name}). */
    static String showModel(JsonNode body) {
        String model = Fields.string(body, "model", "\"model\": \"tiny-llada\"");
        if (model == null) {
            model = Fields.string(body, "name", "\"model\": \"tiny-llada\"");
        }
        if (model == null || model.isEmpty()) {
            throw invalid("'model' is required: send e.g. {\"model\": \"tiny-llada\"} (GET /api/tags lists them)");
        }
        return model;
    }

    private static String model(JsonNode body, String example) {
        String model = Fields.string(body, "model", "\"model\": \"tiny-llada\"");
        if (model == null || model.isEmpty()) {
            throw invalid("'model' is required: send e.g. " + example + " (GET /api/tags lists the models)");
        }
        return model;
    }

    private static ChatMessage message(JsonNode m, String where) {
        String example = "{\"role\": \"user\", \"content\": \"Hello\"}";
        if (!m.isObject()) {
            throw Fields.wrongType(where, "a message object", example, m);
        }
        String role = Fields.string(m, "role", example);
        if (role == null) {
            throw invalid(where + " needs a role: send e.g. " + example);
        }
        if (role.equals("tool")) {
            throw invalid(where + " has role 'tool': tool calling is not supported; send the tool's result as a "
                    + "\"user\" message");
        }
        if (!role.equals("system") && !role.equals("user") && !role.equals("assistant")) {
            throw invalid(where + ".role must be \"system\", \"user\" or \"assistant\", e.g. " + example + "; got \""
                    + role + "\"");
        }
        refuseImages(m, where + ".images");
        JsonNode calls = m.get("tool_calls");
        if (calls != null && !calls.isNull() && !(calls.isArray() && calls.isEmpty())) {
            throw invalid(where + " has tool_calls: tool calling is not supported; send the assistant's text as "
                    + "content");
        }
        String content = Fields.string(m, "content", "\"content\": \"Hello\"");
        return new ChatMessage(role, content == null ? "" : content);
    }

    private static void refuseImages(JsonNode node, String where) {
        JsonNode images = node.get("images");
        if (images != null && !images.isNull() && !(images.isArray() && images.isEmpty())) {
            throw invalid("'" + where + "' is not supported: the models served here read text only; leave images out");
        }
    }

    /** The fields both routes refuse when they ask for something this server cannot do. */
    private static void refuseCommon(JsonNode body) {
        JsonNode think = body.get("think");
        if (think != null && !think.isNull() && !(think.isBoolean() && !think.booleanValue())) {
            throw invalid("'think' is not supported: the models served here do not think apart from their answer; "
                    + "leave think out or send \"think\": false");
        }
        if (Boolean.TRUE.equals(Fields.bool(body, "logprobs", "\"logprobs\": false"))) {
            throw invalid("'logprobs' is not supported on the Ollama API: a diffusion model commits tokens out of "
                    + "order; leave logprobs out");
        }
        Integer top = Fields.integer(body, "top_logprobs", "\"top_logprobs\": 0");
        if (top != null && top != 0) {
            throw invalid("'top_logprobs' is not supported on the Ollama API: leave it out");
        }
    }

    /** {@code options}, as an object; an empty one when absent. */
    private static JsonNode options(JsonNode body) {
        JsonNode o = body.get("options");
        if (o == null || o.isNull()) {
            return Json.mapper().createObjectNode();
        }
        if (!o.isObject()) {
            throw Fields.wrongType("options", "an object", "\"options\": {\"temperature\": 0, \"steps\": 32}", o);
        }
        return o;
    }

    private static Integer topK(JsonNode body) {
        return Fields.integer(options(body), "top_k", "\"options\": {\"top_k\": 40}");
    }

    /**
     * {@code options} and {@code stream} as the OpenAI routes' record: Ollama's {@code num_predict} is the length
     * ({@code -1}, "until done", and {@code -2}, "fill the context", are the server's default), and the diffusion
     * fields have the OpenAI routes' names. Options that only tune llama.cpp (threads, GPU layers, context size,
     * memory mapping) and the repetition penalties, which have no left-to-right history to act on, are ignored, as
     * Ollama ignores an option it does not know; {@code presence_penalty}, {@code frequency_penalty} and
     * {@code mirostat} asked for are refused, as on the OpenAI routes.
     */
    private static GenerationParams params(JsonNode body) {
        JsonNode o = options(body);
        Integer numPredict = Fields.integer(o, "num_predict", "\"options\": {\"num_predict\": 64}");
        if (numPredict != null && numPredict < 0) {
            numPredict = null;
        }
        Double temperature = Fields.number(o, "temperature", "\"options\": {\"temperature\": 0.7}");
        Double topP = Fields.number(o, "top_p", "\"options\": {\"top_p\": 0.9}");
        Long seed = Fields.longInteger(o, "seed", "\"options\": {\"seed\": 42}");
        List<String> stop = Fields.stop(o, "stop", MAX_STOP_SEQUENCES);
        for (String field : new String[] {"presence_penalty", "frequency_penalty", "mirostat"}) {
            Double v = Fields.number(o, field, "\"options\": {\"" + field + "\": 0}");
            if (v != null && v != 0) {
                throw invalid("'options." + field + "' is not supported (a diffusion model writes every position at "
                        + "once): send 0 or leave it out");
            }
        }
        DiffusionControls diffusion = DiffusionControls.read(o);
        if (diffusion.diffusing()) {
            throw invalid("'options.diffusing' is served on the OpenAI routes only (its drafts have no place in "
                    + "Ollama's stream): use POST /v1/chat/completions with \"diffusing\": true, or leave it out");
        }
        Boolean stream = Fields.bool(body, "stream", "\"stream\": false");
        return new GenerationParams(
                numPredict,
                temperature,
                topP,
                stop,
                seed,
                !Boolean.FALSE.equals(stream),
                false,
                diffusion,
                1,
                null,
                responseSchema(body));
    }

    private static final String FORMAT_EXAMPLE = "\"format\": {\"type\": \"object\", \"properties\": {\"age\": "
            + "{\"type\": \"integer\"}}, \"required\": [\"age\"]}";

    /**
     * Ollama's {@code format}: a JSON schema object is structured output, the same as the OpenAI routes'
     * {@code response_format} json_schema (the engine checks it and lays out its skeleton); {@code "json"}, JSON mode,
     * names no skeleton, so it is refused as the OpenAI routes refuse {@code json_object}; absent or {@code ""} is text.
     */
    private static JsonNode responseSchema(JsonNode body) {
        JsonNode format = body.get("format");
        if (format == null
                || format.isNull()
                || (format.isTextual() && format.textValue().isEmpty())) {
            return null;
        }
        if (format.isObject()) {
            return format;
        }
        if (format.isTextual() && format.textValue().equals("json")) {
            throw invalid("'format': \"json\" (JSON mode) is not supported: a diffusion canvas needs the answer's "
                    + "skeleton before its first step, and JSON mode names none; send a JSON schema instead, e.g. "
                    + FORMAT_EXAMPLE);
        }
        throw invalid("'format' must be a JSON schema object, e.g. " + FORMAT_EXAMPLE + "; got " + format);
    }

    /** Ollama's {@code keep_alive}: a duration ({@code "5m"}) or a number of seconds; null when not sent. */
    private static Duration keepAlive(JsonNode body) {
        JsonNode v = body.get("keep_alive");
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual() && !v.isNumber()) {
            throw invalid("'keep_alive' must be a duration, e.g. " + KeepAlive.EXAMPLE);
        }
        try {
            return KeepAlive.parse(v.asText());
        } catch (IllegalArgumentException e) {
            throw invalid(e.getMessage());
        }
    }

    private static ApiException invalid(String message) {
        return new ApiException(ErrorKind.INVALID_REQUEST, message, null, "invalid_value", 0, null);
    }

    /** The fields of {@code options} (and the prompt) as an Ollama client sends them, for the planner's messages. */
    static final class Names implements Phrasing {
        static final Names GENERATE = new Names(false);
        static final Names CHAT = new Names(true);

        private final boolean chat;

        private Names(boolean chat) {
            this.chat = chat;
        }

        /** The key in {@code options}; null for a top-level field. */
        static String option(RequestField field) {
            return switch (field) {
                case PROMPT -> null;
                case LENGTH, MAX_TOKENS -> "num_predict";
                case THRESHOLD -> "confidence_threshold";
                default -> field.id();
            };
        }

        @Override
        public String name(RequestField field) {
            String key = option(field);
            return key == null ? (chat ? "'messages'" : "'prompt'") : "'options." + key + "'";
        }

        @Override
        public String example(RequestField field, String value) {
            String key = option(field);
            return key == null
                    ? (chat ? "\"messages\": " : "\"prompt\": ") + value
                    : "\"options\": {\"" + key + "\": " + (field == RequestField.CACHE ? "\"" + value + "\"" : value)
                            + "}";
        }
    }

    // ---- answers ----

    /** The error body Ollama answers with, whatever the status: {@code {"error": "..."}}. */
    static Map<String, String> error(ApiException e) {
        return Map.of("error", e.getMessage());
    }

    /**
     * The durations of one answer, in nanoseconds as Ollama reports them. A diffusion model has no separate pass
     * over the prompt: every step reads the prompt and the answer together, so {@code eval} is the whole denoising
     * (forward passes and sampling, as the engine timed them) and {@code promptEval} is what came before the first
     * step once the model was held: tokenizing, planning, waiting for a place in the batch.
     */
    record Durations(long totalNanos, long loadNanos, long promptEvalNanos, long evalNanos) {
        static Durations of(long startNanos, long loadNanos, Generation g) {
            long total = System.nanoTime() - startNanos;
            long eval = g.modelNanos() + g.samplerNanos();
            return new Durations(total, loadNanos, Math.max(0, total - loadNanos - eval), eval);
        }
    }

    /** A streamed piece of the answer: {@code response} (generate) or {@code message} (chat), {@code done: false}. */
    static ObjectNode piece(Request r, String text) {
        ObjectNode n = head(r);
        text(n, r, text);
        n.put("done", false);
        return n;
    }

    /**
     * The last record: with the whole text when not streamed ({@code ""} after a stream, as Ollama sends it), the
     * finish reason ({@code stop} or {@code length}), the token counts and the durations.
     */
    static ObjectNode done(Request r, String text, Generation g, int promptTokens, Durations d) {
        ObjectNode n = head(r);
        text(n, r, text);
        n.put("done", true);
        n.put("done_reason", g.reason().openAiName());
        n.put("total_duration", d.totalNanos());
        n.put("load_duration", d.loadNanos());
        n.put("prompt_eval_count", promptTokens);
        n.put("prompt_eval_duration", d.promptEvalNanos());
        n.put("eval_count", g.tokens().length);
        n.put("eval_duration", d.evalNanos());
        return n;
    }

    /** The answer to a load or unload: no text, {@code done_reason} {@code load} or {@code unload}. */
    static ObjectNode loaded(Request r, String reason) {
        ObjectNode n = head(r);
        text(n, r, "");
        n.put("done", true);
        n.put("done_reason", reason);
        return n;
    }

    private static ObjectNode head(Request r) {
        ObjectNode n = Json.mapper().createObjectNode();
        n.put("model", r.name());
        n.put("created_at", Instant.now().toString());
        return n;
    }

    private static void text(ObjectNode n, Request r, String text) {
        if (r.chat()) {
            ObjectNode m = n.putObject("message");
            m.put("role", "assistant");
            m.put("content", text);
        } else {
            n.put("response", text);
        }
    }

    /** One NDJSON line. */
    static byte[] line(Object value) {
        return (Json.write(value) + "\n").getBytes(StandardCharsets.UTF_8);
    }

    /**
     * The OpenAI stream of one request re-encoded as Ollama's, as it is written: each content chunk becomes a
     * {@link #piece}, an error event {@code {"error": "..."}}; the finish, usage and {@code [DONE]} events are
     * dropped, for the last record is made from the engine's answer ({@link #done}). One stream for both wire
     * formats means the text flows to an Ollama client exactly as to an OpenAI one.
     */
    static final class Ndjson extends OutputStream {
        private final OutputStream out;
        private final Request request;
        private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
        private boolean failed;

        Ndjson(OutputStream out, Request request) {
            this.out = out;
            this.request = request;
        }

        /** Whether an error was streamed in place of the rest of the answer. */
        boolean failed() {
            return failed;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        /**
         * Splits at the blank line that ends an event, in bytes: no byte of a multi-byte UTF-8 character is a newline,
         * so an event cut between two writes is never decoded in halves.
         */
        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            pending.write(b, off, len);
            byte[] all = pending.toByteArray();
            int from = 0;
            for (int i = 0; i + 1 < all.length; i++) {
                if (all[i] == '\n' && all[i + 1] == '\n') {
                    event(new String(all, from, i - from, StandardCharsets.UTF_8));
                    from = i + 2;
                    i++;
                }
            }
            pending.reset();
            pending.write(all, from, all.length - from);
        }

        private void event(String event) throws IOException {
            if (!event.startsWith("data: ")) {
                return;
            }
            String data = event.substring("data: ".length());
            if (data.equals("[DONE]")) {
                return;
            }
            JsonNode chunk;
            try {
                chunk = Json.mapper().readTree(data);
            } catch (IOException e) {
                throw new UncheckedIOException("the OpenAI stream wrote an event that is not JSON: " + data, e);
            }
            if (chunk.has("error")) {
                failed = true;
                send(Map.of("error", chunk.path("error").path("message").asText("generation failed")));
                return;
            }
            JsonNode choice = chunk.path("choices").path(0);
            String text = request.chat()
                    ? choice.path("delta").path("content").asText("")
                    : choice.path("text").asText("");
            if (!text.isEmpty()) {
                send(piece(request, text));
            }
        }

        /** Writes one record and flushes it to the client. */
        void send(Object record) throws IOException {
            out.write(line(record));
            out.flush();
        }

        @Override
        public void flush() throws IOException {
            out.flush();
        }
    }

    // ---- the model listings ----

    /** {@code details}, as {@code /api/tags}, {@code /api/show} and {@code /api/ps} carry them. */
    private static ObjectNode details(PackageManifest m) {
        ObjectNode d = Json.mapper().createObjectNode();
        String family = m.architecture().family();
        d.put("parent_model", "");
        d.put("format", "onnx");
        d.put("family", family);
        d.putArray("families").add(family);
        d.put("parameter_size", "");
        d.put("quantization_level", quantization(m));
        return d;
    }

    /** {@code F32}, {@code F16}, {@code INT8}, {@code INT4}: the package's precision in Ollama's upper case. */
    static String quantization(PackageManifest m) {
        if (m.precision() == null) {
            return "";
        }
        String q = m.precision().quantization();
        return (q == null || q.isBlank() || q.equals("none")
                        ? m.precision().dtype().replace("fp", "f")
                        : q)
                .toUpperCase(java.util.Locale.ROOT);
    }

    /** A listed model: {@code name} and {@code model} with Ollama's default tag, size, digest, details. */
    static ObjectNode card(String id, Path dir) {
        PackageManifest m = Manifests.read(dir);
        ObjectNode c = Json.mapper().createObjectNode();
        c.put("name", id + LATEST);
        c.put("model", id + LATEST);
        c.put("modified_at", modified(dir).toString());
        c.put("size", bytes(m));
        c.put("digest", digest(dir));
        c.set("details", details(m));
        return c;
    }

    /** {@code GET /api/tags}. */
    static ObjectNode tags(Map<String, Path> available) {
        ObjectNode n = Json.mapper().createObjectNode();
        ArrayNode list = n.putArray("models");
        available.forEach((id, dir) -> list.add(card(id, dir)));
        return n;
    }

    /** {@code GET /api/ps}: the loaded models, until when; {@code size_vram} 0 (ONNX Runtime on the CPU). */
    static ObjectNode ps(List<LocalModels.Resident> resident) {
        ObjectNode n = Json.mapper().createObjectNode();
        ArrayNode list = n.putArray("models");
        for (LocalModels.Resident r : resident) {
            ObjectNode c = card(r.model(), r.dir());
            c.remove("modified_at");
            // Ollama's "forever" is a time far ahead, never a missing field: clients parse it as a date
            c.put("expires_at", (r.expiresAt() == null ? FOREVER : r.expiresAt()).toString());
            c.put("size_vram", 0);
            list.add(c);
        }
        return n;
    }

    /** What {@code expires_at} says of a model kept until the server stops. */
    static final Instant FOREVER = Instant.parse("9999-12-31T23:59:59Z");

    /**
     * {@code POST /api/show}: details, the architecture as {@code model_info} (under Ollama's {@code <family>.}
     * keys), the package's generation defaults as {@code parameters} lines, its chat template (Jinja, not Go's
     * template language: shown as the package has it), and the capabilities: {@code completion}, and
     * {@code insert} (fill-in-the-middle with {@code suffix}), which every diffusion model does natively.
     */
    static ObjectNode show(String id, Path dir) {
        PackageManifest m = Manifests.read(dir);
        PackageManifest.Architecture a = m.architecture();
        ObjectNode n = Json.mapper().createObjectNode();
        n.put("license", "");
        n.put("modelfile", "# unmask package " + id + " at " + dir.toAbsolutePath() + "\nFROM " + dir.toAbsolutePath());
        n.put("parameters", parameters(m));
        n.put("template", m.chatTemplate() == null ? "" : m.chatTemplate());
        n.put("system", "");
        n.set("details", details(m));
        ObjectNode info = n.putObject("model_info");
        String f = a.family();
        info.put("general.architecture", f);
        info.put(f + ".block_count", a.layers());
        info.put(f + ".context_length", a.maxSequenceLength());
        info.put(f + ".embedding_length", a.modelDim());
        info.put(f + ".feed_forward_length", a.mlpHiddenSize());
        info.put(f + ".attention.head_count", a.heads());
        info.put(f + ".attention.head_count_kv", a.kvHeads());
        info.put(f + ".attention.layer_norm_rms_epsilon", a.rmsNormEps());
        info.put(f + ".rope.freq_base", a.ropeTheta());
        info.put(f + ".vocab_size", a.vocabSize());
        info.put("tokenizer.mask_token_id", m.specialTokens().mask());
        info.put("tokenizer.eos_token_id", m.specialTokens().eos());
        n.putArray("capabilities").add("completion").add("insert");
        n.put("modified_at", modified(dir).toString());
        return n;
    }

    /** The package's generation defaults as Ollama's {@code parameters} text: one {@code name value} per line. */
    private static String parameters(PackageManifest m) {
        PackageManifest.GenerationDefaults g = m.generationDefaults();
        if (g == null) {
            return "";
        }
        StringBuilder s = new StringBuilder();
        s.append(String.format("%-30s %d%n", "steps", g.steps()));
        s.append(String.format("%-30s %d%n", "num_predict", g.genLength()));
        s.append(String.format("%-30s %d%n", "block_length", g.blockLength()));
        s.append(String.format("%-30s %s%n", "temperature", g.temperature()));
        s.append(String.format("%-30s %s", "remasking", g.remasking()));
        return s.toString();
    }

    private static long bytes(PackageManifest m) {
        return m.files().values().stream()
                .mapToLong(PackageManifest.FileEntry::bytes)
                .sum();
    }

    private static Instant modified(Path dir) {
        try {
            return Files.getLastModifiedTime(dir.resolve(PackageManifest.FILE_NAME))
                    .toInstant();
        } catch (IOException e) {
            return Instant.EPOCH;
        }
    }

    /** The SHA-256 of {@code manifest.json}, which holds every file's checksum: it names the package's content. */
    private static String digest(Path dir) {
        try {
            return HexFormat.of()
                    .formatHex(MessageDigest.getInstance("SHA-256")
                            .digest(Files.readAllBytes(dir.resolve(PackageManifest.FILE_NAME))));
        } catch (IOException e) {
            return "";
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
