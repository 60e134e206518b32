package dev.unmask.engine.request;

import java.util.List;
import java.util.stream.Collectors;

/**
 * A request the planner refused, with every {@link Violation} it found. An {@link IllegalArgumentException}, so that
 * callers that map "invalid input" (exit code 3, HTTP 400) keep working; surfaces that want their own words call
 * {@link #phrased(Phrasing)}.
 */
public final class InvalidRequestException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    private final transient List<Violation> violations;

    public InvalidRequestException(List<Violation> violations) {
        this(violations, Phrasing.ENGINE);
    }

    private InvalidRequestException(List<Violation> violations, Phrasing phrasing) {
        super(message(violations, phrasing));
        if (violations.isEmpty()) {
            throw new IllegalArgumentException("An invalid request has at least one violation");
        }
        this.violations = List.copyOf(violations);
    }

    /** Every problem found, in field order. */
    public List<Violation> violations() {
        return violations;
    }

    /** The same violations, with a message in {@code phrasing}'s words. */
    public InvalidRequestException phrased(Phrasing phrasing) {
        InvalidRequestException e = new InvalidRequestException(violations, phrasing);
        e.initCause(this);
        return e;
    }

    private static String message(List<Violation> violations, Phrasing phrasing) {
        return violations.stream().map(v -> v.message(phrasing)).collect(Collectors.joining(". "));
    }
}
