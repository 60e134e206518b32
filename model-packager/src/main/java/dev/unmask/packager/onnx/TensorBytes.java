package dev.unmask.packager.onnx;

/**
 * Where a tensor's elements go while it is written, in row-major order. Implementations convert and buffer; the
 * caller streams values in any chunk sizes, so no tensor needs to be whole in the heap.
 */
public interface TensorBytes {
    /** Appends floats, stored in the tensor's own data type (fp32 or fp16). */
    void putFloats(float[] values, int offset, int length);

    /** Appends raw little-endian bytes (for uint8/int4 packed data and scales already encoded). */
    void putBytes(byte[] values, int offset, int length);

    void putLong(long value);

    /** Produces a tensor's elements into a {@link TensorBytes}. */
    @FunctionalInterface
    interface Producer {
        void produce(TensorBytes out);
    }
}
