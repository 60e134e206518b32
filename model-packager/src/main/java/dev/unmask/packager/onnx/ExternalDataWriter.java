package dev.unmask.packager.onnx;

import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import com.google.protobuf.ByteString;
import dev.unmask.packager.ExitCode;
import dev.unmask.packager.PackagerException;
import dev.unmask.packager.checkpoint.Half;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Writes initializers: those of {@link #thresholdBytes} or more go to {@code model.onnx.data} (each at an offset
 * aligned to {@link #ALIGNMENT_BYTES}, so ONNX Runtime can memory-map them), smaller ones inline in {@code raw_data}.
 * Data is streamed through an 8 MiB buffer as it is produced.
 */
public final class ExternalDataWriter implements AutoCloseable {

    public static final String DATA_FILE = "model.onnx.data";
    public static final long DEFAULT_THRESHOLD_BYTES = 1024;
    public static final int ALIGNMENT_BYTES = 4096;
    private static final int BUFFER_BYTES = 8 << 20;

    private final Path dataFile;
    private final long thresholdBytes;
    private final ByteBuffer buffer = ByteBuffer.allocateDirect(BUFFER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    private final java.security.MessageDigest digest = dev.unmask.format.Sha256.newDigest();
    private FileChannel channel;
    private long position;
    private long externalBytes;

    public ExternalDataWriter(Path dataFile, long thresholdBytes) {
        this.dataFile = dataFile;
        this.thresholdBytes = thresholdBytes;
    }

    public long thresholdBytes() {
        return thresholdBytes;
    }

    /** True once any tensor went to the data file. */
    public boolean used() {
        return channel != null;
    }

    public long externalBytes() {
        return externalBytes;
    }

    /**
     * Writes one initializer. {@code producer} must emit exactly {@code numel(dims)} elements of {@code type}.
     */
    public TensorProto write(String name, DataType type, long[] dims, TensorBytes.Producer producer) {
        long numel = 1;
        for (long d : dims) {
            numel *= d;
        }
        long bytes = storedBytes(type, numel);
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(type.getNumber());
        for (long d : dims) {
            t.addDims(d);
        }
        if (bytes < thresholdBytes) {
            ByteBuffer heap = ByteBuffer.allocate((int) bytes).order(ByteOrder.LITTLE_ENDIAN);
            producer.produce(new Sink(type, heap, null));
            if (heap.hasRemaining()) {
                throw new IllegalStateException(
                        "initializer " + name + " got " + heap.position() + " of " + bytes + " bytes");
            }
            return t.setRawData(ByteString.copyFrom(heap.array())).build();
        }
        try {
            openIfNeeded();
            long padding = (ALIGNMENT_BYTES - position % ALIGNMENT_BYTES) % ALIGNMENT_BYTES;
            if (padding > 0) {
                ByteBuffer zeros = ByteBuffer.allocate((int) padding);
                digest.update(zeros.duplicate());
                while (zeros.hasRemaining()) {
                    position += channel.write(zeros, position);
                }
            }
            long offset = position;
            Sink sink = new Sink(type, buffer, this);
            producer.produce(sink);
            flush();
            long written = position - offset;
            if (written != bytes) {
                throw new IllegalStateException(
                        "initializer " + name + " wrote " + written + " bytes, expected " + bytes);
            }
            externalBytes += bytes;
            return t.setDataLocation(TensorProto.DataLocation.EXTERNAL)
                    .addExternalData(entry("location", DATA_FILE))
                    .addExternalData(entry("offset", Long.toString(offset)))
                    .addExternalData(entry("length", Long.toString(bytes)))
                    .build();
        } catch (IOException e) {
            throw new PackagerException(ExitCode.IO, "Could not write " + dataFile + ": " + e.getMessage(), e);
        }
    }

    private static StringStringEntryProto entry(String k, String v) {
        return StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
    }

    /**
     * Bytes {@code numel} elements of {@code type} take in {@code raw_data}: int4 and uint4 pack two elements per
     * byte (the first in the low nibble, ONNX's rule), every other type {@link #elementBytes} each.
     */
    public static long storedBytes(DataType type, long numel) {
        return type == DataType.INT4 || type == DataType.UINT4 ? (numel + 1) / 2 : numel * elementBytes(type);
    }

    public static int elementBytes(DataType type) {
        return switch (type) {
            case FLOAT, INT32, UINT32 -> 4;
            case FLOAT16, BFLOAT16, INT16, UINT16 -> 2;
            case INT64, UINT64, DOUBLE -> 8;
            case UINT8, INT8, BOOL -> 1;
            default -> throw new IllegalArgumentException("no element size for " + type);
        };
    }

    private void openIfNeeded() throws IOException {
        if (channel == null) {
            channel = FileChannel.open(dataFile, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        }
    }

    private void flush() throws IOException {
        buffer.flip();
        digest.update(buffer.duplicate());
        while (buffer.hasRemaining()) {
            position += channel.write(buffer, position);
        }
        buffer.clear();
    }

    @Override
    public void close() {
        if (channel != null) {
            try {
                channel.force(false);
                channel.close();
            } catch (IOException e) {
                throw new PackagerException(ExitCode.IO, "Could not close " + dataFile + ": " + e.getMessage(), e);
            }
        }
    }

    /**
     * SHA-256 (lower-case hex) of everything written to the data file, computed while writing so the packager need
     * not read a multi-gigabyte file back; null when nothing was written. Call after {@link #close}.
     */
    public synchronized String sha256() {
        if (channel == null) {
            return null;
        }
        if (sha256 == null) {
            sha256 = java.util.HexFormat.of().formatHex(digest.digest());
        }
        return sha256;
    }

    private String sha256;

    public Path dataFile() {
        return dataFile;
    }

    public boolean exists() {
        return Files.exists(dataFile);
    }

    /** Converts and buffers elements; flushes to the file when the buffer fills (external) or fills a heap array. */
    private static final class Sink implements TensorBytes {
        private final DataType type;
        private final ByteBuffer buf;
        private final ExternalDataWriter owner; // null for inline

        Sink(DataType type, ByteBuffer buf, ExternalDataWriter owner) {
            this.type = type;
            this.buf = buf;
            this.owner = owner;
        }

        private void ensure(int bytes) {
            if (buf.remaining() < bytes) {
                if (owner == null) {
                    throw new IllegalStateException("inline initializer overflow");
                }
                try {
                    owner.flush();
                } catch (IOException e) {
                    throw new PackagerException(
                            ExitCode.IO, "Could not write " + owner.dataFile + ": " + e.getMessage(), e);
                }
            }
        }

        @Override
        public void putFloats(float[] values, int offset, int length) {
            if (type == DataType.FLOAT) {
                for (int i = 0; i < length; i++) {
                    ensure(4);
                    buf.putFloat(values[offset + i]);
                }
            } else if (type == DataType.FLOAT16) {
                for (int i = 0; i < length; i++) {
                    ensure(2);
                    buf.putShort(Half.fromFloat(values[offset + i]));
                }
            } else {
                throw new IllegalStateException("putFloats on a " + type + " tensor");
            }
        }

        @Override
        public void putBytes(byte[] values, int offset, int length) {
            int done = 0;
            while (done < length) {
                ensure(1);
                int n = Math.min(buf.remaining(), length - done);
                buf.put(values, offset + done, n);
                done += n;
            }
        }

        @Override
        public void putLong(long value) {
            ensure(8);
            buf.putLong(value);
        }
    }
}
