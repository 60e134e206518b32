package dev.unmask.hub;

import dev.unmask.failure.Failure;
import dev.unmask.failure.UnmaskException;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Where and how to reach the Hub, read from the environment variables huggingface_hub reads (its
 * {@code constants.py}), so that a user's existing set-up (a mirror, a token, a cache folder, offline mode) applies to
 * Unmask unchanged.
 *
 * @param endpoint     {@code HF_ENDPOINT}, default {@value #DEFAULT_ENDPOINT}; https, or http on loopback only
 * @param token        {@code HF_TOKEN}, else the file {@code $HF_HOME/token} ({@code hf auth login} writes it); null
 *                     for none. Sent as {@code Authorization: Bearer}, to the endpoint's host only; never printed
 * @param cacheRoot    {@code HF_HUB_CACHE}, else {@code $HF_HOME/hub}, else {@code $XDG_CACHE_HOME/huggingface/hub},
 *                     else {@code ~/.cache/huggingface/hub}
 * @param offline      {@code HF_HUB_OFFLINE} (or {@code TRANSFORMERS_OFFLINE}) is 1, ON, YES or TRUE: no request
 *                     at all, the cache only
 * @param stallTimeout how long a response may send nothing before the download is abandoned (and resumable)
 */
public record HubSettings(URI endpoint, String token, Path cacheRoot, boolean offline, Duration stallTimeout) {

    public static final String DEFAULT_ENDPOINT = "https://huggingface.co";
    public static final Duration DEFAULT_STALL = Duration.ofSeconds(60);
    /** huggingface_hub's ENV_VARS_TRUE_VALUES. */
    private static final Set<String> TRUE_VALUES = Set.of("1", "ON", "YES", "TRUE");

    public HubSettings {
        checkEndpoint(endpoint);
        cacheRoot = cacheRoot.toAbsolutePath().normalize();
        token = token == null || token.isBlank() ? null : token.strip();
    }

    /** The settings of this process's environment. */
    public static HubSettings fromEnvironment() {
        return fromEnvironment(System.getenv(), Path.of(System.getProperty("user.home")));
    }

    /** The settings {@code env} gives, for a user whose home folder is {@code home}. */
    public static HubSettings fromEnvironment(Map<String, String> env, Path home) {
        String endpoint = nonBlank(env.get("HF_ENDPOINT"), DEFAULT_ENDPOINT);
        while (endpoint.endsWith("/")) {
            endpoint = endpoint.substring(0, endpoint.length() - 1);
        }
        String xdgCache =
                nonBlank(env.get("XDG_CACHE_HOME"), home.resolve(".cache").toString());
        Path hfHome = Path.of(
                nonBlank(env.get("HF_HOME"), Path.of(xdgCache, "huggingface").toString()));
        Path cache = Path.of(nonBlank(
                env.get("HF_HUB_CACHE"),
                nonBlank(env.get("HUGGINGFACE_HUB_CACHE"), hfHome.resolve("hub").toString())));
        String token = env.get("HF_TOKEN");
        if (token == null || token.isBlank()) {
            token = tokenFile(Path.of(
                    nonBlank(env.get("HF_TOKEN_PATH"), hfHome.resolve("token").toString())));
        }
        String offline = nonBlank(env.get("HF_HUB_OFFLINE"), nonBlank(env.get("TRANSFORMERS_OFFLINE"), ""));
        URI uri;
        try {
            uri = URI.create(endpoint);
        } catch (IllegalArgumentException e) {
            throw badEndpoint(endpoint);
        }
        return new HubSettings(
                uri, token, cache, TRUE_VALUES.contains(offline.toUpperCase(Locale.ROOT)), DEFAULT_STALL);
    }

    public HubSettings withEndpoint(URI endpoint) {
        return new HubSettings(endpoint, token, cacheRoot, offline, stallTimeout);
    }

    public HubSettings withToken(String token) {
        return new HubSettings(endpoint, token, cacheRoot, offline, stallTimeout);
    }

    public HubSettings withOffline(boolean offline) {
        return new HubSettings(endpoint, token, cacheRoot, offline, stallTimeout);
    }

    public HubSettings withStallTimeout(Duration stallTimeout) {
        return new HubSettings(endpoint, token, cacheRoot, offline, stallTimeout);
    }

    /** Never the token itself: settings end up in logs and exception messages. */
    @Override
    public String toString() {
        return "HubSettings[endpoint=" + endpoint + ", token=" + (token == null ? "none" : "set") + ", cacheRoot="
                + cacheRoot + ", offline=" + offline + "]";
    }

    private static String tokenFile(Path file) {
        try {
            return Files.isRegularFile(file) && Files.size(file) < 4096
                    ? Files.readString(file).strip()
                    : null;
        } catch (IOException e) {
            return null; // an unreadable token file is no token, as for huggingface_hub
        }
    }

    private static String nonBlank(String value, String fallback) {
        return value == null || value.isBlank() ? fallback : value;
    }

    private static void checkEndpoint(URI endpoint) {
        String host = endpoint == null || endpoint.getHost() == null ? "" : endpoint.getHost();
        boolean loopback = host.equals("localhost") || host.startsWith("127.") || host.equals("[::1]");
        if (endpoint == null
                || !("https".equals(endpoint.getScheme()) || "http".equals(endpoint.getScheme()) && loopback)
                || host.isEmpty()
                || endpoint.getRawQuery() != null
                || endpoint.getRawFragment() != null) {
            throw badEndpoint(String.valueOf(endpoint));
        }
    }

    private static UnmaskException badEndpoint(String endpoint) {
        return new UnmaskException(
                Failure.BAD_REQUEST,
                "HF_ENDPOINT '" + endpoint + "' is not a Hub endpoint: give an https URL with no query, e.g. "
                        + "HF_ENDPOINT=https://hf-mirror.com (plain http only on this machine, e.g. http://127.0.0.1:8080)");
    }
}
