package dev.unmask.engine.decode;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * How sure the model is about a position, used to rank masked positions ({@link Remasking#LOW_CONFIDENCE}) and
 * by the threshold rules. The measures are Dream's ({@code alg=maskgit_plus | topk_margin | entropy}).
 */
public enum ConfidenceMeasure {
    /** probability of the chosen token, {@code exp(logit - logsumexp)}: LLaDA's and Fast-dLLM's confidence */
    PROBABILITY("probability"),
    /** top-1 probability minus top-2 probability (Dream {@code topk_margin}) */
    MARGIN("margin"),
    /** minus the entropy of the position's distribution, in nats (Dream {@code entropy}) */
    NEGATIVE_ENTROPY("entropy");

    private final String id;

    ConfidenceMeasure(String id) {
        this.id = id;
    }

    public String id() {
        return id;
    }

    public static ConfidenceMeasure parse(String value) {
        String v = value.trim().toLowerCase(Locale.ROOT).replace('-', '_');
        for (ConfidenceMeasure m : values()) {
            if (m.id.equals(v) || m.name().toLowerCase(Locale.ROOT).equals(v)) {
                return m;
            }
        }
        throw new IllegalArgumentException("Unknown confidence measure '" + value + "': use one of "
                + Arrays.stream(values()).map(ConfidenceMeasure::id).collect(Collectors.joining(", "))
                + ", e.g. --confidence probability");
    }
}
