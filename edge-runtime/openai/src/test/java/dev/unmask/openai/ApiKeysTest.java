package dev.unmask.openai;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The one bearer-key check both servers use. */
class ApiKeysTest {

    @Test
    void withoutKeysEveryRequestPasses() {
        assertTrue(ApiKeys.none().accepts(null));
        assertTrue(ApiKeys.of(List.of("", " ")).accepts(null), "blank keys configure nothing");
        assertFalse(ApiKeys.of(List.of("", " ")).required());
    }

    @Test
    void onlyABearerOfAConfiguredKeyPasses() {
        ApiKeys keys = ApiKeys.of(List.of("sk-one", "sk-two"));
        assertTrue(keys.accepts("Bearer sk-two"));
        assertTrue(keys.accepts("bearer  sk-one "), "the scheme is case-insensitive, as RFC 6750 allows");
        assertFalse(keys.accepts("Bearer sk-on"));
        assertFalse(keys.accepts("sk-one"), "no scheme");
        assertFalse(keys.accepts("Basic sk-one"));
        assertFalse(keys.accepts(null));
    }

    @Test
    void aRefusalIsOpenAisShapeOf401() {
        ApiKeys keys = ApiKeys.of(List.of("sk-one"));
        ApiException missing = assertThrows(ApiException.class, () -> keys.check(null));
        assertEquals(401, missing.httpStatus());
        assertEquals("invalid_api_key", missing.code());
        assertTrue(missing.getMessage().startsWith("You didn't provide an API key"), missing.getMessage());
        ApiException wrong = assertThrows(ApiException.class, () -> keys.check("Bearer nope"));
        assertTrue(wrong.getMessage().startsWith("Incorrect API key provided"), wrong.getMessage());
        assertEquals("invalid_request_error", wrong.body().error().type());
    }
}
