package dev.unmask.packager.quant;

import dev.unmask.packager.onnx.LinearRole;
import java.util.Locale;

/**
 * Precision of the output head ({@code lm_head}) when the projections are quantized. The head sees every
 * vocabulary logit, so its error moves the top-1 choice more than any one layer's; the best converters keep it
 * wider (onnxruntime-genai: {@code last_matmul:int8}; llama.cpp: Q6_K/Q8_0 output tensors).
 */
public enum HeadPrecision {
    /** The same scheme as the projections. */
    SAME("same"),
    /** int8 with the projections' block size, symmetry and accuracy level. */
    INT8("int8"),
    /** Not quantized: a float MatMul stored in the package's dtype (fp32 or fp16). */
    FLOAT("float");

    private final String label;

    HeadPrecision(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }

    /** Parses {@code same}, {@code int8} or {@code float}, e.g. {@code --quant-head int8}. */
    public static HeadPrecision parse(String text) {
        String t = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
        for (HeadPrecision p : values()) {
            if (p.label.equals(t)) {
                return p;
            }
        }
        throw new IllegalArgumentException(
                "Bad head precision '" + text + "': use same, int8 or float," + " e.g. --quant-head int8");
    }

    /** The scheme the head gets under {@code body}, or null for {@link #FLOAT}. */
    public QuantScheme schemeFor(QuantScheme body) {
        return switch (this) {
            case SAME -> body;
            case INT8 ->
                body.integerGemm() // the integer GEMM's int8 is per channel
                        ? new QuantScheme(
                                QuantBits.INT8, QuantScheme.PER_CHANNEL, Symmetry.SYMMETRIC, AccuracyLevel.INT8)
                        : new QuantScheme(QuantBits.INT8, body.blockSize(), body.symmetry(), body.accuracyLevel());
            case FLOAT -> null;
        };
    }

    /** The scheme a weight of {@code role} gets under {@code body}: the head's for the sampling head, else {@code body}. */
    public QuantScheme schemeFor(QuantScheme body, LinearRole role) {
        return role == LinearRole.SAMPLING_HEAD ? schemeFor(body) : body;
    }

    /**
     * The manifest's {@code precision.quantization} for layers quantized with {@code body}: the canonical scheme,
     * e.g. {@code int4:block=32:sym:acc=4}, followed by {@code ;head=<scheme|float>} when the head differs.
     */
    public String describe(QuantScheme body) {
        QuantScheme headScheme = schemeFor(body);
        if (body.equals(headScheme)) {
            return body.toString();
        }
        return body + ";head=" + (headScheme == null ? "float" : headScheme.toString());
    }
}
