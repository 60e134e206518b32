package dev.unmask.format;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A package folder with the files and manifest of a real one but made-up bytes: what {@link ModelPackage#open} checks
 * (names, sizes, digests, format version) without a converter or ONNX Runtime.
 */
final class SyntheticPackage {

    private SyntheticPackage() {}

    /** Writes {@code model.onnx}, {@code model.onnx.data} (64 KiB), {@code tokenizer.json} and their manifest. */
    static Path write(Path dir) {
        try {
            Files.createDirectories(dir);
            Random random = new Random(42);
            byte[] data = new byte[64 << 10];
            random.nextBytes(data);
            Files.write(dir.resolve(ModelPackage.MODEL_DATA_FILE), data);
            Files.write(dir.resolve(ModelPackage.MODEL_FILE), graphWithExternalData(ModelPackage.MODEL_DATA_FILE));
            Files.writeString(dir.resolve(ModelPackage.TOKENIZER_FILE), "{\"model\": {\"type\": \"BPE\"}}");
            Map<String, PackageManifest.FileEntry> files = new LinkedHashMap<>();
            for (String name :
                    List.of(ModelPackage.MODEL_FILE, ModelPackage.MODEL_DATA_FILE, ModelPackage.TOKENIZER_FILE)) {
                Path p = dir.resolve(name);
                files.put(name, new PackageManifest.FileEntry(Files.size(p), Sha256.ofFile(p)));
            }
            Manifests.write(manifest(files), dir);
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The protobuf bytes of an ONNX ModelProto whose graph has one initializer kept in {@code location}:
     * {@code ir_version: 8, graph { initializer { name: "w", data_location: EXTERNAL,
     * external_data { key: "location", value: location } } }}.
     */
    static byte[] graphWithExternalData(String location) {
        byte[] entry = concat(field(1, "location".getBytes()), field(2, location.getBytes()));
        byte[] tensor = concat(field(8, "w".getBytes()), new byte[] {(byte) (14 << 3), 1}, field(13, entry));
        byte[] graph = field(5, tensor);
        return concat(new byte[] {(byte) (1 << 3), 8}, field(7, graph));
    }

    /** A length-delimited protobuf field (lengths under 128, which is all these tests need). */
    static byte[] field(int number, byte[] value) {
        return concat(new byte[] {(byte) (number << 3 | 2), (byte) value.length}, value);
    }

    static byte[] concat(byte[]... parts) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    /** Rewrites the manifest so that it lists {@code name} as it now is on disk, or not at all when it is gone. */
    static void relist(Path dir, String name) {
        try {
            Map<String, PackageManifest.FileEntry> files =
                    new LinkedHashMap<>(Manifests.read(dir).files());
            Path p = dir.resolve(name);
            if (Files.exists(p)) {
                files.put(name, new PackageManifest.FileEntry(Files.size(p), Sha256.ofFile(p)));
            } else {
                files.remove(name);
            }
            Manifests.write(manifest(files), dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static PackageManifest manifest(Map<String, PackageManifest.FileEntry> files) {
        return new PackageManifest(
                PackageManifest.FORMAT,
                PackageManifest.CURRENT_FORMAT_VERSION,
                "synthetic",
                new PackageManifest.Architecture(
                        "llada", "llada", 2, 64, 4, 2, 16, 128, 256, 256, 128, 10000.0, 1e-5, true, false),
                new PackageManifest.Source("synthetic", "0".repeat(64), Map.of()),
                new PackageManifest.Precision("fp32", "none"),
                new PackageManifest.Graph(
                        21, 10, 8, false, GraphSignature.inputs(), GraphSignature.outputs(8, 256, false)),
                new PackageManifest.SpecialTokens(3, 1, 2, 0, 1),
                new PackageManifest.GenerationDefaults(32, 32, 32, 0.0, "low_confidence", 0.0),
                null,
                files,
                new PackageManifest.Packager("test", "0", "2026-12-01T00:00:00Z"),
                null);
    }

    /** Flips one bit at {@code offset}: same size; the modification time is put back as it was. */
    static void flipOneBitKeepingSizeAndTime(Path file, long offset) {
        try {
            FileTime modified = Files.getLastModifiedTime(file);
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                ByteBuffer b = ByteBuffer.allocate(1);
                ch.read(b, offset);
                b.put(0, (byte) (b.get(0) ^ 0x40));
                b.rewind();
                ch.write(b, offset);
            }
            Files.setLastModifiedTime(file, modified);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Moves the modification time an hour on, as touching or rewriting the file would. */
    static void touch(Path file) {
        try {
            FileTime modified = Files.getLastModifiedTime(file);
            Files.setLastModifiedTime(file, FileTime.fromMillis(modified.toMillis() + 3_600_000));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
