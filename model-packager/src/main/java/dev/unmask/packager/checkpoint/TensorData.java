package dev.unmask.packager.checkpoint;

import dev.unmask.packager.ExitCode;
import dev.unmask.packager.PackagerException;
import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;

/**
 * The memory-mapped bytes of one tensor, read row by row as floats. Mapped in chunks of whole rows (each chunk under
 * 1 GiB, so tensors of any size work) and unmapped on {@link #close}, so the resident set holds one tensor at most.
 */
public final class TensorData implements AutoCloseable {

    private static final long CHUNK_BYTES = 1L << 30;

    private final TensorEntry entry;
    private final MappedByteBuffer[] chunks;
    private final long rowsPerChunk;
    private final long rowBytes;
    private final int elementBytes;

    private TensorData(TensorEntry entry, MappedByteBuffer[] chunks, long rowsPerChunk, long rowBytes) {
        this.entry = entry;
        this.chunks = chunks;
        this.rowsPerChunk = rowsPerChunk;
        this.rowBytes = rowBytes;
        this.elementBytes = entry.dtype().bytes();
    }

    static TensorData map(FileChannel channel, TensorEntry entry) {
        long rows = entry.rows();
        long rowBytes = entry.cols() * entry.dtype().bytes();
        if (rowBytes > CHUNK_BYTES) {
            throw new PackagerException(
                    ExitCode.BAD_CHECKPOINT,
                    entry.file() + ": tensor '" + entry.name() + "' has rows of " + rowBytes
                            + " bytes; rows over 1 GiB are not supported");
        }
        long rowsPerChunk = rowBytes == 0 ? Math.max(1, rows) : Math.max(1, CHUNK_BYTES / rowBytes);
        int n = (int) Math.max(1, (rows + rowsPerChunk - 1) / rowsPerChunk);
        MappedByteBuffer[] chunks = new MappedByteBuffer[n];
        try {
            for (int i = 0; i < n; i++) {
                long firstRow = i * rowsPerChunk;
                long chunkRows = Math.min(rowsPerChunk, rows - firstRow);
                long bytes = Math.max(0, chunkRows * rowBytes);
                chunks[i] = channel.map(FileChannel.MapMode.READ_ONLY, entry.dataOffset() + firstRow * rowBytes, bytes);
                chunks[i].order(ByteOrder.LITTLE_ENDIAN);
            }
        } catch (IOException e) {
            for (MappedByteBuffer b : chunks) {
                unmap(b);
            }
            throw new PackagerException(
                    ExitCode.BAD_CHECKPOINT,
                    "Cannot map tensor '" + entry.name() + "' of " + entry.file() + ": " + e.getMessage(),
                    e);
        }
        return new TensorData(entry, chunks, rowsPerChunk, rowBytes);
    }

    public TensorEntry entry() {
        return entry;
    }

    /** Copies elements {@code [from, from+count)} of row {@code row} into {@code dst[dstOffset…]} as floats. */
    public void readRow(long row, int from, int count, float[] dst, int dstOffset) {
        MappedByteBuffer chunk = chunks[(int) (row / rowsPerChunk)];
        int base = (int) ((row % rowsPerChunk) * rowBytes) + from * elementBytes;
        DType dtype = entry.dtype();
        for (int i = 0; i < count; i++) {
            dst[dstOffset + i] = dtype.read(chunk, base + i * elementBytes);
        }
    }

    @Override
    public void close() {
        for (int i = 0; i < chunks.length; i++) {
            unmap(chunks[i]);
            chunks[i] = null;
        }
    }

    // Unmaps now rather than at some later GC, so converting a 16 GB checkpoint keeps one tensor resident.
    private static final Object UNSAFE;
    private static final Method INVOKE_CLEANER;

    static {
        Object unsafe = null;
        Method cleaner = null;
        try {
            Class<?> c = Class.forName("sun.misc.Unsafe");
            Field f = c.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            unsafe = f.get(null);
            cleaner = c.getMethod("invokeCleaner", java.nio.ByteBuffer.class);
        } catch (ReflectiveOperationException | RuntimeException e) {
            // fall back to unmapping at GC
        }
        UNSAFE = unsafe;
        INVOKE_CLEANER = cleaner;
    }

    private static void unmap(MappedByteBuffer buffer) {
        if (buffer == null || INVOKE_CLEANER == null) {
            return;
        }
        try {
            INVOKE_CLEANER.invoke(UNSAFE, buffer);
        } catch (ReflectiveOperationException | RuntimeException e) {
            // left to the GC
        }
    }
}
