package dev.unmask.functions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.unmask.openai.ApiException;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.junit.jupiter.api.Test;

/** Before the packages are loaded: readiness is down and the API answers 503 with Retry-After. */
class ReadinessCheckTest {

    @Test
    void whileLoadingReadinessIsDownAndTheApiIs503() {
        ModelHost loading = new ModelHost();
        ReadinessCheck check = new ReadinessCheck();
        check.host = loading;
        HealthCheckResponse r = check.call();
        assertEquals(HealthCheckResponse.Status.DOWN, r.getStatus());
        assertEquals("loading", r.getData().orElseThrow().get("state"));
        ApiException e = assertThrows(ApiException.class, loading::service);
        assertEquals(503, e.httpStatus());
        assertEquals("model_loading", e.code());
        assertEquals(5, e.retryAfterSeconds());
    }
}
