package dev.unmask.functions;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.inject.Inject;
import jakarta.inject.Provider;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerResponseContext;
import org.jboss.resteasy.reactive.server.ServerResponseFilter;
import org.jboss.resteasy.reactive.server.SimpleResourceInfo;

/**
 * {@code unmask_requests_total{endpoint, status}}: every API request by endpoint and status, also on Lambda (where
 * Quarkus's own {@code http_server_requests} is not recorded).
 */
public class RequestMetricsFilter {

    @Inject
    Provider<MeterRegistry> registry; // filters are built at static init: look it up per request

    @ServerResponseFilter
    public void count(ContainerRequestContext request, ContainerResponseContext response, SimpleResourceInfo resource) {
        String endpoint = resource == null || resource.getMethodName() == null ? "other" : resource.getMethodName();
        Counter.builder("unmask.requests")
                .description("API requests by endpoint and status")
                .tag("endpoint", endpoint)
                .tag("status", Integer.toString(response.getStatus()))
                .register(registry.get())
                .increment();
    }
}
