package dev.unmask.format;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Collections;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A package folder whose manifest was read and whose every listed file was checked: present, of the listed size, and
 * of the listed SHA-256, either hashed now or vouched for by the folder's verification record (see
 * {@link Verification}). {@code model.onnx} must hold a graph, and every file the graph keeps tensors in must be one
 * the manifest lists. Opening is the only validation step: once you hold a {@code ModelPackage}, its files are the
 * ones the packager wrote.
 */
public final class ModelPackage {

    public static final String MODEL_FILE = "model.onnx";
    public static final String MODEL_DATA_FILE = "model.onnx.data";
    public static final String TOKENIZER_FILE = "tokenizer.json";

    private final Path dir;
    private final PackageManifest manifest;
    private final Set<String> hashedAtOpen;

    private ModelPackage(Path dir, PackageManifest manifest, Set<String> hashedAtOpen) {
        this.dir = dir;
        this.manifest = manifest;
        this.hashedAtOpen = hashedAtOpen;
    }

    /**
     * Opens {@code dir} with the verification {@value Verification#ENVIRONMENT_VARIABLE} asks for: by default
     * {@link Verification#RECORDED}, which hashes only files that changed since they were last verified.
     *
     * @see #open(Path, Verification)
     */
    public static ModelPackage open(Path dir) {
        return open(dir, Verification.fromEnvironment());
    }

    /**
     * Reads {@code dir/manifest.json} (format and version checked by {@link Manifests#read}) and checks every file
     * the manifest lists: present and of the listed size, always; of the listed SHA-256, hashed now unless
     * {@code verification} is {@link Verification#RECORDED} and the folder's verification record vouches for the
     * file (same size and modification time as when it was hashed, same digest as the manifest lists). Files hashed
     * now are recorded for the next open, where the folder is writable.
     *
     * @throws PackageException naming the file, the expected and the actual value when anything does not match
     */
    public static ModelPackage open(Path dir, Verification verification) {
        Path folder = dir.toAbsolutePath().normalize();
        if (!Files.isDirectory(folder)) {
            throw new PackageException(dir + " is not a folder: point at a package folder written by "
                    + "'unmask-pack convert', e.g. models/tiny-llada/package");
        }
        PackageManifest manifest = Manifests.read(folder);
        for (String required : new String[] {MODEL_FILE, TOKENIZER_FILE}) {
            if (!manifest.files().containsKey(required)) {
                throw new PackageException(
                        folder.resolve(PackageManifest.FILE_NAME) + " does not list '" + required
                                + "' under \"files\"; every package has model.onnx and tokenizer.json. Re-package the checkpoint.");
            }
        }
        Map<String, VerificationRecord.Entry> recorded =
                verification == Verification.FULL ? Map.of() : VerificationRecord.read(folder);
        Map<String, VerificationRecord.Entry> verified = new TreeMap<>();
        Set<String> hashed = new TreeSet<>();
        for (Map.Entry<String, PackageManifest.FileEntry> e : new TreeMap<>(manifest.files()).entrySet()) {
            String name = e.getKey();
            PackageManifest.FileEntry expected = e.getValue();
            BasicFileAttributes attributes = checkPresentAndSized(folder, name, expected);
            VerificationRecord.Entry entry = recorded.get(name);
            if (entry == null || !entry.vouchesFor(attributes, expected.sha256())) {
                entry = VerificationRecord.Entry.of(attributes, checkDigest(folder.resolve(name), expected));
                hashed.add(name);
            }
            verified.put(name, entry);
        }
        checkGraphFiles(folder, manifest);
        if (!verified.equals(recorded)) {
            VerificationRecord.write(folder, verified); // best effort: a read-only folder is verified in full each time
        }
        return new ModelPackage(folder, manifest, Collections.unmodifiableSet(hashed));
    }

    /** The file's attributes, once it is known to be a file inside the folder, of the size the manifest lists. */
    private static BasicFileAttributes checkPresentAndSized(
            Path folder, String name, PackageManifest.FileEntry expected) {
        Path file;
        try {
            file = folder.resolve(name).normalize();
        } catch (InvalidPathException e) { // a NUL in the name (as the pull fuzz test found in zip entries)
            throw new PackageException("manifest.json lists '" + name.replace("\0", "\\0") + "', which is not a "
                    + "file name (" + e.getReason() + "); file names must be plain relative names like 'model.onnx'");
        }
        if (!file.startsWith(folder) || file.equals(folder)) {
            throw new PackageException("manifest.json lists '" + name + "', which is outside the package folder "
                    + folder + "; file names must be plain relative names like 'model.onnx'");
        }
        if (!PackageFolders.isContentFile(name)) {
            throw new PackageException(
                    "manifest.json lists '" + name + "', which is the package's own bookkeeping, "
                            + "not content; list only the files the packager wrote, like 'model.onnx'. Re-package the checkpoint.");
        }
        if (!Files.isRegularFile(file)) {
            throw new PackageException("Package file " + file + " is missing (the manifest lists it with sha256 "
                    + expected.sha256() + "); copy the whole package folder, or re-package the checkpoint");
        }
        BasicFileAttributes attributes;
        try {
            attributes = Files.readAttributes(file, BasicFileAttributes.class);
        } catch (IOException ex) {
            throw new PackageException("Could not read the size of package file " + file, ex);
        }
        if (attributes.size() != expected.bytes()) {
            throw new PackageException("Package file " + file + " has " + attributes.size() + " bytes, the manifest "
                    + "expects " + expected.bytes() + " (sha256 " + expected.sha256() + "): the file is truncated or "
                    + "was replaced");
        }
        return attributes;
    }

    /**
     * Checks that {@code model.onnx} holds a graph and that every file its tensors are kept in (external data, e.g.
     * {@code model.onnx.data}) is one the manifest lists, and so was checked above: a manifest that leaves the weights
     * out must not leave them unverified.
     */
    private static void checkGraphFiles(Path folder, PackageManifest manifest) {
        Path model = folder.resolve(MODEL_FILE);
        OnnxExternalData.Scan scan = OnnxExternalData.scan(model);
        if (!scan.hasGraph()) {
            throw new PackageException(
                    model + " holds no ONNX graph ("
                            + manifest.files().get(MODEL_FILE).bytes()
                            + " bytes): the file is empty or not an ONNX model. Re-copy the package or re-package the checkpoint.");
        }
        for (String location : scan.locations()) {
            if (!manifest.files().containsKey(location)) {
                throw new PackageException(model + " keeps tensors in '" + location + "', which manifest.json does "
                        + "not list under \"files\", so nothing checks it. A package lists every file its graph reads, "
                        + "e.g. \"" + MODEL_DATA_FILE
                        + "\": {\"bytes\": ..., \"sha256\": ...}; re-package the checkpoint.");
            }
        }
    }

    /** Hashes {@code file}; its digest when it is the one the manifest lists. */
    private static String checkDigest(Path file, PackageManifest.FileEntry expected) {
        String actual = Sha256.ofFile(file);
        if (!actual.equalsIgnoreCase(expected.sha256())) {
            throw new PackageException("Package file " + file + " does not match its checksum: expected sha256 "
                    + expected.sha256() + ", actual " + actual + ". The file is corrupt or was modified; "
                    + "re-copy the package or re-package the checkpoint.");
        }
        return actual;
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

    /**
     * The files this open hashed, by name: all of them after a full verification or where no record vouched for
     * them, none when the verification record covered every file.
     */
    public Set<String> hashedAtOpen() {
        return hashedAtOpen;
    }

    @Override
    public String toString() {
        return "ModelPackage[" + manifest.name() + " at " + dir + "]";
    }
}
