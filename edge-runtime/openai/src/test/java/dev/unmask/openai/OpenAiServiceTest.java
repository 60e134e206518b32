package dev.unmask.openai;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unmask.engine.Engine;
import dev.unmask.engine.Generation;
import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.engine.request.GenerationRequest;
import dev.unmask.engine.text.ChatMessage;
import dev.unmask.testing.ReferencePackages;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The API over the real tiny package: answers, streams as a client parses them, batching, queue, cancellation. */
class OpenAiServiceTest {

    static Engine engine;
    static BatchScheduler scheduler;
    static OpenAiService service;

    /** The real tiny package: -Dunmask.package=<dir>, else the reference package converted from models/tiny-llada. */
    static Path tinyPackage() {
        String override = System.getProperty("unmask.package");
        return override != null && !override.isBlank() ? Path.of(override) : ReferencePackages.tinyLlada();
    }

    @BeforeAll
    static void open() {
        engine = Engine.open(tinyPackage(), RuntimeOptions.defaults().withIntraOpThreads(1));
        scheduler = new BatchScheduler(engine, 8, 16, SchedulerObserver.NONE);
        service = new OpenAiService(
                List.of(new ServedModel("tiny", engine, scheduler, 1234)), ServingLimits.defaults(), Clock.systemUTC());
    }

    @AfterAll
    static void close() {
        scheduler.close();
        engine.close();
    }

    static GenerationRequest.Builder continuation(String prompt) {
        return GenerationRequest.builder(new GenerationRequest.Prompt.Continuation(prompt));
    }

    static byte[] body(String s) {
        return s.replace('\'', '"').getBytes(StandardCharsets.UTF_8);
    }

    /** Parses an SSE stream as openai-python does: events split on blank lines, data lines, stop at [DONE]. */
    static List<JsonNode> parseSse(String stream) throws IOException {
        List<JsonNode> events = new ArrayList<>();
        assertTrue(stream.endsWith("data: [DONE]\n\n"), "ends with [DONE]: " + stream);
        for (String event : stream.split("\n\n")) {
            assertTrue(event.startsWith("data: "), "every event is a data line: " + event);
            String data = event.substring("data: ".length());
            if (data.equals("[DONE]")) {
                break;
            }
            events.add(Json.mapper().readTree(data));
        }
        return events;
    }

    @Test
    void modelsListsTheServedPackage() {
        assertEquals(
                "{\"object\":\"list\",\"data\":[{\"id\":\"tiny\",\"object\":\"model\",\"created\":1234,\"owned_by\":\"unmask\"}]}",
                Json.write(service.models()));
        assertEquals(
                404,
                assertThrows(ApiException.class, () -> service.model("gpt-4")).httpStatus());
    }

    @Test
    void aCompletionIsTheEnginesGenerationWithUsage() {
        PendingGeneration p = service.completion(
                CompletionRequest.parse(body("{'model': 'tiny', 'prompt': 'def add(a, b):', 'max_tokens': 32}")));
        Completion c = assertInstanceOf(Completion.class, p.await());
        Generation direct =
                engine.generate(continuation("def add(a, b):").length(32).build(), null);
        assertEquals(direct.text(), c.choices().get(0).text());
        assertEquals(direct.reason().openAiName(), c.choices().get(0).finishReason());
        Usage u = (Usage) c.usage();
        assertEquals(direct.promptTokens(), u.promptTokens());
        assertEquals(direct.tokens().length, u.completionTokens());
        assertTrue(c.id().startsWith("cmpl-"));
    }

    @Test
    void aChatCompletionRendersTheTemplate() {
        PendingGeneration p = service.chat(ChatCompletionRequest.parse(
                body("{'model': 'tiny', 'messages': [{'role': 'user', 'content': 'Hello'}], 'max_tokens': 16}")));
        ChatCompletion c = assertInstanceOf(ChatCompletion.class, p.await());
        Generation direct = engine.generate(
                GenerationRequest.builder(new GenerationRequest.Prompt.Chat(List.of(ChatMessage.user("Hello"))))
                        .length(16)
                        .build(),
                null);
        assertEquals(direct.text(), c.choices().get(0).message().content());
        assertEquals("assistant", c.choices().get(0).message().role());
        assertEquals(direct.promptTokens(), c.usage().promptTokens());
    }

    @Test
    void suffixFillsInTheMiddle() {
        PendingGeneration p = service.completion(CompletionRequest.parse(body(
                "{'model': 'tiny', 'prompt': 'def add(a, b):\\n    ', 'suffix': '\\n    return c', 'max_tokens': 8}")));
        Completion c = (Completion) p.await();
        Generation direct = engine.generate(
                GenerationRequest.builder(new GenerationRequest.Prompt.Infill("def add(a, b):\n    ", "\n    return c"))
                        .length(8)
                        .build(),
                null);
        assertEquals(direct.text(), c.choices().get(0).text());
        assertEquals(
                p.plan().layout().length() - 8,
                ((Usage) c.usage()).promptTokens(),
                "prefix and suffix count as prompt");
    }

    @Test
    void aChatStreamIsRoleThenContentThenFinishThenUsageThenDone() throws IOException {
        String req =
                "{'model': 'tiny', 'messages': [{'role': 'user', 'content': 'Hi'}], 'max_tokens': 64, 'block_length': 16, 'steps': 64, 'stream': true, 'stream_options': {'include_usage': true}}";
        PendingGeneration p = service.chat(ChatCompletionRequest.parse(body(req)));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        p.streamTo(out);
        List<JsonNode> chunks = parseSse(out.toString(StandardCharsets.UTF_8));
        JsonNode first = chunks.get(0);
        assertEquals("assistant", first.at("/choices/0/delta/role").asText());
        StringBuilder text = new StringBuilder();
        for (JsonNode c : chunks) {
            assertEquals(first.get("id"), c.get("id"), "one id across chunks");
            assertEquals(first.get("created"), c.get("created"), "one created across chunks");
            assertEquals("chat.completion.chunk", c.get("object").asText());
            if (c.get("choices").size() > 0) {
                text.append(c.at("/choices/0/delta/content").asText(""));
                assertTrue(c.get("usage").isNull(), "usage is null on every chunk but the last");
            }
        }
        JsonNode finish = chunks.get(chunks.size() - 2);
        assertTrue(finish.at("/choices/0/delta").isEmpty());
        assertFalse(finish.at("/choices/0/finish_reason").isNull());
        JsonNode usage = chunks.get(chunks.size() - 1);
        assertEquals(0, usage.get("choices").size());
        ChatCompletion whole = (ChatCompletion) service.chat(ChatCompletionRequest.parse(body(
                        req.replace("'stream': true, 'stream_options': {'include_usage': true}", "'stream': false"))))
                .await();
        assertEquals(
                whole.choices().get(0).message().content(), text.toString(), "the streamed text is the whole answer");
        assertEquals(
                whole.usage().completionTokens(),
                usage.at("/usage/completion_tokens").asInt());
        assertEquals(
                whole.choices().get(0).finishReason(),
                finish.at("/choices/0/finish_reason").asText());
    }

    @Test
    void aCompletionStreamWithDiffusingSendsADraftPerStep() throws IOException {
        PendingGeneration p = service.completion(
                CompletionRequest.parse(
                        body(
                                "{'model': 'tiny', 'prompt': 'The', 'max_tokens': 16, 'steps': 8, 'block_length': 8, 'stream': true, 'diffusing': true}")));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        p.streamTo(out);
        List<JsonNode> chunks = parseSse(out.toString(StandardCharsets.UTF_8));
        List<JsonNode> drafts = chunks.stream().filter(c -> c.has("draft")).toList();
        assertFalse(drafts.isEmpty());
        assertEquals(0, drafts.get(0).at("/draft/block").asInt());
        assertEquals(0, drafts.get(0).at("/draft/step").asInt());
        assertTrue(drafts.get(0).at("/draft/masked").asInt() > 0, "the first draft still has masks");
        assertTrue(drafts.get(0).at("/draft/text").asText().contains(Draft.MASK_GLYPH));
        for (JsonNode c : chunks) {
            assertEquals("text_completion", c.get("object").asText());
            assertNull(c.get("usage"), "no usage field without include_usage");
        }
        assertFalse(chunks.get(chunks.size() - 1).at("/choices/0/finish_reason").isNull());
    }

    @Test
    void concurrentRequestsShareForwardPassesAndGetTheirOwnAnswers() throws Exception {
        List<String> prompts = List.of("a", "The cat", "def f(x):", "1, 2, 3,");
        List<PendingGeneration> pending = new ArrayList<>();
        for (String prompt : prompts) {
            pending.add(service.completion(
                    CompletionRequest.parse(body("{'model': 'tiny', 'prompt': '" + prompt + "', 'max_tokens': 32}"))));
        }
        for (int i = 0; i < prompts.size(); i++) {
            Completion batched = (Completion) pending.get(i).await();
            Generation alone =
                    engine.generate(continuation(prompts.get(i)).length(32).build(), null);
            assertEquals(alone.text(), batched.choices().get(0).text(), "prompt " + prompts.get(i));
        }
    }

    @Test
    void aFullQueueRefusesWith429AndRetryAfter() throws Exception {
        try (BatchScheduler one = new BatchScheduler(engine, 1, 0, SchedulerObserver.NONE)) {
            OpenAiService small = new OpenAiService(
                    List.of(new ServedModel("tiny", engine, one, 0)), ServingLimits.defaults(), Clock.systemUTC());
            byte[] slow =
                    body("{'model': 'tiny', 'prompt': 'x', 'max_tokens': 256, 'block_length': 256, 'steps': 256}");
            PendingGeneration running = small.completion(CompletionRequest.parse(slow));
            ApiException refused =
                    assertThrows(ApiException.class, () -> small.completion(CompletionRequest.parse(slow)));
            assertEquals(429, refused.httpStatus());
            assertEquals("queue_full", refused.code());
            assertTrue(refused.retryAfterSeconds() > 0);
            running.cancel();
            assertEquals(
                    "cancelled",
                    assertThrows(ApiException.class, running::await).code());
        }
    }

    @Test
    void aClientThatGoesAwayStopsItsGeneration() throws Exception {
        PendingGeneration p = service.completion(
                CompletionRequest.parse(
                        body(
                                "{'model': 'tiny', 'prompt': 'x', 'max_tokens': 256, 'block_length': 8, 'steps': 256, 'stream': true}")));
        OutputStream broken = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                throw new IOException("Broken pipe");
            }
        };
        assertThrows(IOException.class, () -> p.streamTo(broken));
        long t = System.nanoTime();
        ApiException e = assertThrows(ApiException.class, p::await);
        assertEquals("cancelled", e.code());
        assertTrue(System.nanoTime() - t < TimeUnit.SECONDS.toNanos(30));
    }

    @Test
    void cfgScaleRunsOnAPackageWithFullLogits() {
        try (Engine full = Engine.open(
                        ReferencePackages.tinyLladaWithLogits(),
                        RuntimeOptions.defaults().withIntraOpThreads(1));
                BatchScheduler s = new BatchScheduler(full, 2, 2, SchedulerObserver.NONE)) {
            OpenAiService withLogits = new OpenAiService(
                    List.of(new ServedModel("tiny-logits", full, s, 0)), ServingLimits.defaults(), Clock.systemUTC());
            Completion c = (Completion) withLogits
                    .completion(CompletionRequest.parse(
                            body("{'model': 'tiny-logits', 'prompt': 'def', 'max_tokens': 8, 'cfg_scale': 1.5}")))
                    .await();
            Generation direct =
                    full.generate(continuation("def").length(8).cfgScale(1.5).build(), null);
            assertEquals(direct.text(), c.choices().get(0).text());
        }
    }

    @Test
    void aFailureAfterTheStreamBeganIsAnErrorEvent() throws Exception {
        BatchScheduler closing = new BatchScheduler(engine, 1, 1, SchedulerObserver.NONE);
        OpenAiService s = new OpenAiService(
                List.of(new ServedModel("tiny", engine, closing, 0)), ServingLimits.defaults(), Clock.systemUTC());
        PendingGeneration p = s.chat(
                ChatCompletionRequest.parse(
                        body(
                                "{'model': 'tiny', 'messages': [{'role': 'user', 'content': 'x'}], 'max_tokens': 256, 'block_length': 8, 'steps': 256, 'stream': true}")));
        closing.close();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        p.streamTo(out);
        String stream = out.toString(StandardCharsets.UTF_8);
        String last = stream.substring(stream.lastIndexOf("data: "));
        assertFalse(stream.contains("[DONE]"));
        JsonNode error = Json.mapper().readTree(last.substring(6)).get("error");
        assertEquals("server_error", error.get("type").asText());
        assertEquals("unavailable", error.get("code").asText());
        assertTrue(error.has("param"));
    }

    @Test
    void requestsForAnUnknownModelAre404() {
        ApiException e = assertThrows(
                ApiException.class,
                () -> service.completion(CompletionRequest.parse(body("{'model': 'gpt-4', 'prompt': 'x'}"))));
        assertEquals(404, e.httpStatus());
        assertEquals("model", e.param());
    }

    @Test
    void aPromptLongerThanTheContextIs400() {
        String longPrompt = "word ".repeat(600);
        ApiException e = assertThrows(
                ApiException.class,
                () -> service.completion(CompletionRequest.parse(
                        body("{'model': 'tiny', 'prompt': '" + longPrompt + "', 'max_tokens': 16}"))));
        assertEquals(400, e.httpStatus());
        assertEquals("context_length_exceeded", e.code());
    }

    @Test
    void aPromptLongerThanAnyCanvasIsRefusedBeforeItIsTokenizedNamingTheFieldAsSent() {
        String huge = "word ".repeat(2_000_000); // 10 M characters: seconds of tokenizing, were it tokenized
        long most = 511L * engine.charsPerToken().max();
        ApiException completion = assertThrows(
                ApiException.class, () -> service.completion(new CompletionRequest("tiny", huge, null, params(8))));
        assertEquals(400, completion.httpStatus());
        assertEquals("context_length_exceeded", completion.code());
        assertEquals("prompt", completion.param());
        assertTrue(
                completion.getMessage().contains("'prompt' must be at most " + most + " characters"),
                completion.getMessage());
        assertTrue(completion.getMessage().endsWith("got " + huge.length() + " characters"), completion.getMessage());
        ApiException infill = assertThrows(
                ApiException.class,
                () -> service.completion(new CompletionRequest("tiny", "def f():", huge, params(8))));
        assertEquals("prompt", infill.param(), "prefix and suffix are the prompt");
        ApiException chat = assertThrows(
                ApiException.class,
                () -> service.chat(new ChatCompletionRequest("tiny", List.of(ChatMessage.user(huge)), params(8))));
        assertEquals("context_length_exceeded", chat.code());
        assertEquals("messages", chat.param());
        assertTrue(chat.getMessage().contains("characters"), chat.getMessage());

        String justOver = "word ".repeat(600); // within the bound: counted in tokens, as before
        ApiException tokens = assertThrows(
                ApiException.class, () -> service.completion(new CompletionRequest("tiny", justOver, null, params(8))));
        assertEquals("prompt", tokens.param());
        assertTrue(tokens.getMessage().endsWith("tokens"), tokens.getMessage());
    }

    @Test
    void aFullServerRefusesWith429BeforeItReadsThePrompt() throws Exception {
        try (BatchScheduler one = new BatchScheduler(engine, 1, 0, SchedulerObserver.NONE)) {
            OpenAiService small = new OpenAiService(
                    List.of(new ServedModel("tiny", engine, one, 0)), ServingLimits.defaults(), Clock.systemUTC());
            PendingGeneration running = small.completion(CompletionRequest.parse(
                    body("{'model': 'tiny', 'prompt': 'x', 'max_tokens': 256, 'block_length': 256, 'steps': 256}")));
            ApiException refused = assertThrows(
                    ApiException.class,
                    () -> small.completion(new CompletionRequest("tiny", "word ".repeat(600), null, params(8))));
            assertEquals(429, refused.httpStatus(), "no tokenizing to find the prompt too long: " + refused);
            assertThrows(QueueFullException.class, one::admit, "the check servers make before any work");
            running.cancel();
            assertThrows(ApiException.class, running::await);
        }
    }

    static GenerationParams params(int maxTokens) {
        return new GenerationParams(maxTokens, null, null, null, null, false, false, null);
    }

    /** The text a client assembles from a stream's content deltas. */
    static String streamedText(PendingGeneration p) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        p.streamTo(out);
        StringBuilder text = new StringBuilder();
        for (JsonNode c : parseSse(out.toString(StandardCharsets.UTF_8))) {
            JsonNode choice = c.at("/choices/0");
            text.append(
                    choice.has("delta")
                            ? choice.at("/delta/content").asText("")
                            : choice.path("text").asText(""));
        }
        return text.toString();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiter = '|',
            quoteCharacter = '"',
            value = {
                "a sampled continuation | /v1/completions      | {'model': 'tiny', 'prompt': 'def add(a, b):', 'max_tokens': 48, 'block_length': 8, 'temperature': 0.9, 'seed': 5}",
                "stop sequences         | /v1/completions      | {'model': 'tiny', 'prompt': 'def add(a, b):', 'max_tokens': 64, 'block_length': 8, 'temperature': 0.9, 'seed': 3, 'stop': ['get', 'x)', 'return']}",
                "an infill              | /v1/completions      | {'model': 'tiny', 'prompt': 'def square(x):\\n', 'suffix': '\\n\\ndef cube(x):\\n', 'max_tokens': 40, 'block_length': 8, 'temperature': 0.7, 'seed': 9}",
                "an infill with a stop  | /v1/completions      | {'model': 'tiny', 'prompt': 'x = ', 'suffix': '\\n', 'max_tokens': 24, 'block_length': 4, 'temperature': 1.0, 'seed': 11, 'stop': ['(']}",
                "a chat                 | /v1/chat/completions | {'model': 'tiny', 'messages': [{'role': 'user', 'content': 'Hi'}], 'max_tokens': 40, 'block_length': 8, 'temperature': 0.9, 'seed': 2}",
            })
    void theStreamedTextConcatenatedIsThePlainAnswer(String name, String path, String request) throws IOException {
        boolean chat = path.contains("chat");
        for (long seed = 0; seed < 4; seed++) {
            String req = request.replaceAll("'seed': \\d+", "'seed': " + seed);
            String plain;
            String streamed;
            if (chat) {
                plain = ((ChatCompletion) service.chat(ChatCompletionRequest.parse(body(req)))
                                .await())
                        .choices()
                        .get(0)
                        .message()
                        .content();
                streamed = streamedText(service.chat(ChatCompletionRequest.parse(body(streamOf(req)))));
            } else {
                plain = ((Completion) service.completion(CompletionRequest.parse(body(req)))
                                .await())
                        .choices()
                        .get(0)
                        .text();
                streamed = streamedText(service.completion(CompletionRequest.parse(body(streamOf(req)))));
            }
            assertEquals(plain, streamed, name + ", seed " + seed);
        }
    }

    /** The same request body with {@code "stream": true}. */
    static String streamOf(String req) {
        return req.substring(0, req.lastIndexOf('}')) + ", 'stream': true}";
    }

    @Test
    void aStopSequenceEndsTheStreamAndThePlainAnswerAlikeBeforeTheStop() throws IOException {
        String req =
                "{'model': 'tiny', 'prompt': 'def add(a, b):', 'max_tokens': 64, 'block_length': 8, 'stop': ['self']}";
        Completion plain = (Completion)
                service.completion(CompletionRequest.parse(body(req))).await();
        String text = plain.choices().get(0).text();
        assertFalse(text.contains("self"), text);
        assertEquals("stop", plain.choices().get(0).finishReason(), "the model writes 'self' within 64 tokens");
        assertEquals(text, streamedText(service.completion(CompletionRequest.parse(body(streamOf(req))))));
    }

    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            quoteCharacter = '"',
            value = {
                "'max_tokens': 0                | max_tokens           | 'max_tokens' must be between 1 and 512",
                "'top_p': 0                     | top_p                | 'top_p' must be in (0, 1]",
                "'steps': 0                     | steps                | 'steps' must be between 2",
                "'block_length': 0              | block_length         | 'block_length' must be between 1 and 512",
                "'confidence_threshold': 1.5    | confidence_threshold | 'confidence_threshold' must be in (0, 1]",
                "'cfg_scale': -1                | cfg_scale            | 'cfg_scale' must be between 0 (off) and 100",
                "'stop': ['']                   | stop                 | 'stop' must be a non-empty text",
            })
    void valuesOutOfRangeAre400sFromThePlannerInTheApisWords(String field, String param, String message) {
        ApiException e = assertThrows(
                ApiException.class,
                () -> service.chat(ChatCompletionRequest.parse(
                        body("{'model': 'tiny', 'messages': [{'role': 'user', 'content': 'x'}], " + field + "}"))));
        assertEquals(400, e.httpStatus());
        assertEquals(param, e.param());
        assertEquals("invalid_value", e.code());
        assertTrue(e.getMessage().startsWith(message), e.getMessage());
        assertTrue(e.getMessage().contains("e.g. \"" + param + "\": "), e.getMessage());
    }
}
