package dev.unmask.functions;

import static io.restassured.RestAssured.given;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.nullValue;

import io.quarkus.test.common.TestResourceScope;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import org.junit.jupiter.api.Test;

/**
 * Browsers: a web app whose origin is allowed (the tests allow https://app.example.com, as UNMASK_ALLOWED_ORIGINS does
 * in production) gets CORS answers, its preflight included; any other page is refused.
 */
@QuarkusTest
@WithTestResource(value = TinyPackageResource.class, scope = TestResourceScope.GLOBAL)
class CorsTest {

    static final String ALLOWED = "https://app.example.com";

    @Test
    void anAllowedOriginsPreflightIsAnswered() {
        Response preflight = given().header("Origin", ALLOWED)
                .header("Access-Control-Request-Method", "POST")
                .header("Access-Control-Request-Headers", "authorization,content-type")
                .options("/v1/chat/completions")
                .then()
                .statusCode(200)
                .header("Access-Control-Allow-Origin", equalTo(ALLOWED))
                .extract()
                .response();
        // one comma-separated header over HTTP, one header per value through Lambda's multi-value headers
        assertThat(
                String.join(",", preflight.headers().getValues("Access-Control-Allow-Methods")),
                containsString("POST"));
        assertThat(
                String.join(",", preflight.headers().getValues("Access-Control-Allow-Headers")),
                containsString("Authorization"));
    }

    @Test
    void anAllowedOriginReadsTheAnswer() {
        given().header("Origin", ALLOWED)
                .header("Authorization", "Bearer test-key")
                .get("/v1/models")
                .then()
                .statusCode(200)
                .header("Access-Control-Allow-Origin", equalTo(ALLOWED))
                .header("Access-Control-Expose-Headers", containsString("Retry-After"));
    }

    @Test
    void anotherPageIsRefused() {
        given().header("Origin", "https://evil.example")
                .header("Authorization", "Bearer test-key")
                .contentType("application/json")
                .body("{\"model\": \"tiny-llada\", \"prompt\": \"x\", \"max_tokens\": 4}")
                .post("/v1/completions")
                .then()
                .statusCode(403)
                .header("Access-Control-Allow-Origin", nullValue())
                .body("error.type", equalTo("invalid_request_error"))
                .body("error.code", equalTo("forbidden_origin"))
                .body("error.message", containsString("UNMASK_ALLOWED_ORIGINS=https://evil.example"));
        given().header("Origin", "https://evil.example")
                .header("Access-Control-Request-Method", "POST")
                .options("/v1/completions")
                .then()
                .header("Access-Control-Allow-Origin", nullValue());
    }
}
