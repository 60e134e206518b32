package dev.unmask.packager.quant;

import dev.unmask.packager.checkpoint.Half;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * One {@code nn.Linear} weight as Hugging Face stores it, {@code [N = out_features, K = in_features]}
 * row-major, read one output row at a time so that a quantizer never holds more than one row of floats.
 * Implementations may read from a memory-mapped safetensors file; the factories below wrap buffers as
 * views, without copying.
 */
@FunctionalInterface
public interface FloatRowSource {

    /** Writes row {@code n} (the K input weights of output unit n) into {@code dst[0 .. K)}. */
    void readRow(int n, float[] dst);

    /** Rows of {@code k} floats in a row-major array {@code [N, K]}. */
    static FloatRowSource of(float[] rowMajor, int k) {
        return (n, dst) -> System.arraycopy(rowMajor, Math.multiplyExact(n, k), dst, 0, k);
    }

    /** Rows of {@code k} floats from an absolute position 0 of {@code weights} ({@code [N, K]}, row-major). */
    static FloatRowSource of(FloatBuffer weights, int k) {
        FloatBuffer view = weights.duplicate();
        return (n, dst) -> view.get(Math.multiplyExact(n, k), dst, 0, k);
    }

    /** Rows of {@code k} bfloat16 values (safetensors {@code BF16}, little-endian) from position 0 of {@code bytes}. */
    static FloatRowSource bf16(ByteBuffer bytes, int k) {
        ByteBuffer view = bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        return (n, dst) -> {
            int base = Math.multiplyExact(Math.multiplyExact(n, k), 2);
            for (int i = 0; i < k; i++) {
                dst[i] = Float.intBitsToFloat((view.getShort(base + 2 * i) & 0xffff) << 16);
            }
        };
    }

    /** Rows of {@code k} float16 values (safetensors {@code F16}, little-endian) from position 0 of {@code bytes}. */
    static FloatRowSource fp16(ByteBuffer bytes, int k) {
        ByteBuffer view = bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        return (n, dst) -> {
            int base = Math.multiplyExact(Math.multiplyExact(n, k), 2);
            for (int i = 0; i < k; i++) {
                dst[i] = Half.toFloat(view.getShort(base + 2 * i));
            }
        };
    }
}
