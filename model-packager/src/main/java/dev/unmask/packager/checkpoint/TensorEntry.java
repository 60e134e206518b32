package dev.unmask.packager.checkpoint;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * One tensor of a safetensors file, as its header describes it (already validated against the file's size).
 *
 * @param file        the shard holding it
 * @param dataOffset  absolute byte offset of its first element in {@code file}
 * @param byteLength  bytes of data ({@code numel * dtype.bytes()})
 */
public record TensorEntry(String name, DType dtype, long[] shape, Path file, long dataOffset, long byteLength) {

    public long numel() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    /** Rows of the tensor seen as a matrix: the product of all dims but the last (1 for a vector). */
    public long rows() {
        return shape.length == 0 ? 1 : numel() / Math.max(1, shape[shape.length - 1]);
    }

    /** The last dim (the contiguous one). */
    public long cols() {
        return shape.length == 0 ? 1 : shape[shape.length - 1];
    }

    public String shapeString() {
        return Arrays.toString(shape);
    }
}
