package dev.unmask.functions;

import static dev.unmask.functions.InfraTemplates.at;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;

import io.quarkus.test.common.TestResourceScope;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The health paths the templates probe are the ones the functions serve: readiness answers 200 with the
 * {@code models} check of {@link ReadinessCheck} once the package is loaded, liveness answers 200.
 */
@QuarkusTest
@WithTestResource(value = TinyPackageResource.class, scope = TestResourceScope.GLOBAL)
class InfraHealthPathTest {

    @Test
    void everyReadinessPathATemplateProbesIsTheReadinessCheck() {
        Map<String, String> probes = new LinkedHashMap<>();
        probes.put(
                "ECS target group",
                at(
                        InfraTemplates.readCloudFormation(InfraTemplates.gpuTemplate()),
                        "Resources",
                        "TargetGroup",
                        "Properties",
                        "HealthCheckPath"));
        probes.put(
                "Knative readinessProbe", at(InfraTemplates.knativeContainer(), "readinessProbe", "httpGet", "path"));
        probes.forEach((who, path) -> awaitReady(path)
                .then()
                .statusCode(200)
                .body("status", equalTo("UP"))
                .body("checks.name", hasItem("models")));
    }

    @Test
    void theLivenessPathKnativeProbesIsServed() {
        String path = at(InfraTemplates.knativeContainer(), "livenessProbe", "httpGet", "path");
        given().get(path).then().statusCode(200).body("status", equalTo("UP"));
    }

    private static io.restassured.response.Response awaitReady(String path) {
        long deadline = System.nanoTime() + 120_000_000_000L;
        io.restassured.response.Response r;
        do {
            r = given().get(path);
            if (r.statusCode() == 200) {
                return r;
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        } while (System.nanoTime() < deadline);
        return r;
    }
}
