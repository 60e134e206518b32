package dev.unmask.packager.quant;

/**
 * Width of one quantized weight code in {@code com.microsoft::MatMulNBits}. Codes are always stored
 * unsigned ({@code 0 .. maxCode}); a symmetric scheme uses the implicit zero point {@link #midCode()}.
 */
public enum QuantBits {
    /** 4-bit codes, two per byte, the first element in the low nibble. */
    INT4(4),
    /** 8-bit codes, one per byte. */
    INT8(8);

    private final int bits;

    QuantBits(int bits) {
        this.bits = bits;
    }

    /** The {@code bits} attribute of MatMulNBits. */
    public int bits() {
        return bits;
    }

    /** Largest code: 15 for int4, 255 for int8. */
    public int maxCode() {
        return (1 << bits) - 1;
    }

    /** Default zero point ORT uses when no zero points are given: {@code 2^(bits-1)} (8, 128). */
    public int midCode() {
        return 1 << (bits - 1);
    }

    /** Codes packed into one byte: 2 for int4, 1 for int8. */
    public int codesPerByte() {
        return 8 / bits;
    }

    /** Bytes of one packed block along K: {@code block_size * bits / 8}. */
    public int blobBytes(int blockSize) {
        return blockSize * bits / 8;
    }

    /** Bytes of packed zero points per output row: {@code ceil(k_blocks * bits / 8)}. */
    public int zeroPointBytesPerRow(int kBlocks) {
        return (kBlocks * bits + 7) / 8;
    }

    /** The CLI spelling: {@code int4}, {@code int8}. */
    public String label() {
        return "int" + bits;
    }

    static QuantBits fromLabel(String label) {
        for (QuantBits b : values()) {
            if (b.label().equals(label)) {
                return b;
            }
        }
        return null;
    }
}
