package dev.unmask.agent;

import dev.unmask.engine.Engine;
import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.failure.Failure;
import dev.unmask.failure.UnmaskException;
import dev.unmask.format.Manifests;
import dev.unmask.format.ModelPackage;
import dev.unmask.format.PackageException;
import dev.unmask.format.PackageFolders;
import dev.unmask.format.PackageManifest;
import dev.unmask.format.Verification;
import dev.unmask.hub.HubModelId;
import dev.unmask.hub.HubSettings;
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
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Supplier;
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
 * staging folder left by a killed process is hidden from {@link #list()} and swept by the next pull or serve start
 * ({@link #sweepLeftovers}): each staging folder is owned through a lock file that its pull holds while it lives.
 */
public final class ModelStore {

    /** Model names: lower-case letters, digits, '.', '_', '-'; up to 64; no leading dot, so never "..". */
    public static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,63}");

    public static final String NAME_EXAMPLE = "tiny-llada";
    /** Overrides the data folder; the store is its {@code models} folder. */
    public static final String HOME_ENV = "UNMASK_HOME";

    static final String STAGING_PREFIX = ".pull-";
    static final String TRASH_PREFIX = ".rm-";
    /** A manifest is a few KiB; one larger than this is not a manifest. */
    private static final long MAX_MANIFEST_BYTES = 16L << 20;
    /** No package is larger (LLaDA-8B in fp32 is 32 GiB): a manifest declaring more is refused before unpacking. */
    private static final long MAX_PACKAGE_BYTES = 1L << 40;
    /** Staging folders older than this are from a pull that was killed, and are swept. */
    private static final Duration STALE_STAGING = Duration.ofHours(1);

    /** An installed model. */
    public record Installed(String name, Path dir, PackageManifest manifest, long bytes) {}

    /** A folder under a model name whose manifest cannot be read: listed with why, never served. */
    public record Broken(String name, Path dir, String reason) {}

    /** What the store holds: the usable models and the broken folders, each by name. */
    public record Listing(List<Installed> models, List<Broken> broken) {}

    private final Path root;

    /** Where the Hub and its cache are, for {@code pull hf:...}: the environment (HF_ENDPOINT, HF_TOKEN...); tests set it. */
    static volatile Supplier<HubSettings> hubSettings = HubSettings::fromEnvironment;

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

    /** The usable installed models, by name; manifests are read, checksums are not (a pull checked them). */
    public List<Installed> list() {
        return listing().models();
    }

    /**
     * The installed models and, apart, the folders under a model name whose manifest cannot be read (edited by hand,
     * or damaged): one such folder must not hide the others, nor stop {@code serve}.
     */
    public Listing listing() {
        if (!Files.isDirectory(root)) {
            return new Listing(List.of(), List.of());
        }
        List<Installed> out = new ArrayList<>();
        List<Broken> broken = new ArrayList<>();
        try (Stream<Path> children = Files.list(root)) {
            for (Path dir : children.sorted().toList()) {
                String name = dir.getFileName().toString();
                if (!isName(name)
                        || !Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)
                        || !Files.isRegularFile(dir.resolve(PackageManifest.FILE_NAME))) {
                    continue; // staging and trash folders, stray files, links
                }
                try {
                    out.add(installed(name, dir));
                } catch (RuntimeException e) { // PackageException, or a manifest valid JSON but missing its parts
                    broken.add(new Broken(name, dir, e.getMessage() == null ? e.toString() : e.getMessage()));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Could not list the store " + root, e);
        }
        return new Listing(List.copyOf(out), List.copyOf(broken));
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
     * an {@code https://} URL of such a zip, or a Hugging Face Hub repository that holds a package
     * ({@code hf:ORG/NAME[@revision]}, downloaded through the Hugging Face cache).
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
        sweepLeftovers();
        Path staging = PackageFolders.createOwned(root, STAGING_PREFIX); // owned: no sweep takes it while we live
        try {
            Path content = staging.resolve("content");
            fetch(source, staging, content, progress);
            Path packageDir = packageFolderIn(content, source);
            progress.accept("verifying every file against its SHA-256");
            ModelPackage verified = ModelPackage.open(packageDir, Verification.FULL); // and recorded: runs trust it
            progress.accept("loading it once: ONNX Runtime session and tokenizer");
            checkLoads(packageDir);
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

    /**
     * Opens the verified package as a run would (ONNX Runtime session and tokenizer) and closes it: a package whose
     * checksums match but whose graph or tokenizer does not load is refused here, not at its first request.
     */
    private static void checkLoads(Path packageDir) {
        try (Engine engine = Engine.open(packageDir, RuntimeOptions.defaults().withIntraOpThreads(1))) {
            engine.manifest();
        } catch (PackageException e) {
            throw e;
        } catch (RuntimeException | LinkageError e) {
            throw new PackageException("the package does not load: " + e.getMessage(), e);
        }
    }

    /**
     * Copies a package out of a Hub snapshot folder: the manifest and the files it lists, each cut off at its listed
     * size. Anything else the snapshot holds (a README, files an earlier Python download left) stays in the cache.
     */
    private static void copyListed(Path snapshot, Path to, String source) {
        PackageManifest manifest = Manifests.read(snapshot);
        try {
            Files.createDirectories(to);
            checkRoomFor(manifest, to, source);
            try (InputStream in = Files.newInputStream(snapshot.resolve(PackageManifest.FILE_NAME))) {
                copyAtMost(
                        in,
                        to.resolve(PackageManifest.FILE_NAME),
                        MAX_MANIFEST_BYTES,
                        source,
                        PackageManifest.FILE_NAME);
            }
            for (var f : manifest.files().entrySet()) {
                Path target = to.resolve(f.getKey()).normalize();
                if (!target.startsWith(to)) {
                    throw unlisted(source, f.getKey());
                }
                Files.createDirectories(target.getParent());
                try (InputStream in = Files.newInputStream(snapshot.resolve(f.getKey()))) {
                    copyAtMost(in, target, f.getValue().bytes(), source, f.getKey());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Could not copy " + snapshot + " (" + e.getMessage() + ")", e);
        }
    }

    /**
     * Installs the installed model {@code source} again as {@code target} ({@code unmask cp}, as {@code ollama cp}):
     * staged and renamed into place like a pull, so a failed copy installs nothing. Each file is hard-linked where the
     * file system allows (a package is never written in place, so the two share nothing that changes; a 4 GB model
     * copies at once), else copied with its modification time, so that the copy's verification record stays valid and
     * its first start does not hash it again.
     *
     * @param replace replace an installed model named {@code target}
     * @throws IllegalArgumentException for a bad or taken name (without {@code replace}), or {@code source} itself
     */
    public Installed copy(String source, String target, boolean replace) {
        checkName(target);
        Path from = require(source);
        if (source.equals(target)) {
            throw new IllegalArgumentException("'" + source + "' cannot be copied onto itself: name the copy, e.g. "
                    + "unmask cp " + source + " " + source + "-copy");
        }
        sweepLeftovers();
        Path staging = PackageFolders.createOwned(root, STAGING_PREFIX);
        try {
            Path content = staging.resolve("content");
            try (Stream<Path> files = Files.walk(from)) {
                for (Path f : files.toList()) {
                    Path to = content.resolve(from.relativize(f).toString());
                    if (Files.isDirectory(f, LinkOption.NOFOLLOW_LINKS)) {
                        Files.createDirectories(to);
                    } else {
                        linkOrCopy(f, to);
                    }
                }
            }
            Manifests.read(content); // what was copied is a package
            Path dest = dirOf(target);
            install(content, dest, replace);
            return installed(target, dest);
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "Nothing was copied from '" + source + "' to '" + target + "': " + e.getMessage(), e);
        } finally {
            PackageFolders.deleteTree(staging);
        }
    }

    private static void linkOrCopy(Path from, Path to) throws IOException {
        try {
            Files.createLink(to, from);
        } catch (UnsupportedOperationException | IOException | SecurityException e) {
            Files.copy(from, to, StandardCopyOption.COPY_ATTRIBUTES);
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
        if (HubModelId.isHub(source)) {
            copyListed(HubPull.download(HubModelId.parse(source), hubSettings.get(), progress), content, source);
            return;
        }
        if (source.startsWith("https://") || source.startsWith("http://")) {
            Path zip = staging.resolve("download.zip");
            download(URI.create(source), zip, progress);
            extract(zip, content, source);
            return;
        }
        Path path = Path.of(source);
        if (Files.isDirectory(path)) {
            progress.accept("copying " + path);
            copyPackage(path, content, source);
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
            HttpResponse<InputStream> response =
                    client.send(HttpRequest.newBuilder(uri).GET().build(), HttpResponse.BodyHandlers.ofInputStream());
            long expected =
                    response.headers().firstValueAsLong("Content-Length").orElse(-1);
            // a download may take what the disk has free, and never more than any package: the manifest inside
            // cannot be read before the whole zip is here
            long room = Math.min(
                    MAX_PACKAGE_BYTES, Files.getFileStore(zip.getParent()).getUsableSpace());
            try (InputStream body = response.body()) {
                if (response.statusCode() != 200) {
                    throw new IllegalArgumentException("Downloading " + uri + " answered HTTP " + response.statusCode()
                            + ": check the URL (it must point at a .zip of a package)");
                }
                if (expected > room) {
                    throw new UnmaskException(
                            Failure.IO,
                            "Downloading " + uri + " needs " + expected / (1 << 20)
                                    + " MiB but the store has " + room / (1 << 20)
                                    + " MiB free; make room, or pull into "
                                    + "another store with --store <folder>");
                }
                copyAtMost(
                        body,
                        zip,
                        room,
                        () -> new UnmaskException(
                                Failure.IO,
                                "Downloading " + uri + " went past the " + room / (1 << 20)
                                        + " MiB the store has free (or past any package's size); nothing was installed. Make "
                                        + "room, or pull into another store with --store <folder>"));
            }
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

    /**
     * Extracts the package in {@code zip} under {@code into}, its manifest first: then only the files that manifest
     * lists, each cut off at the size it lists, so a zip can never unpack to more than its manifest declares (a zip
     * bomb stops at the first byte past a listed size). An entry the manifest does not list, or that would land
     * outside {@code into}, is refused; the package's bookkeeping (its verification record) is left out.
     */
    private static void extract(Path zip, Path into, String source) {
        try (ZipFile file = new ZipFile(zip.toFile())) {
            Files.createDirectories(into);
            List<? extends ZipEntry> entries = file.stream().toList();
            for (ZipEntry entry : entries) {
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
            }
            String prefix = manifestFolder(entries, source);
            Path packageDir = prefix.isEmpty() ? into : into.resolve(prefix);
            Files.createDirectories(packageDir);
            ZipEntry manifestEntry = file.getEntry(prefix + PackageManifest.FILE_NAME);
            try (InputStream in = file.getInputStream(manifestEntry)) {
                copyAtMost(
                        in,
                        packageDir.resolve(PackageManifest.FILE_NAME),
                        MAX_MANIFEST_BYTES,
                        source,
                        PackageManifest.FILE_NAME);
            }
            PackageManifest manifest = Manifests.read(packageDir);
            checkRoomFor(manifest, into, source);
            for (ZipEntry entry : entries) {
                String name = entry.getName();
                Path target = into.resolve(name).normalize();
                if (entry.isDirectory()) {
                    if (!target.equals(into) && !target.equals(packageDir)) {
                        throw unlisted(source, name);
                    }
                    continue;
                }
                String listed = name.startsWith(prefix) ? name.substring(prefix.length()) : null;
                if (PackageManifest.FILE_NAME.equals(listed)) {
                    continue; // extracted first
                }
                if (listed != null && !listed.contains("/") && !PackageFolders.isContentFile(listed)) {
                    continue; // the source's verification record: the pull verifies in full and writes its own
                }
                PackageManifest.FileEntry expected =
                        listed == null ? null : manifest.files().get(listed);
                if (expected == null) {
                    throw unlisted(source, name);
                }
                try (InputStream in = file.getInputStream(entry)) {
                    copyAtMost(in, packageDir.resolve(listed), expected.bytes(), source, listed);
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
        } catch (java.nio.file.FileAlreadyExistsException e) {
            throw new PackageException(
                    source + " holds '" + e.getFile() + "' twice; a package zip holds each file " + "once", e);
        } catch (IOException e) {
            throw new UncheckedIOException("Could not extract " + source + " (" + e.getMessage() + ")", e);
        }
    }

    /** Where in the zip the manifest is: "" at its top, or "folder/" when the zip holds one folder. */
    private static String manifestFolder(List<? extends ZipEntry> entries, String source) {
        List<String> found = new ArrayList<>();
        for (ZipEntry e : entries) {
            String n = e.getName();
            if (n.equals(PackageManifest.FILE_NAME)) {
                return "";
            }
            if (n.endsWith("/" + PackageManifest.FILE_NAME)
                    && n.indexOf('/') == n.length() - PackageManifest.FILE_NAME.length() - 1) {
                found.add(n.substring(0, n.length() - PackageManifest.FILE_NAME.length()));
            }
        }
        if (found.size() != 1) {
            throw new PackageException(
                    source + " has no " + PackageManifest.FILE_NAME + " at its top or in its "
                            + "only folder: it is not a package. Pull a folder written by 'unmask-pack convert' or a zip of one");
        }
        return found.get(0);
    }

    private static PackageException unlisted(String source, String name) {
        return new PackageException(source + " holds '" + name + "', which its manifest.json does not list: a "
                + "package holds manifest.json and the files it lists (model.onnx, model.onnx.data, tokenizer.json), "
                + "nothing else. Re-package the checkpoint, or zip only the package folder");
    }

    /**
     * Refuses a package whose manifest declares more bytes than the store's disk has free, or more than
     * {@link #MAX_PACKAGE_BYTES} in all, before a byte of it is written.
     */
    private static void checkRoomFor(PackageManifest manifest, Path into, String source) throws IOException {
        long declared = 0;
        for (PackageManifest.FileEntry f : manifest.files().values()) {
            if (f.bytes() < 0 || f.bytes() > MAX_PACKAGE_BYTES - declared) {
                throw new PackageException(
                        source + "'s manifest.json declares more than " + MAX_PACKAGE_BYTES / (1L << 30)
                                + " GiB of files (or a negative size); no package is that big");
            }
            declared += f.bytes();
        }
        long free = Files.getFileStore(into).getUsableSpace();
        if (declared > free) {
            throw new UnmaskException(
                    Failure.IO,
                    source + " holds " + declared / (1 << 20) + " MiB of files but the "
                            + "store " + into.getParent() + " has " + free / (1 << 20)
                            + " MiB free; make room, or pull into "
                            + "another store with --store <folder>");
        }
    }

    /** Copies {@code in} to the new file {@code target}, refusing it as soon as it runs past {@code limit} bytes. */
    private static void copyAtMost(InputStream in, Path target, long limit, String source, String name)
            throws IOException {
        copyAtMost(
                in,
                target,
                limit,
                () -> new PackageException(source + " holds '" + name + "' of more than the "
                        + limit
                        + " bytes its manifest lists: the file was replaced or the archive is damaged; nothing more of "
                        + "it is unpacked"));
    }

    private static void copyAtMost(InputStream in, Path target, long limit, Supplier<RuntimeException> tooLarge)
            throws IOException {
        byte[] buffer = new byte[1 << 16];
        long written = 0;
        try (java.io.OutputStream out = Files.newOutputStream(target, java.nio.file.StandardOpenOption.CREATE_NEW)) {
            for (int n; (n = in.read(buffer)) > 0; ) {
                written += n;
                if (written > limit) {
                    throw tooLarge.get();
                }
                out.write(buffer, 0, n);
            }
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

    /**
     * Copies the package folder {@code from}: its manifest and the files it lists, each cut off at its listed size;
     * any other file in it is refused, and its verification record is left out (the pull writes its own).
     */
    private static void copyPackage(Path from, Path to, String source) {
        PackageManifest manifest = Manifests.read(from);
        try (Stream<Path> files = Files.walk(from)) {
            Files.createDirectories(to);
            checkRoomFor(manifest, to, source);
            for (Path p : files.toList()) {
                String name = from.relativize(p).toString().replace('\\', '/');
                if (p.equals(from)) {
                    continue;
                }
                if (Files.isDirectory(p) || !Files.isRegularFile(p) && !Files.isSymbolicLink(p)) {
                    throw unlisted(source, name);
                }
                long limit;
                if (name.equals(PackageManifest.FILE_NAME)) {
                    limit = MAX_MANIFEST_BYTES;
                } else if (!name.contains("/") && !PackageFolders.isContentFile(name)) {
                    continue; // the source's verification record
                } else if (manifest.files().containsKey(name)) {
                    limit = manifest.files().get(name).bytes();
                } else {
                    throw unlisted(source, name);
                }
                try (InputStream in = Files.newInputStream(p)) {
                    copyAtMost(in, to.resolve(name), limit, source, name);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Could not copy " + from + " (" + e.getMessage() + ")", e);
        }
    }

    /**
     * Removes what killed processes left behind: staging folders whose owner lock no process holds (at once; those of
     * versions before owner locks once they are an hour old), trash of a removal that was cut short, and replaced
     * models set aside an hour ago or more.
     */
    public void sweepLeftovers() {
        if (!Files.isDirectory(root)) {
            return;
        }
        PackageFolders.sweepOrphans(root, ModelStore::isStagingName);
        try (Stream<Path> children = Files.list(root)) {
            long cutoff = System.currentTimeMillis() - STALE_STAGING.toMillis();
            for (Path p : children.toList()) {
                String n = p.getFileName().toString();
                if (n.startsWith(TRASH_PREFIX)) {
                    PackageFolders.deleteTree(p); // renamed away by 'rm': garbage from the first moment
                } else if (n.startsWith(".")
                        && n.contains(PackageFolders.ASIDE_MARKER)
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

    /** Whether {@code name} is that of a staging folder a pull makes ({@value #STAGING_PREFIX} and digits). */
    static boolean isStagingName(String name) {
        return name.startsWith(STAGING_PREFIX)
                && name.length() > STAGING_PREFIX.length()
                && name.substring(STAGING_PREFIX.length()).chars().allMatch(Character::isDigit);
    }
}
