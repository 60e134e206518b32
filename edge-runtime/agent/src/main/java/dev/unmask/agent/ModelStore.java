package dev.unmask.agent;

import dev.unmask.failure.Failure;
import dev.unmask.failure.UnmaskException;
import dev.unmask.format.Manifests;
import dev.unmask.format.ModelPackage;
import dev.unmask.format.PackageException;
import dev.unmask.format.PackageFolders;
import dev.unmask.format.PackageManifest;
import dev.unmask.format.Verification;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * The installed models: one verified package folder per model name, under one root folder.
 *
 * <p>A pull copies or extracts the package into a hidden staging folder inside the root ({@value #STAGING_PREFIX}*),
 * verifies every file against the manifest's size and SHA-256 ({@link Verification#FULL}, which also writes the
 * verification record that later runs trust), and only then renames the folder to the model's name. An interrupted or corrupt pull therefore never leaves a folder under a model name; a
 * staging folder left by a killed process is hidden from {@link #list()} and swept by the next pull.
 */
public final class ModelStore {

    /** Model names: lower-case letters, digits, '.', '_', '-'; up to 64; no leading dot, so never "..". */
    public static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,63}");

    public static final String NAME_EXAMPLE = "tiny-llada";
    /** Overrides the data folder; the store is its {@code models} folder. */
    public static final String HOME_ENV = "UNMASK_HOME";

    static final String STAGING_PREFIX = ".pull-";
    static final String TRASH_PREFIX = ".rm-";
    /** Staging folders older than this are from a pull that was killed, and are swept. */
    private static final Duration STALE_STAGING = Duration.ofHours(1);

    /** An installed model. */
    public record Installed(String name, Path dir, PackageManifest manifest, long bytes) {}

    private final Path root;

    public ModelStore(Path root) {
        this.root = root.toAbsolutePath().normalize();
    }

    /**
     * The store of this user: {@code $UNMASK_HOME/models}; else, on Linux, {@code $XDG_DATA_HOME/unmask/models} or
     * {@code ~/.local/share/unmask/models}; {@code ~/Library/Application Support/unmask/models} on macOS;
     * {@code %LOCALAPPDATA%/unmask/models} on Windows.
     */
    public static Path defaultRoot() {
        String home = System.getenv(HOME_ENV);
        if (home != null && !home.isBlank()) {
            return Path.of(home).resolve("models");
        }
        Path user = Path.of(System.getProperty("user.home"));
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        if (os.contains("win")) {
            String local = System.getenv("LOCALAPPDATA");
            return (local != null ? Path.of(local) : user.resolve("AppData/Local")).resolve("unmask/models");
        }
        if (os.contains("mac")) {
            return user.resolve("Library/Application Support/unmask/models");
        }
        String xdg = System.getenv("XDG_DATA_HOME");
        return (xdg != null && !xdg.isBlank() ? Path.of(xdg) : user.resolve(".local/share")).resolve("unmask/models");
    }

    public Path root() {
        return root;
    }

    /** Checks a model name; the message shows a correct one. */
    public static String checkName(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("'" + name + "' is not a model name: use 1 to 64 lower-case letters, "
                    + "digits, '.', '_' or '-', starting with a letter or digit, e.g. " + NAME_EXAMPLE);
        }
        return name;
    }

    /** Whether {@code name} could name a model (not whether one is installed). */
    public static boolean isName(String name) {
        return name != null && NAME.matcher(name).matches();
    }

    /** The folder of model {@code name}, checked to stay inside the store (also through symbolic links). */
    Path dirOf(String name) {
        Path dir = root.resolve(checkName(name)).normalize();
        if (!root.equals(dir.getParent())) {
            throw new IllegalArgumentException("Model name '" + name + "' resolves outside the store " + root);
        }
        if (Files.isSymbolicLink(dir)) {
            throw new PackageException(dir + " is a symbolic link; the store holds only the folders 'unmask pull' "
                    + "installs. Remove the link and pull the package instead.");
        }
        if (Files.exists(dir)) {
            try {
                Path real = dir.toRealPath();
                if (!real.startsWith(root.toRealPath())) {
                    throw new PackageException(dir + " leads outside the store (to " + real + "); remove it and pull "
                            + "the package instead");
                }
            } catch (IOException e) {
                throw new UncheckedIOException("Could not read " + dir, e);
            }
        }
        return dir;
    }

    /** The installed model {@code name}, when there is one. */
    public Optional<Path> find(String name) {
        Path dir = dirOf(name);
        return Files.isRegularFile(dir.resolve(PackageManifest.FILE_NAME), LinkOption.NOFOLLOW_LINKS)
                ? Optional.of(dir)
                : Optional.empty();
    }

    /** The package folder of the installed model {@code name}; a {@link PackageException} saying how to get it. */
    public Path require(String name) {
        return find(name)
                .orElseThrow(() -> new PackageException("No model named '" + name + "' in the store "
                        + root + ": 'unmask list' shows the installed ones; install it with "
                        + "'unmask pull <package folder | .zip | https URL> --name " + name + "'"));
    }

    /** The installed models, by name; manifests are read, checksums are not (a pull checked them). */
    public List<Installed> list() {
        if (!Files.isDirectory(root)) {
            return List.of();
        }
        List<Installed> out = new ArrayList<>();
        try (Stream<Path> children = Files.list(root)) {
            for (Path dir : children.sorted().toList()) {
                String name = dir.getFileName().toString();
                if (!isName(name)
                        || !Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)
                        || !Files.isRegularFile(dir.resolve(PackageManifest.FILE_NAME))) {
                    continue; // staging and trash folders, stray files, links
                }
                out.add(installed(name, dir));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Could not list the store " + root, e);
        }
        return out;
    }

    /** The installed model {@code name} with its manifest. */
    public Installed show(String name) {
        return installed(name, require(name));
    }

    private static Installed installed(String name, Path dir) {
        PackageManifest manifest = Manifests.read(dir);
        long bytes = 0;
        for (PackageManifest.FileEntry f : manifest.files().values()) {
            bytes += f.bytes();
        }
        return new Installed(name, dir, manifest, bytes);
    }

    /**
     * Installs a package from a package folder, a {@code .zip} of one (the package at its top or in its one folder),
     * or an {@code https://} URL of such a zip.
     *
     * @param name     the model name; null = the manifest's name, lower-cased
     * @param replace  replace an installed model of that name
     * @param progress one line per stage, for the user
     * @throws PackageException         when the package is incomplete or corrupt; nothing is installed
     * @throws IllegalArgumentException for a bad source or name, or a name already installed
     */
    public Installed pull(String source, String name, boolean replace, Consumer<String> progress) {
        if (name != null) {
            checkName(name);
        }
        try {
            Files.createDirectories(root);
        } catch (IOException e) {
            throw new UncheckedIOException("Could not create the store folder " + root, e);
        }
        sweepStale();
        Path staging;
        try {
            staging = Files.createTempDirectory(root, STAGING_PREFIX);
        } catch (IOException e) {
            throw new UncheckedIOException("Could not create a staging folder in " + root, e);
        }
        try {
            Path content = staging.resolve("content");
            fetch(source, staging, content, progress);
            Path packageDir = packageFolderIn(content, source);
            progress.accept("verifying every file against its SHA-256");
            ModelPackage verified = ModelPackage.open(packageDir, Verification.FULL); // and recorded: runs trust it
            String target = name != null ? name : nameFrom(verified.manifest());
            Path dest = dirOf(target);
            install(packageDir, dest, replace);
            progress.accept("installed '" + target + "' in " + dest);
            return installed(target, dest);
        } catch (PackageException e) {
            throw new PackageException("Nothing was installed from " + source + ": " + e.getMessage(), e);
        } catch (UncheckedIOException e) {
            throw new UncheckedIOException(
                    "Nothing was installed from " + source + ": " + e.getMessage(), e.getCause());
        } finally {
            PackageFolders.deleteTree(staging);
        }
    }

    /** Removes the installed model {@code name}: renamed away first, so it is gone at once even if deleting fails. */
    public void remove(String name) {
        Path dir = require(name);
        Path trash = root.resolve(TRASH_PREFIX + name + "-" + System.nanoTime());
        move(dir, trash);
        PackageFolders.deleteTree(trash);
    }

    private void fetch(String source, Path staging, Path content, Consumer<String> progress) {
        if (source.startsWith("https://") || source.startsWith("http://")) {
            Path zip = staging.resolve("download.zip");
            download(URI.create(source), zip, progress);
            extract(zip, content, source);
            return;
        }
        Path path = Path.of(source);
        if (Files.isDirectory(path)) {
            progress.accept("copying " + path);
            copyTree(path, content);
        } else if (Files.isRegularFile(path)
                && path.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".zip")) {
            progress.accept("extracting " + path);
            extract(path, content, source);
        } else if (Files.exists(path)) {
            throw new IllegalArgumentException(
                    source + " is neither a package folder nor a .zip: pull a folder "
                            + "written by 'unmask-pack convert' (e.g. models/tiny-llada/package), a .zip of one, or an https URL");
        } else {
            throw new IllegalArgumentException(source + " does not exist: pull a package folder (e.g. "
                    + "models/tiny-llada/package), a .zip of one, or an https:// URL of a zip");
        }
    }

    private static void download(URI uri, Path zip, Consumer<String> progress) {
        String host = uri.getHost() == null ? "" : uri.getHost();
        boolean loopback = host.equals("localhost") || host.startsWith("127.") || host.equals("[::1]");
        if (!"https".equals(uri.getScheme()) && !loopback) {
            throw new IllegalArgumentException(uri + " is plain http: packages are fetched over https only "
                    + "(http only from this machine, e.g. http://127.0.0.1:8000/tiny-llada.zip)");
        }
        progress.accept("downloading " + uri);
        HttpClient client = HttpClient.newBuilder()
                .followRedirects(HttpClient.Redirect.NORMAL)
                .connectTimeout(Duration.ofSeconds(30))
                .build();
        try {
            HttpResponse<Path> response =
                    client.send(HttpRequest.newBuilder(uri).GET().build(), HttpResponse.BodyHandlers.ofFile(zip));
            if (response.statusCode() != 200) {
                throw new IllegalArgumentException("Downloading " + uri + " answered HTTP " + response.statusCode()
                        + ": check the URL (it must point at a .zip of a package)");
            }
            long expected =
                    response.headers().firstValueAsLong("Content-Length").orElse(-1);
            if (expected >= 0 && Files.size(zip) != expected) {
                throw new PackageException("The download of " + uri + " was cut short: " + Files.size(zip) + " of "
                        + expected + " bytes; pull it again");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Downloading " + uri + " failed (" + e.getMessage() + "); pull it again", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UnmaskException(Failure.IO, "Downloading " + uri + " was interrupted; pull it again", e);
        }
    }

    /** Extracts every entry of {@code zip} under {@code into}; an entry that would land outside it is refused. */
    private static void extract(Path zip, Path into, String source) {
        try (ZipFile file = new ZipFile(zip.toFile())) {
            Files.createDirectories(into);
            Enumeration<? extends ZipEntry> entries = file.entries();
            while (entries.hasMoreElements()) {
                ZipEntry entry = entries.nextElement();
                Path target;
                try {
                    target = into.resolve(entry.getName()).normalize();
                } catch (InvalidPathException e) { // a NUL in the name, found by fuzzing (PullZipFuzzTest)
                    throw new PackageException(source + " holds an entry whose name is not a file name ("
                            + e.getMessage() + "); a package zip holds plain relative paths like 'model.onnx'");
                }
                if (!target.startsWith(into) || target.equals(into) && !entry.isDirectory()) {
                    throw new PackageException(source + " holds the entry '" + entry.getName() + "', which would "
                            + "land outside the package folder; a package zip holds plain relative paths");
                }
                if (entry.isDirectory()) {
                    Files.createDirectories(target);
                    continue;
                }
                Files.createDirectories(target.getParent());
                try (InputStream in = file.getInputStream(entry)) {
                    Files.copy(in, target);
                }
            }
        } catch (ZipException e) {
            throw new PackageException(
                    source + " is not a complete zip archive (" + e.getMessage() + "): the "
                            + "download or copy was cut short or the file is damaged; fetch it again",
                    e);
        } catch (java.io.EOFException e) {
            throw new PackageException(
                    source + " ends in the middle of a file: the zip was cut short; fetch it again", e);
        } catch (IOException e) {
            throw new UncheckedIOException("Could not extract " + source + " (" + e.getMessage() + ")", e);
        }
    }

    /** The package in {@code content}: at its top, or in its only folder (how zips of a folder are made). */
    private static Path packageFolderIn(Path content, String source) {
        if (Files.isRegularFile(content.resolve(PackageManifest.FILE_NAME))) {
            return content;
        }
        try (Stream<Path> children = Files.list(content)) {
            List<Path> all = children.toList();
            if (all.size() == 1 && Files.isRegularFile(all.get(0).resolve(PackageManifest.FILE_NAME))) {
                return all.get(0);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Could not read " + content, e);
        }
        throw new PackageException(source + " has no " + PackageManifest.FILE_NAME + " at its top or in its only "
                + "folder: it is not a package. Pull a folder written by 'unmask-pack convert' or a zip of one");
    }

    private static String nameFrom(PackageManifest manifest) {
        String raw = manifest.name() == null
                ? ""
                : manifest.name().toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9._-]", "-");
        if (!isName(raw)) {
            throw new IllegalArgumentException("The package's name '" + manifest.name() + "' is not a model name: "
                    + "give one with --name, e.g. --name " + NAME_EXAMPLE);
        }
        return raw;
    }

    private void install(Path verified, Path dest, boolean replace) {
        if (Files.exists(dest, LinkOption.NOFOLLOW_LINKS) && !replace) {
            throw new IllegalArgumentException("A model named '" + dest.getFileName() + "' is already installed: "
                    + "add --force to replace it, or choose another name with --name");
        }
        PackageFolders.moveIntoPlace(verified, dest, replace); // the replaced model comes back if the rename fails
    }

    private static void move(Path from, Path to) {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            throw new UncheckedIOException("The store cannot rename " + from + " to " + to + " atomically", e);
        } catch (IOException e) {
            throw new UncheckedIOException("Could not rename " + from + " to " + to + " (" + e.getMessage() + ")", e);
        }
    }

    private static void copyTree(Path from, Path to) {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path p : files.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Could not copy " + from + " (" + e.getMessage() + ")", e);
        }
    }

    /** Removes staging and trash folders a killed process left behind (older than an hour: not a pull running now). */
    private void sweepStale() {
        try (Stream<Path> children = Files.list(root)) {
            long cutoff = System.currentTimeMillis() - STALE_STAGING.toMillis();
            for (Path p : children.toList()) {
                String n = p.getFileName().toString();
                if ((n.startsWith(STAGING_PREFIX)
                                || n.startsWith(TRASH_PREFIX)
                                || n.startsWith(".") && n.contains(PackageFolders.ASIDE_MARKER))
                        && Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS)
                                        .toMillis()
                                < cutoff) {
                    PackageFolders.deleteTree(p);
                }
            }
        } catch (IOException | UncheckedIOException e) {
            // best effort: a leftover is invisible to list() and resolve()
        }
    }
}
