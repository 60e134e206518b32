package dev.unmask.packager.quant;

/**
 * How a block's range maps onto the codes.
 * <ul>
 *   <li>{@link #SYMMETRIC}: no zero-point tensor; ORT's implicit zero point {@code 2^(bits-1)};
 *       {@code scale = -m / 2^(bits-1)} where {@code m} is the block's element of largest magnitude
 *       (sign kept), so that element maps to code 0 and the wider half of the code range.</li>
 *   <li>{@link #ASYMMETRIC}: packed uint8 zero points per block; {@code scale = (max - min) / maxCode}
 *       over the block's range widened to include 0.</li>
 * </ul>
 */
public enum Symmetry {
    SYMMETRIC("sym"),
    ASYMMETRIC("asym");

    private final String label;

    Symmetry(String label) {
        this.label = label;
    }

    /** The CLI spelling: {@code sym}, {@code asym}. */
    public String label() {
        return label;
    }

    public boolean hasZeroPoints() {
        return this == ASYMMETRIC;
    }
}
