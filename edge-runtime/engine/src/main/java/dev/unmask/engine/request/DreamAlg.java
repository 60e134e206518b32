package dev.unmask.engine.request;

import dev.unmask.engine.decode.ConfidenceMeasure;
import dev.unmask.engine.decode.Remasking;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Dream's {@code alg} names ({@code diffusion_generate(..., alg=...)} in {@code HKUNLP/Dream}'s
 * {@code generation_utils.py}) as the engine's knobs: the one mapping. Every alg runs Dream's timesteps schedule
 * ({@code linspace(1, eps, steps + 1)}); {@code alg_temp} is a field of its own, as in Dream.
 */
public enum DreamAlg {
    /** the D3PM reveal: each masked position revealed with probability {@code 1 - s/t} */
    ORIGIN("origin", Remasking.ORIGIN, ConfidenceMeasure.PROBABILITY),
    /** the most probable tokens first (MaskGIT's confidence) */
    MASKGIT_PLUS("maskgit_plus", Remasking.LOW_CONFIDENCE, ConfidenceMeasure.PROBABILITY),
    /** the largest top-1 minus top-2 probability first */
    TOPK_MARGIN("topk_margin", Remasking.LOW_CONFIDENCE, ConfidenceMeasure.MARGIN),
    /** the lowest entropy first */
    ENTROPY("entropy", Remasking.LOW_CONFIDENCE, ConfidenceMeasure.NEGATIVE_ENTROPY);

    private final String id;
    private final Remasking remasking;
    private final ConfidenceMeasure confidence;

    DreamAlg(String id, Remasking remasking, ConfidenceMeasure confidence) {
        this.id = id;
        this.remasking = remasking;
        this.confidence = confidence;
    }

    /** Dream's name, e.g. {@code maskgit_plus}. */
    public String id() {
        return id;
    }

    public Remasking remasking() {
        return remasking;
    }

    /** How positions are ranked (for {@link #ORIGIN} only what the listener is told). */
    public ConfidenceMeasure confidence() {
        return confidence;
    }

    /** The names, for messages: {@code origin, maskgit_plus, topk_margin, entropy}. */
    public static String names() {
        return Arrays.stream(values()).map(DreamAlg::id).collect(Collectors.joining(", "));
    }

    /** Reads Dream's name ({@code -} for {@code _} and any case accepted). */
    public static DreamAlg parse(String value) {
        String v = value.trim().toLowerCase(Locale.ROOT).replace('-', '_');
        for (DreamAlg a : values()) {
            if (a.id.equals(v)) {
                return a;
            }
        }
        throw new IllegalArgumentException(
                "Unknown alg '" + value + "': use one of " + names() + " (Dream's), e.g. --alg entropy");
    }
}
