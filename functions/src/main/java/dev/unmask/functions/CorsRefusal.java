package dev.unmask.functions;

import dev.unmask.openai.Errors;
import io.quarkus.vertx.http.runtime.cors.CORSFilter;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.net.URI;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * A request from a web page whose origin is not allowed gets a 403 in OpenAI's shape ({@code forbidden_origin},
 * saying how to allow it) instead of Quarkus's empty one. It runs just before Quarkus's CORS filter and refuses only
 * what that filter refuses for certain: an {@code Origin} that is not listed in {@code quarkus.http.cors.origins}
 * (exactly, as a {@code /regex/}, or {@code *}) and whose host is not the request's own (a same-origin page). The
 * filter still answers everything else, preflights included, by its own rules.
 */
@ApplicationScoped
public class CorsRefusal {

    /** Quarkus's CORS filter runs at order -300 (filter priority 300). */
    static final int ORDER = -400;

    @ConfigProperty(name = "quarkus.http.cors.enabled", defaultValue = "false")
    boolean enabled;

    @ConfigProperty(name = "quarkus.http.cors.origins")
    Optional<List<String>> origins;

    void install(@Observes Router router) {
        if (!enabled) {
            return; // no CORS filter: nothing to refuse in its place
        }
        List<String> listed =
                origins.orElse(List.of()).stream().map(String::trim).toList();
        List<Pattern> regexes = CORSFilter.parseAllowedOriginsRegex(origins);
        boolean any = listed.contains("*");
        router.route().order(ORDER).handler(ctx -> {
            String origin = ctx.request().getHeader("Origin");
            if (origin == null
                    || any
                    || listed.contains(origin)
                    || CORSFilter.isOriginAllowedByRegex(regexes, origin)
                    || sameHost(ctx, origin)) {
                ctx.next();
                return;
            }
            RouteAnswers.of(Errors.foreignOrigin(origin)).end(ctx, true);
        });
    }

    /** The origin names the host the request was sent to (then the CORS filter decides, by scheme and port too). */
    private static boolean sameHost(RoutingContext ctx, String origin) {
        String host = ctx.request().host();
        if (host == null) {
            return true; // nothing to compare: leave it to the filter
        }
        try {
            String originHost = URI.create(origin.trim()).getHost();
            return originHost == null || withoutPort(host).equalsIgnoreCase(originHost);
        } catch (IllegalArgumentException e) {
            return false; // no URI at all: no page's origin, refused as the filter refuses it
        }
    }

    private static String withoutPort(String host) {
        String h = host.toLowerCase(Locale.ROOT);
        if (h.startsWith("[")) {
            int end = h.indexOf(']');
            return end < 0 ? h : h.substring(0, end + 1);
        }
        int colon = h.lastIndexOf(':');
        return colon < 0 ? h : h.substring(0, colon);
    }
}
