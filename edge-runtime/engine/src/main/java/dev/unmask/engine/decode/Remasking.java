package dev.unmask.engine.decode;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Which masked positions a step commits, as LLaDA's reference names it ({@code remasking=...}), and Dream's
 * {@code origin}.
 */
public enum Remasking {
    /** the positions the model is most confident about (LLaDA's default) */
    LOW_CONFIDENCE("low_confidence"),
    /** positions drawn uniformly at random */
    RANDOM("random"),
    /**
     * Dream's {@code alg=origin} (the D3PM reveal): each masked position of the block is revealed on its own with
     * probability {@code 1 - s/t} of the {@link StepSchedule.Timesteps} schedule (all on the last step) and only the
     * revealed ones get a token; confidence plays no part
     */
    ORIGIN("origin");

    private final String id;

    Remasking(String id) {
        this.id = id;
    }

    public String id() {
        return id;
    }

    public static Remasking parse(String value) {
        for (Remasking r : values()) {
            if (r.id.equals(value.trim().toLowerCase(Locale.ROOT).replace('-', '_'))) {
                return r;
            }
        }
        throw new IllegalArgumentException("Unknown remasking '" + value + "': use one of "
                + Arrays.stream(values()).map(Remasking::id).collect(Collectors.joining(", "))
                + ", e.g. --remasking low_confidence");
    }
}
