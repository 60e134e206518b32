package dev.unmask.agent;

import dev.unmask.openai.ApiException;
import dev.unmask.openai.ErrorKind;
import java.net.URI;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Who may drive the agent from a browser. Any web page the user opens can send requests to {@code 127.0.0.1}; three
 * rules keep it from using the models (or breaking them):
 *
 * <ul>
 *   <li>a POST must be {@code Content-Type: application/json}, which a page cannot send cross-site without a CORS
 *       preflight (the "simple" types {@code text/plain} and form encodings are refused with 415; on the Ollama
 *       routes only a browser's request is, see {@code AgentServer.notFromABrowser});
 *   <li>the {@code Host} must be a loopback name or address, so that a page on {@code evil.example} whose DNS name was
 *       rebound to 127.0.0.1 is refused (403); skipped when the agent listens beyond loopback, where its API key guards
 *       it;
 *   <li>an {@code Origin} (every browser sends one cross-site) must be loopback, e.g. {@code http://localhost:3000},
 *       or one the user allowed with {@code --allow-origin} / {@code UNMASK_ALLOWED_ORIGINS} ({@code *} allows any);
 *       others get 403, except the server's own origin ({@code http://} and the {@code Host}: the playground's page).
 *       Allowed origins get proper CORS answers, preflights included.
 * </ul>
 *
 * @param checkHost      whether {@code Host} must be loopback (the agent listens on loopback, or has no key)
 * @param allowedOrigins origins beyond loopback, normalised (lower case, no trailing slash); {@code *} = any
 */
record CrossSite(boolean checkHost, Set<String> allowedOrigins) {

    static final String EXAMPLE_ORIGIN = "https://app.example.com";

    /** What a preflight may ask for; every other header a browser sends cross-site is asked for by name. */
    static final String ALLOWED_METHODS = "GET, POST, OPTIONS";

    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

    CrossSite {
        allowedOrigins = Set.copyOf(allowedOrigins);
    }

    /** Only loopback pages, and a {@code Host} check: the agent's default. */
    static CrossSite loopbackOnly() {
        return new CrossSite(true, Set.of());
    }

    /**
     * @param keyedBeyondLoopback the agent listens beyond loopback with an API key: any {@code Host} is fine
     * @param origins             from {@code --allow-origin}: full origins, e.g. {@value #EXAMPLE_ORIGIN}, or {@code *}
     * @throws IllegalArgumentException for an origin that is not one (a path, no scheme), with a correct example
     */
    static CrossSite of(boolean keyedBeyondLoopback, List<String> origins) {
        return new CrossSite(
                !keyedBeyondLoopback,
                origins.stream()
                        .map(String::trim)
                        .filter(o -> !o.isEmpty())
                        .map(CrossSite::checkedOrigin)
                        .collect(Collectors.toSet()));
    }

    private static String checkedOrigin(String origin) {
        if (origin.equals("*")) {
            return origin;
        }
        String o = normalise(origin);
        URI uri;
        try {
            uri = URI.create(o);
        } catch (IllegalArgumentException e) {
            uri = null;
        }
        if (uri == null
                || uri.getScheme() == null
                || uri.getHost() == null
                || !(uri.getPath() == null || uri.getPath().isEmpty())
                || uri.getQuery() != null) {
            throw new IllegalArgumentException("--allow-origin " + origin + " is not an origin (scheme://host[:port], "
                    + "no path): use e.g. --allow-origin " + EXAMPLE_ORIGIN + ", or * for any");
        }
        return o;
    }

    private static String normalise(String origin) {
        String o = origin.toLowerCase(Locale.ROOT);
        return o.endsWith("/") ? o.substring(0, o.length() - 1) : o;
    }

    /**
     * @param host the request's {@code Host} header; null (HTTP/1.0) is no browser's and passes
     * @throws ApiException 403 for a name or address that is not loopback
     */
    void checkHost(String host) {
        if (!checkHost || host == null || isLoopbackHost(withoutPort(host))) {
            return;
        }
        throw new ApiException(
                ErrorKind.FORBIDDEN,
                "The Host '" + host + "' is not this machine's loopback: the agent answers requests to "
                        + "127.0.0.1, [::1] or localhost only (e.g. http://127.0.0.1:" + ServeCommand.DEFAULT_PORT
                        + "/v1), so that no web page can reach it through its own DNS name",
                null,
                "forbidden_host",
                0,
                null);
    }

    /**
     * The origin to name in {@code Access-Control-Allow-Origin}, or null when the request has none (not a browser's).
     *
     * @throws ApiException 403 for an origin that is neither loopback nor allowed
     */
    String allowOrigin(String origin) {
        if (origin == null) {
            return null;
        }
        String o = normalise(origin.trim());
        if (allowedOrigins.contains("*") || allowedOrigins.contains(o) || isLoopbackOrigin(o)) {
            return origin.trim();
        }
        throw new ApiException(
                ErrorKind.FORBIDDEN,
                "The web page at " + origin + " may not use this server: to let a web app you trust call it, start "
                        + "it with --allow-origin " + origin + " (or UNMASK_ALLOWED_ORIGINS=" + origin + ")",
                null,
                "forbidden_origin",
                0,
                null);
    }

    /**
     * As {@link #allowOrigin(String)}, and a page this server itself served may call it: an {@code Origin} of
     * {@code http://} and the request's own {@code Host} is same-origin (the web playground at {@code /} on an agent
     * that listens beyond loopback with a key, e.g. {@code http://192.168.1.5:11435}). Safe because the {@code Host}
     * rule ran first: on loopback it is a loopback name, and beyond loopback the API key guards the API.
     *
     * @throws ApiException 403 for an origin that is neither loopback, allowed, nor this server's own
     */
    String allowOrigin(String origin, String host) {
        if (origin != null && host != null && normalise(origin.trim()).equals("http://" + normalise(host.trim()))) {
            return origin.trim();
        }
        return allowOrigin(origin);
    }

    private static boolean isLoopbackOrigin(String origin) {
        try {
            URI uri = URI.create(origin);
            return ("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))
                    && uri.getHost() != null
                    && isLoopbackHost(uri.getHost());
        } catch (IllegalArgumentException e) {
            return false; // "null" (a file or a sandbox), or garbage
        }
    }

    /** {@code localhost}, a name under {@code .localhost} (RFC 6761), {@code 127.x.y.z} or {@code ::1}; no DNS. */
    static boolean isLoopbackHost(String host) {
        String h = host.toLowerCase(Locale.ROOT);
        if (h.startsWith("[") && h.endsWith("]")) {
            h = h.substring(1, h.length() - 1);
        }
        if (h.equals("localhost") || h.endsWith(".localhost") || h.equals("::1") || h.equals("0:0:0:0:0:0:0:1")) {
            return true;
        }
        if (IPV4.matcher(h).matches()) {
            return h.startsWith("127.");
        }
        return false;
    }

    private static String withoutPort(String host) {
        String h = host.trim();
        if (h.startsWith("[")) {
            int end = h.indexOf(']');
            return end < 0 ? h : h.substring(0, end + 1);
        }
        int colon = h.lastIndexOf(':');
        return colon < 0 || h.indexOf(':') != colon ? h : h.substring(0, colon);
    }
}
