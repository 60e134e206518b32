package dev.unmask.packager.quant;

/**
 * The {@code accuracy_level} attribute of MatMulNBits: the minimum precision ORT may compute in.
 * {@link #INT8} lets the CPU kernel quantize the activations to int8 blockwise (fastest on CPU, adds a
 * small error); {@link #UNSET} and {@link #FP32} keep the float path, which is exact up to float rounding.
 */
public enum AccuracyLevel {
    UNSET(0, "unset"),
    FP32(1, "fp32"),
    FP16(2, "fp16"),
    BF16(3, "bf16"),
    INT8(4, "int8");

    private final int value;
    private final String label;

    AccuracyLevel(int value, String label) {
        this.value = value;
        this.label = label;
    }

    /** The attribute value, 0..4. */
    public int value() {
        return value;
    }

    public String label() {
        return label;
    }

    /**
     * The default onnxruntime-genai's builder uses: int8 activations on CPU (and WebGPU), unset elsewhere,
     * where the attribute is ignored by most execution providers.
     */
    public static AccuracyLevel defaultFor(boolean cpuTarget) {
        return cpuTarget ? INT8 : UNSET;
    }

    static AccuracyLevel parse(String text) {
        for (AccuracyLevel a : values()) {
            if (a.label.equals(text) || Integer.toString(a.value).equals(text)) {
                return a;
            }
        }
        return null;
    }
}
