package dev.unmask.openai;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.engine.decode.Remasking;
import dev.unmask.engine.text.ChatMessage;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RequestParsingTest {

    static byte[] json(String s) {
        return s.replace('\'', '"').getBytes(StandardCharsets.UTF_8);
    }

    static ApiException chatError(String body) {
        return assertThrows(ApiException.class, () -> ChatCompletionRequest.parse(json(body)));
    }

    static ApiException completionError(String body) {
        return assertThrows(ApiException.class, () -> CompletionRequest.parse(json(body)));
    }

    @Test
    void aMinimalChatRequestTakesEveryDefault() {
        ChatCompletionRequest r =
                ChatCompletionRequest.parse(json("{'model': 'tiny', 'messages': [{'role': 'user', 'content': 'Hi'}]}"));
        assertEquals("tiny", r.model());
        assertEquals(List.of(ChatMessage.user("Hi")), r.messages());
        GenerationParams p = r.params();
        assertNull(p.maxTokens());
        assertNull(p.temperature());
        assertFalse(p.stream());
        assertEquals(DiffusionControls.NONE, p.diffusion());
    }

    @Test
    void chatReadsEverySupportedFieldAndTheDiffusionExtras() {
        ChatCompletionRequest r = ChatCompletionRequest.parse(json("{'model': 'tiny', 'messages': ["
                + "{'role': 'developer', 'content': 'Be brief'},"
                + "{'role': 'user', 'content': [{'type': 'text', 'text': 'Hel'}, {'type': 'text', 'text': 'lo'}]}],"
                + "'max_completion_tokens': 48, 'temperature': 0.5, 'top_p': 0.9, 'stop': 'END', 'seed': 7,"
                + "'stream': true, 'stream_options': {'include_usage': true}, 'n': 1, 'logprobs': false,"
                + "'presence_penalty': 0, 'user': 'someone', 'metadata': {'a': 'b'},"
                + "'steps': 24, 'block_length': 16, 'remasking': 'random', 'confidence_threshold': 0.9,"
                + "'cfg_scale': 0.0, 'diffusing': true}"));
        assertEquals(List.of(ChatMessage.system("Be brief"), ChatMessage.user("Hello")), r.messages());
        GenerationParams p = r.params();
        assertEquals(48, p.maxTokens());
        assertEquals(0.5, p.temperature());
        assertEquals(0.9, p.topP());
        assertEquals(List.of("END"), p.stop());
        assertEquals(7L, p.seed());
        assertTrue(p.stream());
        assertTrue(p.includeUsage());
        assertEquals(new DiffusionControls(24, 16, Remasking.RANDOM, 0.9, 0.0, true), p.diffusion());
    }

    @Test
    void completionReadsPromptSuffixAndAOneElementPromptArray() {
        CompletionRequest r = CompletionRequest.parse(
                json(
                        "{'model': 'tiny', 'prompt': ['def f():'], 'suffix': '    return 1', 'max_tokens': 16, 'stop': ['a', 'b']}"));
        assertEquals("def f():", r.prompt());
        assertEquals("    return 1", r.suffix());
        assertEquals(16, r.params().maxTokens());
        assertEquals(List.of("a", "b"), r.params().stop());
        assertNull(
                CompletionRequest.parse(json("{'model': 'tiny', 'prompt': 'x', 'suffix': ''}"))
                        .suffix(),
                "an empty suffix is a plain continuation");
    }

    @Test
    void integralFloatsReadAsIntegers() {
        assertEquals(
                64,
                CompletionRequest.parse(json("{'model': 'm', 'prompt': 'x', 'max_tokens': 64.0}"))
                        .params()
                        .maxTokens());
    }

    @Test
    void malformedJsonIsA400SayingWhereItBreaksWithAnExample() {
        ApiException e = chatError("{'model': 'tiny',");
        assertEquals(400, e.httpStatus());
        assertEquals("invalid_request_error", e.body().error().type());
        assertEquals("invalid_json", e.code());
        assertTrue(e.getMessage().contains("line 1"), e.getMessage());
        assertTrue(e.getMessage().contains(ChatCompletionRequest.EXAMPLE), e.getMessage());
        assertEquals("invalid_json", chatError("[1, 2]").code());
        assertEquals(
                "invalid_json",
                assertThrows(ApiException.class, () -> ChatCompletionRequest.parse(new byte[0]))
                        .code());
        assertEquals(
                "invalid_json", chatError("{'model': 'a', 'messages': []} {}").code(), "trailing tokens");
    }

    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            quoteCharacter = '"',
            value = {
                "{'model': 7, 'messages': [{'role': 'user', 'content': 'x'}]}                       | model                | a string",
                "{'model': 'm', 'messages': 'hello'}                                                | messages             | an array",
                "{'model': 'm', 'messages': [{'role': 'user', 'content': 5}]}                        | messages[0].content  | a string or an array",
                "{'model': 'm', 'messages': [{'role': 'user', 'content': 'x'}], 'max_tokens': 'ten'} | max_tokens           | an integer",
                "{'model': 'm', 'messages': [{'role': 'user', 'content': 'x'}], 'max_tokens': 1.5}   | max_tokens           | an integer",
                "{'model': 'm', 'messages': [{'role': 'user', 'content': 'x'}], 'temperature': '1'}  | temperature          | a number",
                "{'model': 'm', 'messages': [{'role': 'user', 'content': 'x'}], 'stream': 'yes'}     | stream               | true or false",
                "{'model': 'm', 'messages': [{'role': 'user', 'content': 'x'}], 'stop': 3}           | stop                 | a string or an array",
                "{'model': 'm', 'messages': [{'role': 'user', 'content': 'x'}], 'steps': 'many'}     | steps                | an integer",
                "{'model': 'm', 'messages': [{'role': 'user', 'content': 'x'}], 'seed': 1.5}         | seed                 | an integer",
            })
    void aWrongTypeNamesTheFieldTheTypeAndAnExample(String body, String param, String type) {
        ApiException e = chatError(body);
        assertEquals(400, e.httpStatus());
        assertEquals(param, e.param());
        assertTrue(e.getMessage().contains("must be " + type), e.getMessage());
        assertTrue(e.getMessage().contains("e.g."), e.getMessage());
        assertTrue(e.getMessage().contains("got "), e.getMessage());
    }

    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            quoteCharacter = '"',
            value = {
                "{'messages': [{'role': 'user', 'content': 'x'}]}                                   | model",
                "{'model': 'm'}                                                                     | messages",
                "{'model': 'm', 'messages': []}                                                     | messages",
                "{'model': 'm', 'messages': [{'content': 'x'}]}                                     | messages[0].role",
                "{'model': 'm', 'messages': [{'role': 'pirate', 'content': 'x'}]}                   | messages[0].role",
                "{'model': 'm', 'messages': [{'role': 'user'}]}                                     | messages[0].content",
                "{'model': 'm', 'messages': [{'role': 'user', 'content': 'x'}], 'temperature': 2.5} | temperature",
                "{'model': 'm', 'messages': [{'role': 'user', 'content': 'x'}], 'remasking': 'best'} | remasking",
                "{'model': 'm', 'messages': [{'role': 'user', 'content': 'x'}], 'stop': ['a','b','c','d','e']} | stop",
                "{'model': 'm', 'messages': [{'role': 'user', 'content': 'x'}], 'stream_options': {'include_usage': true}} | stream_options",
                "{'model': 'm', 'messages': [{'role': 'user', 'content': 'x'}], 'diffusing': true}  | diffusing",
            })
    void missingOrOutOfRangeValuesAre400sNamingTheField(String body, String param) {
        ApiException e = chatError(body);
        assertEquals(400, e.httpStatus());
        assertEquals(param, e.param());
        assertTrue(
                e.getMessage().contains("e.g.")
                        || e.getMessage().contains("send")
                        || e.getMessage().contains("add"),
                "says what to send instead: " + e.getMessage());
    }

    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            quoteCharacter = '"',
            value = {
                "'tools': [{'type': 'function', 'function': {'name': 'f'}}] | tools",
                "'tool_choice': 'auto'                                  | tool_choice",
                "'response_format': {'type': 'json_object'}             | response_format",
                "'logit_bias': {'50256': -100}                          | logit_bias",
                "'presence_penalty': 0.5                                | presence_penalty",
                "'frequency_penalty': 1                                 | frequency_penalty",
            })
    void fieldsThatWouldChangeTheMeaningAreRefusedWithWhatToDoInstead(String field, String param) {
        ApiException e = chatError("{'model': 'm', 'messages': [{'role': 'user', 'content': 'x'}], " + field + "}");
        assertEquals(400, e.httpStatus());
        assertEquals(param, e.param());
        assertEquals("unsupported_parameter", e.code());
    }

    @Test
    void neutralValuesOfUnsupportedFieldsAreAccepted() {
        ChatCompletionRequest.parse(json("{'model': 'm', 'messages': [{'role': 'user', 'content': 'x'}], 'n': 1,"
                + "'logprobs': false, 'tools': [], 'tool_choice': 'none', 'response_format': {'type': 'text'},"
                + "'logit_bias': {}, 'frequency_penalty': 0}"));
    }

    @Test
    void toolMessagesAndImagePartsAreRefused() {
        assertEquals(
                "unsupported_parameter",
                chatError("{'model': 'm', 'messages': [{'role': 'tool', 'content': 'x'}]}")
                        .code());
        ApiException e = chatError(
                "{'model': 'm', 'messages': [{'role': 'user', 'content': [{'type': 'image_url', 'image_url': {'url': 'x'}}]}]}");
        assertEquals("messages[0].content[0]", e.param());
        assertTrue(e.getMessage().contains("only text parts"), e.getMessage());
    }

    @Test
    void completionErrors() {
        assertEquals("prompt", completionError("{'model': 'm'}").param());
        assertEquals(
                "prompt", completionError("{'model': 'm', 'prompt': [1, 2, 3]}").param());
        assertEquals(
                "unsupported_parameter",
                completionError("{'model': 'm', 'prompt': ['a', 'b']}").code());
        assertEquals(
                "echo",
                completionError("{'model': 'm', 'prompt': 'a', 'echo': true}").param());
        assertEquals(
                "best_of",
                completionError("{'model': 'm', 'prompt': 'a', 'best_of': 3}").param());
        assertEquals(
                "logprobs",
                completionError("{'model': 'm', 'prompt': 'a', 'logprobs': 21}").param());
        assertEquals(
                "logprobs",
                completionError("{'model': 'm', 'prompt': 'a', 'logprobs': true}")
                        .param());
        assertEquals(
                "n", completionError("{'model': 'm', 'prompt': 'a', 'n': 9}").param());
        assertEquals(
                "suffix",
                completionError("{'model': 'm', 'prompt': 'a', 'suffix': 5}").param());
    }

    @Test
    void jsonNestedDeeperThanAnyRequestIsA400NotACrash() {
        for (int depth : new int[] {Json.MAX_NESTING_DEPTH + 1, 1001, 100_000}) {
            String deep = "[".repeat(depth) + "]".repeat(depth);
            ApiException chat = chatError("{'model': 'tiny', 'messages': " + deep + "}");
            assertEquals(400, chat.httpStatus(), depth + " levels");
            assertEquals("invalid_json", chat.code());
            assertTrue(chat.getMessage().contains("nests deeper than " + Json.MAX_NESTING_DEPTH), chat.getMessage());
            assertEquals(
                    "invalid_json",
                    completionError("{'model': 'tiny', 'prompt': 'x', 'stop': " + deep + "}")
                            .code());
        }
        ChatCompletionRequest.parse(
                json("{'model': 'tiny', 'messages': [{'role': 'user', 'content': [{'type': 'text', 'text': 'Hi'}]}]}"));
    }
}
