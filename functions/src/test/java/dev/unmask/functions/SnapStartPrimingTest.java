package dev.unmask.functions;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.test.common.TestResourceScope;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;

/** The SnapStart priming hook runs real requests on the real tiny package, and registers only in the Lambda build. */
@QuarkusTest
@WithTestResource(value = TinyPackageResource.class, scope = TestResourceScope.GLOBAL)
class SnapStartPrimingTest {

    @Inject
    SnapStartPriming priming;

    @Inject
    ModelHost host;

    @Test
    void primingRunsACompletionAndAStreamedChatPerRoundAndModel() throws InterruptedException {
        awaitReady();
        SnapStartPriming.Primed primed = priming.prime();
        int models = host.service().servedModels().size();
        assertEquals(2 * SnapStartPriming.ROUNDS * models, primed.requests());
        assertTrue(primed.completionTokens() > 0, "tokens were generated: " + primed);
        assertTrue(
                primed.completionTokens() <= (long) primed.requests() * SnapStartPriming.MAX_TOKENS, primed::toString);
    }

    @Test
    void theHookIsRegisteredExactlyInTheLambdaBuild() {
        assertEquals(
                Boolean.getBoolean("unmask.test.lambda"),
                priming.registered(),
                "registered with CRaC only with -Plambda (surefire sets unmask.test.lambda there)");
    }

    private void awaitReady() throws InterruptedException {
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (!host.ready() && System.nanoTime() < deadline) {
            given().get("/q/health/ready");
            Thread.sleep(200);
        }
        assertTrue(host.ready(), "the package did not load: " + host.failure());
    }
}
