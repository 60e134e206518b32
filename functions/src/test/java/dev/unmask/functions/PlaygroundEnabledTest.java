package dev.unmask.functions;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.emptyString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.not;

import dev.unmask.testing.ReferencePackages;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * With {@code unmask.playground.enabled=true} the function serves the web playground at {@code /}, the same files
 * with the same headers as {@code unmask serve} ({@code dev.unmask.openai.Playground}).
 */
@QuarkusTest
@TestProfile(PlaygroundEnabledTest.Enabled.class)
class PlaygroundEnabledTest {

    public static class Enabled implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of(
                    "unmask.playground.enabled",
                    "true",
                    "unmask.models.tiny-llada.path",
                    ReferencePackages.tinyLlada().toString());
        }
    }

    @Test
    void thePageIsServedWithAStrictContentSecurityPolicy() {
        String etag = given().get("/")
                .then()
                .statusCode(200)
                .contentType(equalTo("text/html; charset=utf-8"))
                .header("Content-Security-Policy", containsString("default-src 'none'"))
                .header("Content-Security-Policy", containsString("connect-src 'self'"))
                .header("Content-Security-Policy", not(containsString("unsafe-inline")))
                .header("X-Content-Type-Options", equalTo("nosniff"))
                .header("Cache-Control", equalTo("no-cache"))
                .body(containsString("<script src=\"playground.js\" defer></script>"))
                .extract()
                .header("ETag");
        given().header("If-None-Match", etag).get("/").then().statusCode(304).body(emptyString());
        given().get("/playground.js")
                .then()
                .statusCode(200)
                .contentType(equalTo("text/javascript; charset=utf-8"))
                .body(containsString("diffusing: true"));
        given().get("/playground.css").then().statusCode(200).contentType(equalTo("text/css; charset=utf-8"));
    }
}
