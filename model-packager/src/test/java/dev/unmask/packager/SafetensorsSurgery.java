package dev.unmask.packager;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;

/** Test helpers that write real (or deliberately broken) checkpoints. */
public final class SafetensorsSurgery {
    private static final ObjectMapper JSON = new ObjectMapper();

    private SafetensorsSurgery() {}

    /** Copies the tiny checkpoint's small files (config, tokenizer, generation config) into {@code dir}. */
    public static Path copyTinyWithoutWeights(Path dir) {
        try {
            Files.createDirectories(dir);
            for (String f :
                    List.of("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json")) {
                Files.copy(TinyModel.checkpoint().resolve(f), dir.resolve(f));
            }
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A full copy of the tiny checkpoint in {@code dir}. */
    public static Path copyTiny(Path dir) {
        copyTinyWithoutWeights(dir);
        try {
            Files.copy(TinyModel.checkpoint().resolve("model.safetensors"), dir.resolve("model.safetensors"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return dir;
    }

    /** Reads {@code src}'s header, lets {@code edit} change it, and writes the edited header plus the same data to {@code dst}. */
    public static void rewriteHeader(Path src, Path dst, Consumer<ObjectNode> edit) {
        try {
            byte[] all = Files.readAllBytes(src);
            long n = ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            ObjectNode header = (ObjectNode) JSON.readTree(new String(all, 8, (int) n, StandardCharsets.UTF_8));
            edit.accept(header);
            writeFile(dst, header, all, 8 + (int) n, all.length - 8 - (int) n);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void writeFile(Path dst, ObjectNode header, byte[] data, int dataOffset, int dataLength) throws IOException {
        byte[] h = JSON.writeValueAsBytes(header);
        int padded = (h.length + 7) / 8 * 8;
        byte[] hp = new byte[padded];
        java.util.Arrays.fill(hp, (byte) ' ');
        System.arraycopy(h, 0, hp, 0, h.length);
        try (OutputStream os = Files.newOutputStream(dst)) {
            os.write(ByteBuffer.allocate(8)
                    .order(ByteOrder.LITTLE_ENDIAN)
                    .putLong(padded)
                    .array());
            os.write(hp);
            os.write(data, dataOffset, dataLength);
        }
    }

    /** Writes a safetensors file with one tensor per entry: name, dtype, shape, raw little-endian bytes. */
    public static void write(Path dst, List<Object[]> tensors) {
        try {
            ObjectNode header = JSON.createObjectNode();
            java.io.ByteArrayOutputStream data = new java.io.ByteArrayOutputStream();
            for (Object[] t : tensors) {
                ObjectNode e = header.putObject((String) t[0]);
                e.put("dtype", (String) t[1]);
                var shape = e.putArray("shape");
                for (long d : (long[]) t[2]) {
                    shape.add(d);
                }
                byte[] bytes = (byte[]) t[3];
                var off = e.putArray("data_offsets");
                off.add(data.size());
                off.add(data.size() + bytes.length);
                data.write(bytes);
            }
            byte[] d = data.toByteArray();
            writeFile(dst, header, d, 0, d.length);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** True when {@code parent} holds nothing whose name contains {@code outName} (no package, no partial folder). */
    public static boolean nothingNamedLike(Path parent, String outName) {
        if (!Files.isDirectory(parent)) {
            return true;
        }
        try (Stream<Path> s = Files.list(parent)) {
            return s.noneMatch(p -> p.getFileName().toString().contains(outName));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
