package dev.unmask.functions;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;

import io.quarkus.test.common.TestResourceScope;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

/** A deployed API serves no page: {@code /} is the API's 404 unless {@code unmask.playground.enabled=true}. */
@QuarkusTest
@WithTestResource(value = TinyPackageResource.class, scope = TestResourceScope.GLOBAL)
class PlaygroundTest {

    @Test
    void theRootIsNotFoundByDefault() {
        for (String path : new String[] {"/", "/playground.js", "/playground.css", "/favicon.svg"}) {
            given().get(path)
                    .then()
                    .statusCode(404)
                    .contentType(containsString("application/json"))
                    .body("error.message", containsString("Unknown path"));
        }
    }
}
