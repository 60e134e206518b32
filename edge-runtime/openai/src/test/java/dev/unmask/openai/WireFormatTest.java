package dev.unmask.openai;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.NullNode;
import dev.unmask.failure.Failure;
import dev.unmask.failure.UnmaskException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The bytes every response record becomes, compared with what OpenAI sends. */
class WireFormatTest {

    static String q(String s) {
        return s.replace('\'', '"');
    }

    @Test
    void aChatCompletion() {
        ChatCompletion c = ChatCompletion.of("chatcmpl-1", 1700000000L, "tiny", "Hello!", "stop", Usage.of(9, 3));
        assertEquals(
                q("{'id':'chatcmpl-1','object':'chat.completion','created':1700000000,'model':'tiny',"
                        + "'choices':[{'index':0,'message':{'role':'assistant','content':'Hello!'},'finish_reason':'stop','logprobs':null}],"
                        + "'usage':{'prompt_tokens':9,'completion_tokens':3,'total_tokens':12}}"),
                Json.write(c));
    }

    @Test
    void chatChunksCarryRoleFirstThenContentThenAnEmptyDeltaWithTheFinishReason() {
        var first = new ChatCompletionChunk(
                "c",
                ChatCompletionChunk.OBJECT,
                5,
                "m",
                List.of(new ChatCompletionChunk.Choice(0, new ChatCompletionChunk.Delta("assistant", ""), null, null)),
                null,
                null);
        assertEquals(
                q(
                        "{'id':'c','object':'chat.completion.chunk','created':5,'model':'m',"
                                + "'choices':[{'index':0,'delta':{'role':'assistant','content':''},'logprobs':null,'finish_reason':null}]}"),
                Json.write(first));
        var last = new ChatCompletionChunk(
                "c",
                ChatCompletionChunk.OBJECT,
                5,
                "m",
                List.of(new ChatCompletionChunk.Choice(0, ChatCompletionChunk.Delta.EMPTY, null, "length")),
                NullNode.getInstance(),
                null);
        assertEquals(
                q("{'id':'c','object':'chat.completion.chunk','created':5,'model':'m',"
                        + "'choices':[{'index':0,'delta':{},'logprobs':null,'finish_reason':'length'}],'usage':null}"),
                Json.write(last));
        var usage = new ChatCompletionChunk("c", ChatCompletionChunk.OBJECT, 5, "m", List.of(), Usage.of(1, 2), null);
        assertEquals(
                q("{'id':'c','object':'chat.completion.chunk','created':5,'model':'m','choices':[],"
                        + "'usage':{'prompt_tokens':1,'completion_tokens':2,'total_tokens':3}}"),
                Json.write(usage));
    }

    @Test
    void aDraftIsAnExtraFieldOnAChunkWithAnEmptyDelta() {
        var draft = new ChatCompletionChunk(
                "c",
                ChatCompletionChunk.OBJECT,
                5,
                "m",
                List.of(new ChatCompletionChunk.Choice(0, ChatCompletionChunk.Delta.EMPTY, null, null)),
                null,
                new Draft(0, 3, "def \u2591\u2591", 2));
        assertTrue(
                Json.write(draft)
                        .endsWith(q("'delta':{},'logprobs':null,'finish_reason':null}],"
                                + "'draft':{'block':0,'step':3,'text':'def \u2591\u2591','masked':2}}")),
                Json.write(draft));
    }

    @Test
    void aDraftCarriesTheStepThatCommittedEachPositionNullWhileMasked() {
        assertEquals(
                q("{'block':0,'step':1,'text':'def \u2591\u2591','masked':2,'committed_at_step':[0,2,null,null]}"),
                Json.write(new Draft(0, 1, "def \u2591\u2591", 2, java.util.Arrays.asList(0, 2, null, null))));
    }

    @Test
    void aTextCompletion() {
        assertEquals(
                q("{'id':'cmpl-1','object':'text_completion','created':7,'model':'m',"
                        + "'choices':[{'text':' x','index':0,'logprobs':null,'finish_reason':'length'}],"
                        + "'usage':{'prompt_tokens':2,'completion_tokens':1,'total_tokens':3}}"),
                Json.write(Completion.of("cmpl-1", 7, "m", " x", "length", Usage.of(2, 1))));
    }

    @Test
    void theModelList() {
        assertEquals(
                q("{'object':'list','data':[{'id':'tiny','object':'model','created':3,'owned_by':'unmask'}]}"),
                Json.write(ModelList.of(List.of(ModelList.Model.of("tiny", 3, "unmask")))));
    }

    @Test
    void errorsHaveOpenAisShapeWithNullsKept() {
        assertEquals(
                q("{'error':{'message':'m','type':'invalid_request_error','param':null,'code':null}}"),
                Json.write(ApiError.of("m", "invalid_request_error", null, null)));
    }

    @Test
    void sseEventsAreDataLinesEndedByABlankLineAndTheStreamEndsWithDone() {
        assertEquals(
                "data: {\"block\":1,\"step\":2,\"text\":\"a\\nb\",\"masked\":0}\n\n",
                Sse.event(new Draft(1, 2, "a\nb", 0)));
        assertEquals("data: [DONE]\n\n", Sse.DONE);
    }

    @Test
    void everyFailureMapsToOneStatus() {
        assertEquals(429, Errors.toApi(new QueueFullException(3, 2)).httpStatus());
        assertEquals(2, Errors.toApi(new QueueFullException(3, 2)).retryAfterSeconds());
        assertEquals(
                "rate_limit_error",
                Errors.toApi(new QueueFullException(3, 2)).body().error().type());
        assertEquals(400, Errors.toApi(new IllegalArgumentException("bad")).httpStatus());
        assertEquals(
                503,
                Errors.toApi(new UnmaskException(Failure.SHUTTING_DOWN, "Stopping"))
                        .httpStatus());
        assertEquals(
                500,
                Errors.toApi(new IllegalStateException("The server is shutting down"))
                        .httpStatus(),
                "the kind is the type, not the words");
        assertEquals(500, Errors.toApi(new NullPointerException()).httpStatus());
        assertEquals(
                400,
                Errors.toApi(new java.util.concurrent.CompletionException(ApiException.invalid("x", "y")))
                        .httpStatus());
        assertEquals(401, Errors.unauthorized(false).httpStatus());
        assertEquals("invalid_api_key", Errors.unauthorized(true).code());
        ApiException missing = Errors.unknownModel("gpt-4", List.of("tiny"));
        assertEquals(404, missing.httpStatus());
        assertEquals("model_not_found", missing.code());
        assertTrue(missing.getMessage().contains("\"tiny\""), missing.getMessage());
        assertEquals(503, Errors.notReady().httpStatus());
    }
}
