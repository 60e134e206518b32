package dev.unmask.functions;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Liveness;

/**
 * {@code /q/health/live}: down once the packages failed to load. The service cannot recover on its own (the load is
 * not retried), so an orchestrator should restart it; while loading it is alive, only not ready.
 */
@Liveness
@ApplicationScoped
public class LivenessCheck implements HealthCheck {

    @Inject
    ModelHost host;

    @Override
    public HealthCheckResponse call() {
        var r = HealthCheckResponse.named("models-load");
        Throwable failure = host.failure();
        return failure == null
                ? r.up().build()
                : r.down().withData("state", "failed: " + failure.getMessage()).build();
    }
}
