package dev.unmask.functions;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.testing.ReferencePackages;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.specification.RequestSpecification;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The function with the cache choice and the block-causal model: tiny-llada (a format 3 graph with a key/value
 * cache) answers a cached request, {@code cache: none} is the answer without the field and a refresh at every step
 * is too; tiny-sdar (SDAR's layout, blocks of 4) answers chat and completions in its own blocks, and the fields it
 * cannot take are 400s naming them.
 */
@QuarkusTest
@TestProfile(CacheAndSdarApiTest.LladaAndSdar.class)
class CacheAndSdarApiTest {

    static volatile boolean ready;

    /** tiny-llada and tiny-sdar served by one function. */
    public static class LladaAndSdar implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of(
                    "unmask.models.tiny-llada.path",
                            ReferencePackages.tinyLlada().toString(),
                    "unmask.models.tiny-sdar.path", ReferencePackages.tinySdar().toString());
        }
    }

    @BeforeEach
    void waitUntilReady() throws InterruptedException {
        for (int i = 0; !ready && i < 600; i++) {
            ready = given().get("/q/health/ready").statusCode() == 200;
            if (!ready) {
                Thread.sleep(100);
            }
        }
        assertTrue(ready, "both packages load within a minute");
    }

    static RequestSpecification api() {
        return given().header("Authorization", "Bearer test-key").contentType("application/json");
    }

    static String q(String s) {
        return s.replace('\'', '"');
    }

    static String llada(String extra) {
        return api().body(q("{'model': 'tiny-llada', 'prompt': 'def add(a, b):', 'max_tokens': 24, 'steps': 24, "
                        + "'block_length': 8" + extra + "}"))
                .post("/v1/completions")
                .then()
                .statusCode(200)
                .extract()
                .path("choices[0].text");
    }

    @Test
    void a_cached_request_answers_and_none_is_the_answer_without_the_field() {
        String uncached = llada("");
        assertEquals(uncached, llada(", 'cache': 'none'"));
        assertEquals(uncached, llada(", 'cache': 'dual', 'cache_refresh': 1"), "a refresh every step is exact");
        assertFalse(llada(", 'cache': 'prefix'").isEmpty());
        api().body(q("{'model': 'tiny-llada', 'prompt': 'x', 'cache': 'full'}"))
                .post("/v1/completions")
                .then()
                .statusCode(400)
                .body("error.param", equalTo("cache"));
        api().body(q("{'model': 'tiny-llada', 'prompt': 'x', 'cache_refresh': 4}"))
                .post("/v1/completions")
                .then()
                .statusCode(400)
                .body("error.param", equalTo("cache_refresh"));
    }

    @Test
    void the_block_causal_model_answers_in_its_own_blocks() {
        api().body(q("{'model': 'tiny-sdar', 'messages': [{'role': 'user', 'content': 'Write a function.'}], "
                        + "'max_tokens': 18}"))
                .post("/v1/chat/completions")
                .then()
                .statusCode(200)
                .body("choices[0].message.role", equalTo("assistant"))
                .body("usage.completion_tokens", lessThanOrEqualTo(18));
        String text = api().body(q("{'model': 'tiny-sdar', 'prompt': 'def add(a, b):', 'max_tokens': 10, "
                        + "'temperature': 0, 'cache': 'none'}"))
                .post("/v1/completions")
                .then()
                .statusCode(200)
                .extract()
                .path("choices[0].text");
        String cached = api().body(q(
                        "{'model': 'tiny-sdar', 'prompt': 'def add(a, b):', 'max_tokens': 10, " + "'temperature': 0}"))
                .post("/v1/completions")
                .then()
                .statusCode(200)
                .extract()
                .path("choices[0].text");
        assertEquals(text, cached, "the default prefix cache is exact on a block-causal model");
        api().body(q("{'model': 'tiny-sdar', 'prompt': 'x', 'block_length': 32}"))
                .post("/v1/completions")
                .then()
                .statusCode(400)
                .body("error.param", equalTo("block_length"))
                .body("error.message", containsString("\"block_length\": 4"));
        api().body(q("{'model': 'tiny-sdar', 'prompt': 'def f(', 'suffix': ')', 'max_tokens': 8}"))
                .post("/v1/completions")
                .then()
                .statusCode(400)
                .body("error.param", equalTo("prompt"))
                .body("error.message", containsString("block-causal"));
    }
}
