package dev.unmask.functions;

import dev.unmask.openai.ApiException;
import dev.unmask.openai.ApiKeys;
import jakarta.inject.Inject;
import jakarta.inject.Provider;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.Response;
import java.util.List;
import java.util.Optional;
import org.jboss.resteasy.reactive.server.ServerRequestFilter;

/** With {@code unmask.api-keys} set, {@code /v1} takes only {@code Authorization: Bearer <one of them>} (else 401). */
public class ApiKeyFilter {

    @Inject
    Provider<UnmaskConfig> config; // filters are built at static init, before runtime config: look it up per request

    @ServerRequestFilter
    public Optional<Response> checkKey(ContainerRequestContext request) {
        if (!request.getUriInfo().getPath().startsWith("/v1")) {
            return Optional.empty(); // the playground's files (PlaygroundResource): the page asks for the key itself
        }
        try {
            ApiKeys.of(config.get().apiKeys().orElse(List.of()))
                    .check(request.getHeaderString(HttpHeaders.AUTHORIZATION));
            return Optional.empty();
        } catch (ApiException unauthorized) {
            return Optional.of(ApiExceptionMapper.write(unauthorized));
        }
    }
}
