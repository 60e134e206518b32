package dev.unmask.engine.decode;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Which keys and values a step reuses instead of recomputing (docs/engine.md, "Key/value caches").
 *
 * <p>For a fully bidirectional model (LLaDA, Dream) every cache is approximate: a cached position's keys and values
 * were computed when the canvas held other tokens. For a block-causal model (SDAR, BD3-LM) a finished block's keys
 * and values never change, so {@link #PREFIX} is exact and {@link #DUAL} is the same as {@link #PREFIX} (no block
 * attends to a later one).
 */
public enum KvCacheMode {
    /** Every step runs the whole canvas: the reference loop. */
    NONE("none"),
    /**
     * Fast-dLLM's prefix cache: a refresh (one full forward) keeps every position before the current block; a step
     * then runs the current block and everything after it.
     */
    PREFIX("prefix"),
    /**
     * Fast-dLLM's dual cache: the positions after the current block are kept too, so a step runs only the current
     * block's tokens.
     */
    DUAL("dual");

    private final String wireName;

    KvCacheMode(String wireName) {
        this.wireName = wireName;
    }

    /** The name requests, the CLI and docs use: {@code none}, {@code prefix}, {@code dual}. */
    public String wireName() {
        return wireName;
    }

    /**
     * @throws IllegalArgumentException naming the accepted values, for any other name
     */
    public static KvCacheMode parse(String name) {
        String n = name == null ? "" : name.trim().toLowerCase(Locale.ROOT);
        for (KvCacheMode m : values()) {
            if (m.wireName.equals(n)) {
                return m;
            }
        }
        throw new IllegalArgumentException("Unknown cache '" + name + "'; use one of "
                + Arrays.stream(values()).map(KvCacheMode::wireName).collect(Collectors.joining(", "))
                + " (e.g. \"cache\": \"dual\")");
    }
}
