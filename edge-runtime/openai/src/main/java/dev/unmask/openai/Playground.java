package dev.unmask.openai;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The web playground: a page, a script, a style sheet and an icon, plain files in this jar (no build step, nothing fetched at
 * run time), served at {@code /} by {@code unmask serve} and, with {@code unmask.playground.enabled=true}, by the
 * functions. The page talks to the same origin's {@code /v1} with {@code "diffusing": true} and draws each
 * {@link Draft}'s {@link DraftToken}s. Both servers answer with {@link #headers} and {@link #notModified}: one rule
 * for the security and caching headers.
 */
public final class Playground {

    /**
     * Only this origin's own script, style and API; no inline script or style, no frames, no forms sent elsewhere.
     * The page puts model text in with {@code textContent} only, so a token that reads like HTML stays text.
     */
    public static final String CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; "
            + "connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    /**
     * Revalidate every time ({@code no-cache} is "store, but ask first"): the files are small, a 304 is cheaper than
     * the check, and an upgraded agent must never run yesterday's script against today's API.
     */
    public static final String CACHE_CONTROL = "no-cache";

    /** The paths served; every other path is the server's usual 404. */
    public static final Map<String, String> PATHS = Map.of(
            "/", "index.html",
            "/playground.js", "playground.js",
            "/playground.css", "playground.css",
            "/favicon.svg", "favicon.svg");

    private static final Map<String, Asset> ASSETS = load();

    private Playground() {}

    /**
     * One file of the page.
     *
     * @param contentType its {@code Content-Type}, with the charset
     * @param bytes       the file
     * @param etag        a strong validator: the quoted start of the file's SHA-256
     */
    public record Asset(String contentType, byte[] bytes, String etag) {}

    /** The file served at {@code path} ({@code /}, {@code /playground.js}, {@code /playground.css}, {@code /favicon.svg}), if any. */
    public static Optional<Asset> asset(String path) {
        return Optional.ofNullable(ASSETS.get(path));
    }

    /** Every header an answer with {@code asset} (a 200 or a 304) carries, Content-Type included. */
    public static Map<String, String> headers(Asset asset) {
        Map<String, String> h = new LinkedHashMap<>();
        h.put("Content-Type", asset.contentType());
        h.put("Content-Security-Policy", CONTENT_SECURITY_POLICY);
        h.put("X-Content-Type-Options", "nosniff");
        h.put("Referrer-Policy", "no-referrer");
        h.put("Cache-Control", CACHE_CONTROL);
        h.put("ETag", asset.etag());
        return h;
    }

    /** Whether a request's {@code If-None-Match} names this version of the file: answer 304 with no body. */
    public static boolean notModified(Asset asset, String ifNoneMatch) {
        if (ifNoneMatch == null) {
            return false;
        }
        for (String tag : ifNoneMatch.split(",")) {
            String t = tag.trim();
            if (t.equals("*") || t.equals(asset.etag()) || t.equals("W/" + asset.etag())) {
                return true;
            }
        }
        return false;
    }

    private static Map<String, Asset> load() {
        Map<String, Asset> assets = new LinkedHashMap<>();
        PATHS.forEach((path, file) -> assets.put(path, read(file)));
        return Map.copyOf(assets);
    }

    private static Asset read(String file) {
        try (InputStream in = Playground.class.getResourceAsStream("playground/" + file)) {
            if (in == null) {
                throw new IllegalStateException("The playground's " + file + " is missing from the unmask-openai jar "
                        + "(src/main/resources/dev/unmask/openai/playground/)");
            }
            byte[] bytes = in.readAllBytes();
            String type = file.endsWith(".html")
                    ? "text/html; charset=utf-8"
                    : file.endsWith(".js")
                            ? "text/javascript; charset=utf-8"
                            : file.endsWith(".svg") ? "image/svg+xml" : "text/css; charset=utf-8";
            return new Asset(type, bytes, "\"" + sha256(bytes).substring(0, 16) + "\"");
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read the playground's " + file, e);
        }
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
