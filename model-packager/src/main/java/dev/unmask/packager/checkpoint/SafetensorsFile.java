package dev.unmask.packager.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unmask.packager.ExitCode;
import dev.unmask.packager.PackagerException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One {@code .safetensors} file: its header parsed and checked against the file, its data read through memory
 * maps one tensor at a time (never the whole file in the heap; any file size, offsets are {@code long}).
 *
 * <p>Checks, each with an error naming the file and the tensor: the header length fits the file; every tensor has a
 * supported dtype, a non-negative shape and {@code data_offsets} whose span equals {@code numel * dtype size}; the
 * tensors tile the data buffer without holes or overlaps; the last one ends inside the file (else: truncated).
 */
public final class SafetensorsFile implements AutoCloseable {

    static final long MAX_HEADER_BYTES = 100_000_000L;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private final FileChannel channel;
    private final Map<String, TensorEntry> tensors;
    private final Map<String, String> metadata;

    private SafetensorsFile(
            Path file, FileChannel channel, Map<String, TensorEntry> tensors, Map<String, String> metadata) {
        this.file = file;
        this.channel = channel;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    public static SafetensorsFile open(Path file) {
        FileChannel ch;
        try {
            ch = FileChannel.open(file, StandardOpenOption.READ);
        } catch (IOException e) {
            throw new PackagerException(ExitCode.BAD_CHECKPOINT, "Cannot open " + file + ": " + e.getMessage(), e);
        }
        try {
            return parse(file, ch);
        } catch (RuntimeException e) {
            closeQuietly(ch);
            throw e;
        }
    }

    private static SafetensorsFile parse(Path file, FileChannel ch) {
        try {
            long size = ch.size();
            if (size < 8) {
                throw bad(
                        file,
                        "is " + size
                                + " bytes long, shorter than the 8-byte header length: the file is truncated or not safetensors");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0);
            long headerLen = lenBuf.getLong(0);
            if (headerLen <= 0 || headerLen > MAX_HEADER_BYTES) {
                throw bad(
                        file,
                        "declares a header of " + headerLen + " bytes; a safetensors header is 1 to " + MAX_HEADER_BYTES
                                + " bytes: the file is corrupt or not safetensors");
            }
            if (8 + headerLen > size) {
                throw bad(
                        file,
                        "declares a " + headerLen + "-byte header but the file has only " + size
                                + " bytes: the file is truncated (re-download it)");
            }
            ByteBuffer header = ByteBuffer.allocate((int) headerLen);
            readFully(ch, header, 8);
            String json = new String(header.array(), StandardCharsets.UTF_8);
            JsonNode root;
            try {
                root = JSON.readTree(json);
            } catch (IOException e) {
                throw bad(file, "has a header that is not JSON (" + e.getMessage() + ")");
            }
            if (root == null || !root.isObject()) {
                throw bad(
                        file,
                        "has a header that is not a JSON object like {\"name\": {\"dtype\": \"BF16\", \"shape\": [2, 3], \"data_offsets\": [0, 12]}}");
            }
            long dataStart = 8 + headerLen;
            long dataBytes = size - dataStart;
            Map<String, String> metadata = new LinkedHashMap<>();
            List<TensorEntry> entries = new ArrayList<>();
            List<long[]> spans = new ArrayList<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> f = it.next();
                String name = f.getKey();
                JsonNode t = f.getValue();
                if (name.equals("__metadata__")) {
                    t.fields()
                            .forEachRemaining(
                                    m -> metadata.put(m.getKey(), m.getValue().asText()));
                    continue;
                }
                JsonNode dtypeNode = t.get("dtype");
                JsonNode shapeNode = t.get("shape");
                JsonNode offsetsNode = t.get("data_offsets");
                if (dtypeNode == null
                        || shapeNode == null
                        || !shapeNode.isArray()
                        || offsetsNode == null
                        || !offsetsNode.isArray()
                        || offsetsNode.size() != 2) {
                    throw bad(
                            file,
                            "tensor '" + name + "' lacks dtype, shape or data_offsets [begin, end] in the header");
                }
                DType dtype = DType.fromSafetensors(dtypeNode.asText(), file.toString(), name);
                long[] shape = new long[shapeNode.size()];
                long numel = 1;
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = shapeNode.get(i).asLong(-1);
                    if (shape[i] < 0) {
                        throw bad(
                                file,
                                "tensor '" + name + "' has a negative or non-integer dimension in shape " + shapeNode);
                    }
                    numel = Math.multiplyExact(numel, shape[i]);
                }
                long begin = offsetsNode.get(0).asLong(-1);
                long end = offsetsNode.get(1).asLong(-1);
                long expected = Math.multiplyExact(numel, dtype.bytes());
                if (begin < 0 || end < begin) {
                    throw bad(
                            file,
                            "tensor '" + name + "' has data_offsets [" + begin + ", " + end
                                    + "]; expected 0 <= begin <= end");
                }
                if (end - begin != expected) {
                    throw bad(
                            file,
                            "the header lies about tensor '" + name + "': data_offsets [" + begin + ", " + end
                                    + "] span " + (end - begin) + " bytes, but dtype " + dtype.safetensorsName()
                                    + " shape "
                                    + java.util.Arrays.toString(shape) + " needs " + expected + " bytes");
                }
                if (end > dataBytes) {
                    throw bad(
                            file,
                            "is truncated: tensor '" + name + "' ends at data byte " + end + " (file byte "
                                    + (dataStart + end) + ") but the file has only " + size
                                    + " bytes. Re-download the checkpoint.");
                }
                entries.add(new TensorEntry(name, dtype, shape, file, dataStart + begin, end - begin));
                spans.add(new long[] {begin, end, entries.size() - 1});
            }
            spans.sort(Comparator.comparingLong((long[] s) -> s[0]).thenComparingLong(s -> s[1]));
            long cursor = 0;
            for (long[] s : spans) {
                if (s[0] != cursor) {
                    String n = entries.get((int) s[2]).name();
                    throw bad(
                            file,
                            "the header lies about offsets: tensor '" + n + "' starts at data byte " + s[0]
                                    + " but the previous tensor ends at " + cursor
                                    + (s[0] < cursor ? " (overlap)" : " (hole)")
                                    + "; safetensors tensors tile the data buffer contiguously");
                }
                cursor = s[1];
            }
            Map<String, TensorEntry> byName = new LinkedHashMap<>();
            for (TensorEntry e : entries) {
                byName.put(e.name(), e);
            }
            return new SafetensorsFile(
                    file, ch, Collections.unmodifiableMap(byName), Collections.unmodifiableMap(metadata));
        } catch (IOException e) {
            throw new PackagerException(ExitCode.BAD_CHECKPOINT, "Cannot read " + file + ": " + e.getMessage(), e);
        } catch (ArithmeticException e) {
            throw bad(file, "has a tensor whose size overflows 64 bits: the header is corrupt");
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        long pos = position;
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos);
            if (n < 0) {
                throw new IOException("unexpected end of file at byte " + pos);
            }
            pos += n;
        }
    }

    private static PackagerException bad(Path file, String what) {
        return new PackagerException(ExitCode.BAD_CHECKPOINT, file + " " + what);
    }

    public Path file() {
        return file;
    }

    public Map<String, TensorEntry> tensors() {
        return tensors;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    /** Maps {@code entry}'s bytes for reading; close the returned view to unmap them at once. */
    public TensorData map(TensorEntry entry) {
        return TensorData.map(channel, entry);
    }

    @Override
    public void close() {
        closeQuietly(channel);
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // nothing to do: the file was only read
        }
    }
}
