package dev.unmask.openai;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * The request bodies both servers read from the network, fuzzed: whatever the bytes, parsing a chat or a completions
 * request either succeeds or throws an {@link ApiException} whose status is a 4xx and whose OpenAI error body can be
 * written; never another exception (which the servers would answer with a 500).
 *
 * <p>Without {@code JAZZER_FUZZ} each target runs once per saved input under
 * {@code src/test/resources/dev/unmask/openai/RequestJsonFuzzTestInputs/<target>/} (seeds and past findings), as an
 * ordinary test. {@code JAZZER_FUZZ=1 ./mvnw -o -pl edge-runtime/openai -am test -Dtest='RequestJsonFuzzTest#chat'
 * -Dsurefire.failIfNoSpecifiedTests=false -Djazzer.max_duration=3m} fuzzes one target; a failing input is saved
 * there as {@code crash-<sha1>}, and stays a regression case once committed.
 */
class RequestJsonFuzzTest {

    @FuzzTest(maxDuration = "3m")
    void chat(byte[] body) {
        parsesOrRefuses(body, ChatCompletionRequest::parse);
    }

    @FuzzTest(maxDuration = "3m")
    void completions(byte[] body) {
        parsesOrRefuses(body, CompletionRequest::parse);
    }

    /**
     * Known before fuzzing (issue 12, item 6): a body nested deeper than Jackson's 1000 levels gave a 500
     * (NullPointerException in {@link Json#readObject}); now refused at {@link Json#MAX_NESTING_DEPTH}.
     */
    @Test
    void jsonNestedDeeperThanTheParserTakesIsRefusedWithA400() {
        String deep = "[".repeat(1001) + "]".repeat(1001);
        parsesOrRefuses(
                ("{\"model\": \"tiny-llada\", \"messages\": " + deep + "}").getBytes(UTF_8),
                ChatCompletionRequest::parse);
        parsesOrRefuses(
                ("{\"model\": \"tiny-llada\", \"prompt\": " + deep + "}").getBytes(UTF_8), CompletionRequest::parse);
    }

    /** The contract of a request parser at the edge: a request, or a 4xx the client can read. */
    static void parsesOrRefuses(byte[] body, Function<byte[], ?> parse) {
        Object request;
        try {
            request = parse.apply(body);
        } catch (ApiException e) {
            int status = e.httpStatus();
            assertTrue(status >= 400 && status < 500, () -> "a " + status + " for a bad body: " + e.getMessage());
            assertFalse(e.getMessage().isBlank(), "the error says what to send instead");
            String json = Json.write(e.body());
            assertTrue(json.startsWith("{\"error\":{"), json);
            return;
        }
        assertNotNull(request);
        if (request instanceof ChatCompletionRequest chat) {
            assertFalse(chat.messages().isEmpty(), "a parsed chat request has messages");
            assertNotNull(chat.params());
        } else if (request instanceof CompletionRequest completion) {
            assertNotNull(completion.prompt());
            assertNotNull(completion.params());
        } else {
            assertEquals(ChatCompletionRequest.class, request.getClass(), "unexpected request type");
        }
    }
}
