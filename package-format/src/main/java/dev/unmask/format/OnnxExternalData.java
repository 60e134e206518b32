package dev.unmask.format;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;
import java.util.TreeSet;

/**
 * The files an ONNX graph keeps tensors in: the {@code location} of every tensor's {@code external_data}, found by
 * walking {@code model.onnx}'s protobuf wire format without a protobuf library and without reading the graph into
 * memory (only the messages that can hold tensors are entered; everything else, weights kept inline included, is
 * skipped by seeking). {@link ModelPackage#open} checks that the manifest lists each of them, so that no file the
 * graph reads escapes verification.
 *
 * <p>The walk enters ModelProto.graph (7) and .functions (25); GraphProto.node (1), .initializer (5),
 * .sparse_initializer (15); FunctionProto.node (7); NodeProto.attribute (5); AttributeProto.t (5), .g (6),
 * .tensors (10), .graphs (11), .sparse_tensor (22), .sparse_tensors (23); SparseTensorProto.values (1), .indices (2);
 * TensorProto.external_data (13), whose StringStringEntryProto key (1) / value (2) pairs name the file.
 */
final class OnnxExternalData {

    /** What the walk found: whether the file holds a graph at all, and the external-data files it names. */
    record Scan(boolean hasGraph, Set<String> locations) {}

    private static final int MAX_DEPTH = 64;
    private static final int MAX_STRING = 4096;

    private enum Kind {
        MODEL,
        GRAPH,
        FUNCTION,
        NODE,
        ATTRIBUTE,
        SPARSE_TENSOR,
        TENSOR,
        ENTRY
    }

    private final FileChannel channel;
    private final long size;
    private final ByteBuffer buffer = ByteBuffer.allocate(64 << 10);
    private long bufferStart;
    private long position;
    private boolean hasGraph;
    private final Set<String> locations = new TreeSet<>();

    private OnnxExternalData(FileChannel channel) throws IOException {
        this.channel = channel;
        this.size = channel.size();
        buffer.limit(0);
    }

    /**
     * Walks {@code modelFile}.
     *
     * @throws PackageException when the file is not a well-formed ONNX model (cut short, a length past its end,
     *                          nested absurdly deep)
     */
    static Scan scan(Path modelFile) {
        try (FileChannel ch = FileChannel.open(modelFile, StandardOpenOption.READ)) {
            OnnxExternalData walk = new OnnxExternalData(ch);
            walk.message(Kind.MODEL, walk.size, 0);
            return new Scan(walk.hasGraph, Set.copyOf(walk.locations));
        } catch (Malformed e) {
            throw new PackageException(modelFile + " is not a well-formed ONNX model (" + e.getMessage()
                    + "): the file is damaged or was replaced; re-copy the package or re-package the checkpoint");
        } catch (IOException e) {
            throw new PackageException("Could not read " + modelFile + ": " + e.getMessage(), e);
        }
    }

    /** Reads the fields of one message of {@code kind}, which ends at {@code end}; returns its external location. */
    private String message(Kind kind, long end, int depth) throws IOException {
        if (depth > MAX_DEPTH) {
            throw new Malformed("messages nested more than " + MAX_DEPTH + " deep");
        }
        String key = null;
        String value = null;
        while (position < end) {
            long tag = varint(end);
            int field = (int) (tag >>> 3);
            int wire = (int) (tag & 7);
            if (field == 0) {
                throw new Malformed("field number 0 at byte " + position);
            }
            switch (wire) {
                case 0 -> varint(end);
                case 1 -> skip(8, end);
                case 5 -> skip(4, end);
                case 2 -> {
                    long length = varint(end);
                    if (length < 0 || length > end - position) {
                        throw new Malformed(
                                "a field of " + length + " bytes at byte " + position + " runs past its end");
                    }
                    long fieldEnd = position + length;
                    Kind inner = inner(kind, field);
                    if (kind == Kind.MODEL && field == 7) {
                        hasGraph = true;
                    }
                    if (inner != null) {
                        String location = message(inner, fieldEnd, depth + 1);
                        if (location != null) {
                            locations.add(location);
                        }
                    } else if (kind == Kind.ENTRY && (field == 1 || field == 2)) {
                        String s = string(length);
                        if (field == 1) {
                            key = s;
                        } else {
                            value = s;
                        }
                    }
                    position = fieldEnd;
                }
                default -> throw new Malformed("wire type " + wire + " at byte " + position);
            }
        }
        if (position != end) {
            throw new Malformed("a message runs past its end at byte " + end);
        }
        return kind == Kind.ENTRY && "location".equals(key) ? value : null;
    }

    /** The kind of the message in field {@code field} of a {@code kind}; null for fields that hold no tensor. */
    private static Kind inner(Kind kind, int field) {
        return switch (kind) {
            case MODEL -> field == 7 ? Kind.GRAPH : field == 25 ? Kind.FUNCTION : null;
            case GRAPH -> field == 1 ? Kind.NODE : field == 5 ? Kind.TENSOR : field == 15 ? Kind.SPARSE_TENSOR : null;
            case FUNCTION -> field == 7 ? Kind.NODE : null;
            case NODE -> field == 5 ? Kind.ATTRIBUTE : null;
            case ATTRIBUTE ->
                switch (field) {
                    case 5, 10 -> Kind.TENSOR;
                    case 6, 11 -> Kind.GRAPH;
                    case 22, 23 -> Kind.SPARSE_TENSOR;
                    default -> null;
                };
            case SPARSE_TENSOR -> field == 1 || field == 2 ? Kind.TENSOR : null;
            case TENSOR -> field == 13 ? Kind.ENTRY : null;
            case ENTRY -> null;
        };
    }

    private long varint(long end) throws IOException {
        long result = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (position >= end) {
                throw new Malformed("cut short in a number at byte " + position);
            }
            int b = readByte();
            result |= (long) (b & 0x7f) << shift;
            if ((b & 0x80) == 0) {
                return result;
            }
        }
        throw new Malformed("a number longer than 10 bytes at byte " + position);
    }

    private void skip(long n, long end) {
        if (n > end - position) {
            throw new Malformed("cut short at byte " + position);
        }
        position += n;
    }

    private String string(long length) throws IOException {
        if (length > MAX_STRING) {
            return ""; // no file name is that long; it names nothing the manifest could list
        }
        byte[] bytes = new byte[(int) length];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) readByte();
        }
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private int readByte() throws IOException {
        if (position < bufferStart || position >= bufferStart + buffer.limit()) {
            buffer.clear();
            bufferStart = position;
            while (buffer.hasRemaining() && channel.read(buffer, bufferStart + buffer.position()) > 0) {
                // fill what the file has
            }
            buffer.flip();
            if (buffer.limit() == 0) {
                throw new Malformed("cut short at byte " + position);
            }
        }
        return buffer.get((int) (position++ - bufferStart)) & 0xff;
    }

    /** The file is not the protobuf it claims to be. */
    private static final class Malformed extends RuntimeException {
        Malformed(String message) {
            super(message, null, false, false);
        }
    }
}
