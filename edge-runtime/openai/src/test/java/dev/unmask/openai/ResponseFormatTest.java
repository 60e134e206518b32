package dev.unmask.openai;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

/** {@code response_format} as OpenAI's clients send it: text, json_schema's schema for the engine, json_object refused. */
class ResponseFormatTest {

    static final String CHAT = "{'model': 'm', 'messages': [{'role': 'user', 'content': 'x'}], ";

    static ChatCompletionRequest chat(String rest) {
        return ChatCompletionRequest.parse(RequestParsingTest.json(CHAT + rest + "}"));
    }

    @Test
    void a_json_schema_reaches_the_engine_request_and_text_is_a_plain_answer() throws Exception {
        ChatCompletionRequest r = chat("'response_format': {'type': 'json_schema', 'json_schema': {'name': 'p', "
                + "'strict': true, 'schema': {'type': 'object', 'properties': {'a': {'type': 'integer'}}}}}");
        assertEquals(
                new ObjectMapper().readTree("{\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"integer\"}}}"),
                r.params()
                        .request(new dev.unmask.engine.request.GenerationRequest.Prompt.Continuation("x"))
                        .responseSchema());
        assertNull(chat("'response_format': {'type': 'text'}").params().responseSchema());
        assertNull(CompletionRequest.parse(RequestParsingTest.json("{'model': 'm', 'prompt': 'x'}"))
                .params()
                .responseSchema());
    }

    @Test
    void a_json_schema_without_its_schema_json_mode_and_unknown_types_are_400s_showing_a_schema_that_works() {
        for (String format : new String[] {
            "{'type': 'json_schema'}",
            "{'type': 'json_schema', 'json_schema': {'name': 'p'}}",
            "{'type': 'json_object'}",
            "{'type': 'xml'}",
            "'json'"
        }) {
            ApiException e = RequestParsingTest.chatError(CHAT + "'response_format': " + format + "}");
            assertEquals(400, e.httpStatus(), format);
            assertEquals("response_format", e.param(), format);
            assertTrue(
                    e.getMessage().contains("\"json_schema\": {\"name\": \"person\", \"schema\": {"), e.getMessage());
        }
        assertEquals(
                "unsupported_parameter",
                RequestParsingTest.chatError(CHAT + "'response_format': {'type': 'json_object'}}")
                        .code());
        assertThrows(
                ApiException.class,
                () -> chat("'response_format': {'type': 'json_schema', 'json_schema': "
                        + "{'name': 3, 'schema': {'type': 'string'}}}"));
    }
}
