package dev.unmask.engine.model;

import java.util.List;
import java.util.Objects;

/**
 * One forward pass over windows of canvases with cached keys and values (format 3 graphs): per row, the tokens run
 * as queries, their canvas positions, where the head reads, the row's past and which of this forward's keys and
 * values to keep. Rows may differ in window, past and head lengths: the model pads them (attention_mask 0 for padded
 * keys, head positions repeating a row's last one) and returns one {@link HeadOutput} row per row.
 *
 * <p>Without a past and with {@code positionIds} {@code 0..L-1} a row is the plain full-canvas forward.
 *
 * @param rows the batch, one entry per canvas row
 */
public record CachedForward(List<Row> rows) {

    public CachedForward {
        rows = List.copyOf(rows);
        if (rows.isEmpty()) {
            throw new IllegalArgumentException("A forward needs at least one row");
        }
    }

    /** Whether any row keeps presents: the forward then asks the graph for its present keys and values. */
    public boolean wantsPresents() {
        for (Row r : rows) {
            if (!r.keep().isEmpty()) {
                return true;
            }
        }
        return false;
    }

    /**
     * One canvas row of the forward.
     *
     * @param inputIds      [sequence] the tokens run as queries
     * @param positionIds   [sequence] each one's absolute canvas position (its rotary position, its block)
     * @param headPositions [positions] indices into {@code inputIds} (not canvas positions) that get the head
     * @param past          the keys and values attended to before this window's own, or {@link Past#NONE}
     * @param keep          where this forward's keys and values go after it ran (empty: none)
     */
    public record Row(long[] inputIds, long[] positionIds, long[] headPositions, Past past, List<Keep> keep) {

        public Row {
            Objects.requireNonNull(past, "past (Past.NONE for none)");
            keep = List.copyOf(keep);
            if (inputIds.length == 0 || positionIds.length != inputIds.length) {
                throw new IllegalArgumentException("A row needs at least one token and one position id per token; got "
                        + inputIds.length + " tokens and " + positionIds.length + " position ids");
            }
            if (headPositions.length == 0) {
                throw new IllegalArgumentException("A row needs at least one head position");
            }
            for (long p : headPositions) {
                if (p < 0 || p >= inputIds.length) {
                    throw new IllegalArgumentException("head position " + p + " lies outside the window of "
                            + inputIds.length + " tokens: head positions index the window, not the canvas");
                }
            }
            for (Keep k : keep) {
                if (k.from() + k.length() > inputIds.length) {
                    throw new IllegalArgumentException(
                            "keep " + k + " reaches past the window of " + inputIds.length + " tokens");
                }
            }
        }

        /** The full-canvas forward of {@code canvas}: positions {@code 0..L-1}, no past. */
        public static Row full(long[] canvas, long[] headPositions, List<Keep> keep) {
            long[] positions = new long[canvas.length];
            for (int i = 0; i < positions.length; i++) {
                positions[i] = i;
            }
            return new Row(canvas, positions, headPositions, Past.NONE, keep);
        }
    }

    /**
     * The first {@code length} positions of {@code cache} as a row's past (keys after rotary, any order).
     *
     * @param cache  null only for {@link #NONE}
     * @param length positions read, 0 for none
     */
    public record Past(KvBuffers cache, int length) {

        public static final Past NONE = new Past(null, 0);

        public Past {
            if (length < 0 || (length > 0 && (cache == null || length > cache.positions()))) {
                throw new IllegalArgumentException("A past of " + length + " positions needs a cache that holds them");
            }
        }
    }

    /**
     * Keep this forward's keys and values of window indices {@code [from, from+length)} at positions
     * {@code [at, at+length)} of {@code into}.
     */
    public record Keep(int from, int length, KvBuffers into, int at) {

        public Keep {
            Objects.requireNonNull(into, "into");
            if (from < 0 || length < 1 || at < 0 || at + length > into.positions()) {
                throw new IllegalArgumentException("keep window [" + from + ", " + (from + length) + ") at " + at
                        + " does not fit a cache of " + into.positions() + " positions");
            }
        }
    }
}
