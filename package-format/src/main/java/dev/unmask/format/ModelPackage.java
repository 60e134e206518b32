package dev.unmask.format;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * A package folder whose manifest was read and whose every listed file was checked against its size and SHA-256.
 * Opening is the only validation step: once you hold a {@code ModelPackage}, its files are the ones the packager
 * wrote.
 */
public final class ModelPackage {

    public static final String MODEL_FILE = "model.onnx";
    public static final String MODEL_DATA_FILE = "model.onnx.data";
    public static final String TOKENIZER_FILE = "tokenizer.json";

    private final Path dir;
    private final PackageManifest manifest;

    private ModelPackage(Path dir, PackageManifest manifest) {
        this.dir = dir;
        this.manifest = manifest;
    }

    /**
     * Reads {@code dir/manifest.json} (format and version checked by {@link Manifests#read}) and checks every file
     * the manifest lists: present, of the listed size, and of the listed SHA-256.
     *
     * @throws PackageException naming the file, the expected and the actual value when anything does not match
     */
    public static ModelPackage open(Path dir) {
        Path folder = dir.toAbsolutePath().normalize();
        if (!Files.isDirectory(folder)) {
            throw new PackageException(dir + " is not a folder: point at a package folder written by "
                    + "'unmask-pack convert', e.g. models/tiny-llada/package");
        }
        PackageManifest manifest = Manifests.read(folder);
        for (String required : new String[] {MODEL_FILE, TOKENIZER_FILE}) {
            if (!manifest.files().containsKey(required)) {
                throw new PackageException(folder.resolve(PackageManifest.FILE_NAME) + " does not list '" + required
                        + "' under \"files\"; every package has model.onnx and tokenizer.json. Re-package the checkpoint.");
            }
        }
        Map<String, PackageManifest.FileEntry> sorted = new TreeMap<>(manifest.files());
        for (Map.Entry<String, PackageManifest.FileEntry> e : sorted.entrySet()) {
            verifyFile(folder, e.getKey(), e.getValue());
        }
        return new ModelPackage(folder, manifest);
    }

    private static void verifyFile(Path folder, String name, PackageManifest.FileEntry expected) {
        Path file = folder.resolve(name).normalize();
        if (!file.startsWith(folder)) {
            throw new PackageException("manifest.json lists '" + name + "', which is outside the package folder "
                    + folder + "; file names must be plain relative names like 'model.onnx'");
        }
        if (!Files.isRegularFile(file)) {
            throw new PackageException("Package file " + file + " is missing (the manifest lists it with sha256 "
                    + expected.sha256() + "); copy the whole package folder, or re-package the checkpoint");
        }
        long bytes;
        try {
            bytes = Files.size(file);
        } catch (java.io.IOException ex) {
            throw new PackageException("Could not read the size of package file " + file, ex);
        }
        if (bytes != expected.bytes()) {
            throw new PackageException("Package file " + file + " has " + bytes + " bytes, the manifest expects "
                    + expected.bytes() + " (sha256 " + expected.sha256() + "): the file is truncated or was replaced");
        }
        String actual = Sha256.ofFile(file);
        if (!actual.equalsIgnoreCase(expected.sha256())) {
            throw new PackageException("Package file " + file + " does not match its checksum: expected sha256 "
                    + expected.sha256() + ", actual " + actual + ". The file is corrupt or was modified; "
                    + "re-copy the package or re-package the checkpoint.");
        }
    }

    public PackageManifest manifest() {
        return manifest;
    }

    /** The package folder, absolute. */
    public Path dir() {
        return dir;
    }

    public Path modelFile() {
        return dir.resolve(MODEL_FILE);
    }

    public Path tokenizerFile() {
        return dir.resolve(TOKENIZER_FILE);
    }

    @Override
    public String toString() {
        return "ModelPackage[" + manifest.name() + " at " + dir + "]";
    }
}
