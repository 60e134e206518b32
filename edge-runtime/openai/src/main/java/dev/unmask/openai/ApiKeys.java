package dev.unmask.openai;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * The API-key check of both servers: with keys configured, {@code /v1} takes only {@code Authorization: Bearer
 * <one of them>}; anything else is a 401 in OpenAI's shape ({@link Errors#unauthorized}).
 */
public final class ApiKeys {

    private static final String BEARER = "Bearer ";

    private final List<byte[]> keys;

    private ApiKeys(List<byte[]> keys) {
        this.keys = keys;
    }

    /** The configured keys; blank ones are ignored, so no keys (or only blank ones) = no check. */
    public static ApiKeys of(Collection<String> configured) {
        List<byte[]> keys = new ArrayList<>();
        for (String k : configured) {
            if (k != null && !k.isBlank()) {
                keys.add(k.strip().getBytes(StandardCharsets.UTF_8));
            }
        }
        return new ApiKeys(List.copyOf(keys));
    }

    /** No key required. */
    public static ApiKeys none() {
        return new ApiKeys(List.of());
    }

    public boolean required() {
        return !keys.isEmpty();
    }

    /**
     * Passes when no key is required or {@code authorization} (the header's value, null when not sent) is
     * {@code Bearer <a configured key>}.
     *
     * @throws ApiException 401 {@code invalid_api_key} otherwise
     */
    public void check(String authorization) {
        if (!accepts(authorization)) {
            throw Errors.unauthorized(authorization != null);
        }
    }

    /** Whether {@link #check} passes. Compares every key in constant time, so timing does not leak a key's prefix. */
    public boolean accepts(String authorization) {
        if (keys.isEmpty()) {
            return true;
        }
        if (authorization == null || !authorization.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
            return false;
        }
        byte[] sent = authorization.substring(BEARER.length()).trim().getBytes(StandardCharsets.UTF_8);
        boolean match = false;
        for (byte[] key : keys) {
            match |= MessageDigest.isEqual(sent, key);
        }
        return match;
    }
}
