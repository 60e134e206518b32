package dev.unmask.engine.request;

import java.util.Objects;

/**
 * One problem with a request, as data: which field, the value it had, what it may be, and a value that works. Each
 * surface turns it into a sentence in its own words with {@link #message(Phrasing)}:
 * {@code --steps must be between 2 and 64 (...), e.g. --steps 32; got 33} on the command line,
 * {@code 'steps' must be between 2 and 64 (...), e.g. "steps": 32; got 33} in the API.
 *
 * @param field   the field at fault
 * @param value   the value as the request had it (after defaults), e.g. {@code "33"}
 * @param allowed what the field may be, completing "must be ...", e.g. {@code "a multiple of the number of blocks, 2"}
 * @param example a value that fits, e.g. {@code "32"}; null when no single value of this field would do
 * @param kind    what sort of problem it is (a surface may report some kinds with their own code)
 */
public record Violation(RequestField field, String value, String allowed, String example, Kind kind) {

    /** What sort of problem a violation is. */
    public enum Kind {
        /** the value is outside what the field accepts */
        OUT_OF_RANGE,
        /** the prompt and the region together do not fit the model's (or the server's) context */
        CONTEXT_LENGTH,
        /** the package cannot do this (full logits needed, a head too small) */
        UNSUPPORTED_BY_PACKAGE
    }

    public Violation {
        Objects.requireNonNull(field, "field");
        Objects.requireNonNull(allowed, "allowed");
        Objects.requireNonNull(kind, "kind");
    }

    /** The violation as a sentence naming the field the way {@code phrasing} does. */
    public String message(Phrasing phrasing) {
        StringBuilder s =
                new StringBuilder(phrasing.name(field)).append(" must be ").append(allowed);
        if (example != null) {
            s.append(", e.g. ").append(phrasing.example(field, example));
        }
        if (value != null) {
            s.append("; got ").append(value);
        }
        return s.toString();
    }
}
