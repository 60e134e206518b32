package dev.unmask.openai;

import static dev.unmask.openai.OpenAiServiceTest.body;
import static dev.unmask.openai.OpenAiServiceTest.parseSse;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unmask.engine.Engine;
import dev.unmask.engine.decode.DenoisingListener;
import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.engine.request.DecodingPlan;
import dev.unmask.engine.request.GenerationRequest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code logprobs}, {@code top_logprobs}, {@code n} and {@code seed} over the real tiny package, read as a client reads
 * the JSON (OpenAI's shapes: openai-python {@code ChatCompletionTokenLogprob}, {@code CompletionChoice.Logprobs}).
 */
class LogprobsAndChoicesTest {

    static Engine engine;
    static BatchScheduler scheduler;
    static OpenAiService service;

    @BeforeAll
    static void open() {
        engine = Engine.open(
                OpenAiServiceTest.tinyPackage(), RuntimeOptions.defaults().withIntraOpThreads(1));
        scheduler = new BatchScheduler(engine, 8, 16, SchedulerObserver.NONE);
        service = new OpenAiService(
                List.of(new ServedModel("tiny", engine, scheduler, 1234)), ServingLimits.defaults(), Clock.systemUTC());
    }

    @AfterAll
    static void close() {
        scheduler.close();
        engine.close();
    }

    static JsonNode chat(String req) {
        return Json.mapper()
                .valueToTree(
                        service.chat(ChatCompletionRequest.parse(body(req))).await());
    }

    static JsonNode completion(String req) {
        return Json.mapper()
                .valueToTree(
                        service.completion(CompletionRequest.parse(body(req))).await());
    }

    static List<JsonNode> stream(PendingGeneration p) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        p.streamTo(out);
        return parseSse(out.toString(StandardCharsets.UTF_8));
    }

    static final String GREEDY_CHAT = "{'model': 'tiny', 'messages': [{'role': 'user', 'content': 'def add(a, b):'}],"
            + " 'max_tokens': 32, 'block_length': 8, 'temperature': 0, 'logprobs': true, 'top_logprobs': 3}";

    @Test
    void aGreedyChatReportsEveryTokenAsTheTopCandidateOfItsStepWithFiniteNonPositiveLogprobs() {
        JsonNode answer = chat(GREEDY_CHAT);
        JsonNode content = answer.at("/choices/0/logprobs/content");
        assertTrue(content.isArray() && content.size() > 0, answer.toString());
        assertEquals(answer.at("/usage/completion_tokens").asInt(), content.size(), "one entry per completion token");
        assertTrue(answer.at("/choices/0/logprobs").has("refusal"), "OpenAI's ChoiceLogprobs has content and refusal");
        List<Integer> bytes = new ArrayList<>();
        for (JsonNode t : content) {
            double lp = t.get("logprob").asDouble();
            assertTrue(Double.isFinite(lp) && lp <= 0, "finite and at most 0: " + t);
            assertTrue(t.get("token").isTextual());
            JsonNode top = t.get("top_logprobs");
            assertEquals(3, top.size(), "top_logprobs: 3 candidates: " + t);
            // greedy: the committed token is the most likely one at the step that committed it
            assertEquals(top.get(0).get("token"), t.get("token"), t.toString());
            assertEquals(top.get(0).get("logprob").asDouble(), lp, 1e-9);
            assertEquals(top.get(0).get("bytes"), t.get("bytes"));
            for (int r = 1; r < top.size(); r++) {
                assertTrue(top.get(r).get("logprob").asDouble()
                        <= top.get(r - 1).get("logprob").asDouble());
            }
            t.get("bytes").forEach(b -> {
                assertTrue(b.asInt() >= 0 && b.asInt() <= 255);
                bytes.add(b.asInt());
            });
        }
        byte[] joined = new byte[bytes.size()];
        for (int i = 0; i < joined.length; i++) {
            joined[i] = (byte) (int) bytes.get(i);
        }
        assertEquals(
                answer.at("/choices/0/message/content").asText(),
                new String(joined, StandardCharsets.UTF_8),
                "the tokens' bytes joined are the answer's UTF-8");
    }

    @Test
    void withoutLogprobsTheFieldIsNullAndTopLogprobsZeroGivesNoCandidates() {
        assertTrue(chat(GREEDY_CHAT.replace(", 'logprobs': true, 'top_logprobs': 3", ""))
                .at("/choices/0/logprobs")
                .isNull());
        JsonNode content = chat(GREEDY_CHAT.replace("'top_logprobs': 3", "'top_logprobs': 0"))
                .at("/choices/0/logprobs/content");
        assertTrue(content.size() > 0);
        content.forEach(t -> assertEquals(0, t.get("top_logprobs").size()));
    }

    @Test
    void aCompletionsLogprobsIsOpenAisParallelListsWithTextOffsetsFromThePromptsStart() {
        String prompt = "def add(a, b):";
        JsonNode answer = completion("{'model': 'tiny', 'prompt': '" + prompt
                + "', 'max_tokens': 24, 'block_length': 8," + " 'temperature': 0.8, 'seed': 4, 'logprobs': 2}");
        JsonNode lp = answer.at("/choices/0/logprobs");
        Set<String> fields = new HashSet<>();
        lp.fieldNames().forEachRemaining(fields::add);
        assertEquals(Set.of("tokens", "token_logprobs", "top_logprobs", "text_offset"), fields);
        int n = lp.get("tokens").size();
        assertEquals(answer.at("/usage/completion_tokens").asInt(), n);
        assertEquals(n, lp.get("token_logprobs").size());
        assertEquals(n, lp.get("top_logprobs").size());
        assertEquals(n, lp.get("text_offset").size());
        assertEquals(prompt.length(), lp.at("/text_offset/0").asInt(), "offsets count from the prompt's start");
        for (int i = 0; i < n; i++) {
            double v = lp.at("/token_logprobs/" + i).asDouble();
            assertTrue(Double.isFinite(v) && v <= 0, lp.toString());
            JsonNode top = lp.at("/top_logprobs/" + i);
            assertTrue(top.isObject() && top.size() >= 1 && top.size() <= 2, "a {token: logprob} map of at most 2");
            if (i > 0) {
                assertTrue(lp.at("/text_offset/" + i).asInt()
                        >= lp.at("/text_offset/" + (i - 1)).asInt());
            }
        }
        String text = answer.at("/choices/0/text").asText();
        StringBuilder joined = new StringBuilder();
        lp.get("tokens").forEach(t -> joined.append(t.asText()));
        assertEquals(text, joined.toString(), "the tokens spell the text (no character of it is split here)");
    }

    @Test
    void moreCandidatesThanThePackagesHeadReturnsIsA400NamingTheField() {
        int topK = engine.manifest().graph().topK();
        ApiException e = assertThrows(
                ApiException.class,
                () -> service.chat(ChatCompletionRequest.parse(
                        body(GREEDY_CHAT.replace("'top_logprobs': 3", "'top_logprobs': " + (topK + 1))))));
        assertEquals(400, e.httpStatus());
        assertEquals("top_logprobs", e.param());
        assertTrue(e.getMessage().contains("at most " + topK), e.getMessage());
    }

    static final String SAMPLED = "{'model': 'tiny', 'prompt': 'import', 'max_tokens': 24, 'block_length': 8,"
            + " 'temperature': 0.9, 'seed': 11";

    @Test
    void nChoicesDifferBySeedAndChoiceIIsTheSingleAnswerWithSeedPlusI() {
        JsonNode three = completion(SAMPLED + ", 'n': 3}");
        JsonNode choices = three.get("choices");
        assertEquals(3, choices.size());
        Set<String> texts = new HashSet<>();
        int completionTokens = 0;
        for (int i = 0; i < 3; i++) {
            assertEquals(i, choices.get(i).get("index").asInt());
            JsonNode single = completion(SAMPLED.replace("'seed': 11", "'seed': " + (11 + i)) + "}");
            assertEquals(
                    single.at("/choices/0/text").asText(),
                    choices.get(i).get("text").asText(),
                    "choice " + i + " is the n = 1 answer with seed 11 + " + i);
            assertEquals(single.at("/usage/prompt_tokens"), three.at("/usage/prompt_tokens"), "the prompt counts once");
            completionTokens += single.at("/usage/completion_tokens").asInt();
            texts.add(choices.get(i).get("text").asText());
        }
        assertTrue(texts.size() > 1, "different seeds, different answers: " + texts);
        assertEquals(completionTokens, three.at("/usage/completion_tokens").asInt(), "usage sums the choices");
        assertEquals(three.get("choices"), completion(SAMPLED + ", 'n': 3}").get("choices"), "reproducible");
    }

    @Test
    void aStreamOfNChoicesCarriesEachIndexWithItsTextLogprobsAndFinish() throws IOException {
        String req = "{'model': 'tiny', 'messages': [{'role': 'user', 'content': 'Hi'}], 'max_tokens': 32,"
                + " 'block_length': 8, 'temperature': 0.9, 'seed': 3, 'n': 2, 'logprobs': true, 'top_logprobs': 2";
        JsonNode whole = chat(req + "}");
        List<JsonNode> chunks = stream(service.chat(ChatCompletionRequest.parse(
                body(req + ", 'stream': true, 'stream_options': {'include_usage': true}}"))));
        Map<Integer, StringBuilder> text = new TreeMap<>();
        Map<Integer, List<JsonNode>> logprobs = new TreeMap<>();
        Map<Integer, Integer> roles = new TreeMap<>();
        Map<Integer, String> finish = new TreeMap<>();
        for (JsonNode c : chunks) {
            for (JsonNode choice : c.get("choices")) {
                int index = choice.get("index").asInt();
                assertTrue(index == 0 || index == 1, c.toString());
                if (choice.at("/delta/role").isTextual()) {
                    roles.merge(index, 1, Integer::sum);
                }
                text.computeIfAbsent(index, i -> new StringBuilder())
                        .append(choice.at("/delta/content").asText(""));
                choice.at("/logprobs/content")
                        .forEach(t -> logprobs.computeIfAbsent(index, i -> new ArrayList<>())
                                .add(t));
                if (!choice.get("finish_reason").isNull()) {
                    assertFalse(finish.containsKey(index), "one finish chunk per choice");
                    finish.put(index, choice.get("finish_reason").asText());
                }
            }
        }
        assertEquals(Map.of(0, 1, 1, 1), roles, "a role chunk per choice");
        for (int i = 0; i < 2; i++) {
            JsonNode choice = whole.at("/choices/" + i);
            assertEquals(choice.at("/message/content").asText(), text.get(i).toString(), "choice " + i + "'s text");
            assertEquals(choice.get("finish_reason").asText(), finish.get(i));
            List<JsonNode> expected = new ArrayList<>();
            choice.at("/logprobs/content").forEach(expected::add);
            assertEquals(expected, logprobs.get(i), "choice " + i + "'s logprobs, chunk by chunk, are the answer's");
        }
        JsonNode usage = chunks.get(chunks.size() - 1);
        assertEquals(0, usage.get("choices").size());
        assertEquals(whole.get("usage"), usage.get("usage"), "usage counts both choices");
    }

    @Test
    void moreChoicesThanTheBatchHoldsIsA400AndAFullServerRefusesAllNBeforeWork() throws Exception {
        try (BatchScheduler two = new BatchScheduler(engine, 2, 0, SchedulerObserver.NONE)) {
            OpenAiService small = new OpenAiService(
                    List.of(new ServedModel("tiny", engine, two, 1)), ServingLimits.defaults(), Clock.systemUTC());
            ApiException tooMany = assertThrows(
                    ApiException.class, () -> small.completion(CompletionRequest.parse(body(SAMPLED + ", 'n': 3}"))));
            assertEquals(400, tooMany.httpStatus());
            assertEquals("n", tooMany.param());
            // one row of two is taken (its run waits in its first step): n = 2 no longer fits, n = 1 would
            CountDownLatch release = new CountDownLatch(1);
            CountDownLatch stepping = new CountDownLatch(1);
            DecodingPlan plan = engine.plan(GenerationRequest.builder(new GenerationRequest.Prompt.Continuation("x"))
                    .length(8)
                    .build());
            BatchScheduler.Ticket held = two.submit(plan, new DenoisingListener() {
                @Override
                public void onStep(StepEvent event) {
                    stepping.countDown();
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            });
            stepping.await();
            ApiException full = assertThrows(
                    ApiException.class, () -> small.completion(CompletionRequest.parse(body(SAMPLED + ", 'n': 2}"))));
            assertEquals(429, full.httpStatus());
            assertTrue(two.hasRoom(), "one place is still free");
            release.countDown();
            held.result().get();
        }
    }
}
