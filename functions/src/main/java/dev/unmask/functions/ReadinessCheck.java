package dev.unmask.functions;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** {@code /q/health/ready}: 503 until every package is loaded and warmed. */
@Readiness
@ApplicationScoped
public class ReadinessCheck implements HealthCheck {

    @Inject
    ModelHost host;

    @Override
    public HealthCheckResponse call() {
        var r = HealthCheckResponse.named("models");
        if (host.ready()) {
            return r.up().withData("loaded_and_warmed_ms", host.readyMillis()).build();
        }
        Throwable failure = host.failure();
        return r.down()
                .withData("state", failure == null ? "loading" : "failed: " + failure.getMessage())
                .build();
    }
}
