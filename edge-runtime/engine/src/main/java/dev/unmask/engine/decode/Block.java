package dev.unmask.engine.decode;

/**
 * One semi-autoregressive block of a canvas: the positions {@code [start, end)} resolved together, in {@code steps}
 * steps under LLaDA's schedule (a threshold or factor rule runs the block until it is resolved).
 *
 * @param start first canvas position of the block
 * @param end   one past its last position
 * @param steps steps the schedule spreads the block's masks over, between 1 and the block's length
 */
public record Block(int start, int end, int steps) {

    public Block {
        if (start < 0 || end <= start || steps < 1 || steps > end - start) {
            throw new IllegalArgumentException("A block needs 0 <= start < end and 1 <= steps <= its length; got ["
                    + start + ", " + end + ") in " + steps + " steps");
        }
    }

    public int length() {
        return end - start;
    }
}
