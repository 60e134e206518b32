package dev.unmask.functions;

import dev.unmask.openai.Errors;
import jakarta.inject.Inject;
import jakarta.inject.Provider;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.Response;
import org.jboss.resteasy.reactive.server.ServerRequestFilter;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;
import java.util.Optional;

/** With {@code unmask.api-keys} set, {@code /v1} takes only {@code Authorization: Bearer <one of them>} (else 401). */
public class ApiKeyFilter {

    @Inject
    Provider<UnmaskConfig> config; // filters are built at static init, before runtime config: look it up per request

    @ServerRequestFilter
    public Optional<Response> checkKey(ContainerRequestContext request) {
        List<String> keys = config.get().apiKeys().orElse(List.of());
        if (keys.isEmpty()) {
            return Optional.empty();
        }
        String header = request.getHeaderString(HttpHeaders.AUTHORIZATION);
        String sent = header != null && header.regionMatches(true, 0, "Bearer ", 0, 7) ? header.substring(7).trim() : null;
        if (sent != null) {
            byte[] sentBytes = sent.getBytes(StandardCharsets.UTF_8);
            for (String key : keys) {
                if (MessageDigest.isEqual(sentBytes, key.getBytes(StandardCharsets.UTF_8))) {
                    return Optional.empty();
                }
            }
        }
        return Optional.of(ApiExceptionMapper.write(Errors.unauthorized(header != null)));
    }
}
