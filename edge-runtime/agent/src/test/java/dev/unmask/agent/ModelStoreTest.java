package dev.unmask.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpServer;
import dev.unmask.format.ModelPackage;
import dev.unmask.format.PackageException;
import dev.unmask.format.PackageFolders;
import dev.unmask.format.Sha256;
import dev.unmask.testing.ReferencePackages;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** `unmask pull | list | show | rm` on a temporary store, with the real tiny-llada package. */
class ModelStoreTest {

    @TempDir
    Path tmp;

    final StringWriter out = new StringWriter();
    final StringWriter err = new StringWriter();

    Path store() {
        return tmp.resolve("store");
    }

    int unmask(String... args) {
        out.getBuffer().setLength(0);
        err.getBuffer().setLength(0);
        CommandLine cli = Unmask.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        String[] all = Stream.concat(Stream.of(args), Stream.of("--store", store().toString()))
                .toArray(String[]::new);
        return cli.execute(all);
    }

    static Path tinyPackage() {
        return ReferencePackages.tinyLlada();
    }

    /** What the store folder holds, hidden staging folders included: nothing half-installed may stay. */
    List<String> storeEntries() throws IOException {
        if (!Files.isDirectory(store())) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(store())) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    Path copyOfPackage() throws IOException {
        Path copy = tmp.resolve("copy");
        Files.createDirectories(copy);
        try (Stream<Path> files = Files.list(tinyPackage())) {
            for (Path f : files.toList()) {
                Files.copy(f, copy.resolve(f.getFileName()));
            }
        }
        return copy;
    }

    /** A zip of the package folder, its files under {@code folder/} (as zipping a folder makes it). */
    Path zipOf(Path packageDir, String folder) throws IOException {
        Path zip = tmp.resolve(folder + ".zip");
        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(zip));
                Stream<Path> files = Files.list(packageDir)) {
            z.setLevel(java.util.zip.Deflater.BEST_SPEED); // compressed all the same, in a fraction of the time
            for (Path f : files.sorted().toList()) {
                z.putNextEntry(new ZipEntry(folder + "/" + f.getFileName()));
                Files.copy(f, z);
                z.closeEntry();
            }
        }
        return zip;
    }

    @Test
    void pull_a_folder_then_list_show_run_and_remove_it() throws IOException {
        assertEquals(0, unmask("pull", tinyPackage().toString()), err.toString());
        assertEquals("tiny-llada", out.toString().strip(), "the name comes from the manifest");
        assertEquals(List.of("tiny-llada"), storeEntries(), "no staging folder is left behind");

        assertEquals(0, unmask("list"));
        assertTrue(out.toString().contains("tiny-llada") && out.toString().contains("llada"), out.toString());

        assertEquals(0, unmask("show", "tiny-llada"));
        assertTrue(
                out.toString().contains("6 layers, d_model 256")
                        && out.toString().contains("model.onnx.data"),
                out.toString());

        RunCommandTestSupport session = new RunCommandTestSupport("import\n/bye\n");
        assertEquals(
                0,
                session.execute(
                        "tiny-llada", "--store", store().toString(), "--gen-length", "8", "--steps", "8", "--no-live"),
                session.err.toString());
        assertTrue(
                session.err.toString().contains("8 tokens in 8 steps"),
                "unmask run <name> resolves the store: " + session.err);

        assertEquals(ExitCodes.INVALID_INPUT, unmask("pull", tinyPackage().toString()), "already installed");
        assertTrue(err.toString().contains("--force"), err.toString());
        assertEquals(0, unmask("pull", tinyPackage().toString(), "--force"));

        assertEquals(0, unmask("rm", "tiny-llada"));
        assertEquals(List.of(), storeEntries());
        assertEquals(ExitCodes.BAD_PACKAGE, unmask("show", "tiny-llada"));
        assertTrue(err.toString().contains("unmask pull"), "says how to get it: " + err);
    }

    @Test
    void pull_a_zip_under_another_name_and_use_it_as_model() throws IOException {
        Path zip = zipOf(tinyPackage(), "tiny-llada-package");
        assertEquals(0, unmask("pull", zip.toString(), "--name", "tiny"), err.toString());
        assertEquals(List.of("tiny"), storeEntries());
        assertEquals(
                0,
                unmask("generate", "x =", "--model", "tiny", "--gen-length", "8", "--steps", "8", "-q"),
                err.toString());
    }

    @Test
    void pull_over_http_from_a_loopback_server() throws IOException {
        byte[] zip = Files.readAllBytes(zipOf(tinyPackage(), "pkg"));
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/tiny.zip", ex -> {
            ex.sendResponseHeaders(200, zip.length);
            try (OutputStream o = ex.getResponseBody()) {
                o.write(zip);
            }
        });
        server.start();
        try {
            String url = "http://127.0.0.1:" + server.getAddress().getPort() + "/tiny.zip";
            assertEquals(0, unmask("pull", url, "--name", "web"), err.toString());
            assertEquals(List.of("web"), storeEntries());
            assertEquals(
                    ExitCodes.INVALID_INPUT, unmask("pull", url.replace("tiny.zip", "missing.zip"), "--name", "gone"));
            assertTrue(err.toString().contains("404"), err.toString());
            assertEquals(List.of("web"), storeEntries());
        } finally {
            server.stop(0);
        }
    }

    @Test
    void a_corrupt_package_is_refused_and_nothing_is_installed() throws IOException {
        Path copy = copyOfPackage();
        Path data = copy.resolve("model.onnx.data");
        byte[] bytes = Files.readAllBytes(data);
        bytes[bytes.length / 2] ^= 0x01; // one bit of one weight
        Files.write(data, bytes);

        assertEquals(ExitCodes.BAD_PACKAGE, unmask("pull", copy.toString()));
        assertTrue(
                err.toString().contains("Nothing was installed")
                        && err.toString().contains("model.onnx.data")
                        && err.toString().contains("checksum"),
                err.toString());
        assertEquals(List.of(), storeEntries(), "no model folder and no staging folder");
    }

    @Test
    void a_pull_hashes_every_file_whatever_the_source_recorded_and_records_it_for_the_runs() throws IOException {
        // A copy that keeps modification times, record included, then one bit flipped with size and time kept: the
        // source's own record would vouch for the file, and only a full verification sees the damage.
        ModelPackage.open(tinyPackage());
        Path copy = tmp.resolve("copy-with-times");
        Files.createDirectories(copy);
        try (Stream<Path> files = Files.list(tinyPackage())) {
            for (Path f : files.toList()) {
                Files.copy(f, copy.resolve(f.getFileName()), StandardCopyOption.COPY_ATTRIBUTES);
            }
        }
        assertEquals(Set.of(), ModelPackage.open(copy).hashedAtOpen(), "the copied record holds");
        Path data = copy.resolve("model.onnx.data");
        FileTime modified = Files.getLastModifiedTime(data);
        byte[] bytes = Files.readAllBytes(data);
        bytes[bytes.length / 3] ^= 0x01;
        Files.write(data, bytes);
        Files.setLastModifiedTime(data, modified);

        assertEquals(ExitCodes.BAD_PACKAGE, unmask("pull", copy.toString(), "--name", "damaged"));
        assertTrue(err.toString().contains("model.onnx.data") && err.toString().contains("checksum"), err.toString());

        assertEquals(0, unmask("pull", tinyPackage().toString(), "--name", "tiny"));
        assertEquals(
                Set.of(),
                ModelPackage.open(store().resolve("tiny")).hashedAtOpen(),
                "the pull recorded its verification: the first run hashes nothing");
        assertEquals(List.of("tiny"), storeEntries());
    }

    @Test
    void an_interrupted_pull_a_truncated_zip_leaves_no_folder() throws IOException {
        Path zip = zipOf(tinyPackage(), "pkg");
        byte[] whole = Files.readAllBytes(zip);
        Path cut = tmp.resolve("cut.zip");
        Files.write(cut, java.util.Arrays.copyOf(whole, whole.length * 2 / 3));

        assertEquals(ExitCodes.BAD_PACKAGE, unmask("pull", cut.toString(), "--name", "cut"));
        assertTrue(
                err.toString().contains("Nothing was installed")
                        && err.toString().contains("zip"),
                err.toString());
        assertEquals(List.of(), storeEntries());

        Path missing = copyOfPackage();
        Files.delete(missing.resolve("tokenizer.json"));
        assertEquals(ExitCodes.BAD_PACKAGE, unmask("pull", missing.toString(), "--name", "partial"));
        assertTrue(err.toString().contains("tokenizer.json") && err.toString().contains("missing"), err.toString());
        assertEquals(List.of(), storeEntries());
    }

    @Test
    void hostile_model_names_cannot_escape_the_store() throws IOException {
        for (String name :
                new String[] {"../escaped", "/tmp/abs", "..", ".hidden", "Upper", "a/b", "a\\b", "x".repeat(65), ""}) {
            assertEquals(ExitCodes.INVALID_INPUT, unmask("pull", tinyPackage().toString(), "--name", name), name);
            assertTrue(
                    err.toString().contains("is not a model name")
                            && err.toString().contains("e.g. tiny-llada"),
                    err.toString());
            assertEquals(ExitCodes.INVALID_INPUT, unmask("rm", name), name);
            assertEquals(ExitCodes.INVALID_INPUT, unmask("show", name), name);
        }
        assertFalse(Files.exists(tmp.resolve("escaped")));
        assertEquals(
                List.of(),
                storeEntries().stream().filter(n -> !n.startsWith(".")).toList());

        // a link planted in the store cannot lead a name outside it
        Path outside = copyOfPackage();
        Files.createDirectories(store());
        Files.createSymbolicLink(store().resolve("linked"), outside);
        assertEquals(ExitCodes.BAD_PACKAGE, unmask("show", "linked"));
        assertTrue(err.toString().contains("symbolic link"), err.toString());
        assertEquals(ExitCodes.BAD_PACKAGE, unmask("rm", "linked"));
        assertTrue(Files.exists(outside.resolve("model.onnx")), "rm never follows the link");
    }

    @Test
    void a_zip_entry_that_climbs_out_is_refused() throws IOException {
        Path zip = tmp.resolve("evil.zip");
        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(zip))) {
            z.putNextEntry(new ZipEntry("../../evil.txt"));
            z.write("x".getBytes(StandardCharsets.UTF_8));
            z.closeEntry();
        }
        assertEquals(ExitCodes.BAD_PACKAGE, unmask("pull", zip.toString(), "--name", "evil"));
        assertTrue(err.toString().contains("outside the package folder"), err.toString());
        assertFalse(Files.exists(tmp.resolve("evil.txt")));
        assertEquals(List.of(), storeEntries());
    }

    /** Rewrites {@code dir}'s manifest so that it lists {@code name} as it is now on disk, or not at all. */
    static void relist(Path dir, String name) throws IOException {
        ObjectMapper json = new ObjectMapper();
        Path manifest = dir.resolve("manifest.json");
        ObjectNode root = (ObjectNode) json.readTree(manifest.toFile());
        ObjectNode files = (ObjectNode) root.get("files");
        Path file = dir.resolve(name);
        if (Files.exists(file)) {
            files.putObject(name).put("bytes", Files.size(file)).put("sha256", Sha256.ofFile(file));
        } else {
            files.remove(name);
        }
        json.writeValue(manifest.toFile(), root);
    }

    @Test
    void a_manifest_that_leaves_out_the_weights_cannot_get_damaged_weights_installed() throws IOException {
        Path copy = copyOfPackage();
        Path data = copy.resolve("model.onnx.data");
        byte[] bytes = Files.readAllBytes(data);
        java.util.Arrays.fill(bytes, 0, 4096, (byte) 0x55); // 4 KiB of weights overwritten
        Path moved = Files.move(data, tmp.resolve("weights-aside"));
        relist(copy, "model.onnx.data");
        Files.write(moved, bytes);

        // pulled as a zip that holds the damaged weights beside a manifest that does not list them
        Path zip = zipOf(copy, "pkg");
        try (java.nio.file.FileSystem fs = java.nio.file.FileSystems.newFileSystem(zip)) {
            Files.copy(moved, fs.getPath("pkg/model.onnx.data"));
        }
        assertEquals(ExitCodes.BAD_PACKAGE, unmask("pull", zip.toString(), "--name", "unlisted"));
        assertTrue(
                err.toString().contains("'pkg/model.onnx.data', which its manifest.json does not list"),
                err.toString());
        assertEquals(List.of(), storeEntries());

        // and as a folder that the manifest leaves the weights out of: the graph names them, so the open refuses
        Files.copy(moved, copy.resolve("model.onnx.data"));
        assertEquals(ExitCodes.BAD_PACKAGE, unmask("pull", copy.toString(), "--name", "unlisted"));
        assertTrue(err.toString().contains("model.onnx.data"), err.toString());
        assertEquals(List.of(), storeEntries());
        PackageException e =
                org.junit.jupiter.api.Assertions.assertThrows(PackageException.class, () -> ModelPackage.open(copy));
        assertTrue(e.getMessage().contains("keeps tensors in 'model.onnx.data'"), e.getMessage());
    }

    @Test
    void a_file_the_manifest_does_not_list_is_refused_from_a_folder_and_from_a_zip() throws IOException {
        Path copy = copyOfPackage();
        Files.writeString(copy.resolve("payload.sh"), "echo hello\n");
        assertEquals(ExitCodes.BAD_PACKAGE, unmask("pull", copy.toString(), "--name", "extra"));
        assertTrue(err.toString().contains("'payload.sh', which its manifest.json does not list"), err.toString());
        assertEquals(ExitCodes.BAD_PACKAGE, unmask("pull", zipOf(copy, "pkg").toString(), "--name", "extra"));
        assertTrue(err.toString().contains("'pkg/payload.sh', which its manifest.json does not list"), err.toString());
        assertEquals(List.of(), storeEntries());
    }

    @Test
    void a_zip_that_unpacks_to_more_than_its_manifest_lists_stops_at_the_listed_size() throws IOException {
        Path pkg = tinyPackage();
        long listed = Files.size(pkg.resolve("model.onnx.data"));
        Path bomb = tmp.resolve("bomb.zip");
        long zeros = 64L << 20; // 64 MiB of zeros, a few dozen KiB compressed
        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(bomb));
                Stream<Path> files = Files.list(pkg)) {
            for (Path f : files.sorted().toList()) {
                z.putNextEntry(new ZipEntry("pkg/" + f.getFileName()));
                if (f.getFileName().toString().equals("model.onnx.data")) {
                    byte[] block = new byte[1 << 20];
                    for (long w = 0; w < zeros; w += block.length) {
                        z.write(block);
                    }
                } else {
                    Files.copy(f, z);
                }
                z.closeEntry();
            }
        }
        assertTrue(Files.size(bomb) < 4L << 20, "the zip is small: " + Files.size(bomb));
        assertEquals(ExitCodes.BAD_PACKAGE, unmask("pull", bomb.toString(), "--name", "bomb"));
        assertTrue(
                err.toString().contains("'model.onnx.data' of more than the " + listed + " bytes its manifest lists"),
                err.toString());
        assertEquals(List.of(), storeEntries());
    }

    @Test
    void an_empty_graph_or_a_tokenizer_that_does_not_load_is_refused_though_its_checksums_match() throws IOException {
        Path copy = copyOfPackage();
        Files.write(copy.resolve("model.onnx"), new byte[0]);
        relist(copy, "model.onnx");
        assertEquals(ExitCodes.BAD_PACKAGE, unmask("pull", copy.toString(), "--name", "empty"));
        assertTrue(err.toString().contains("holds no ONNX graph (0 bytes)"), err.toString());
        assertEquals(List.of(), storeEntries());

        PackageFolders.deleteTree(copy);
        Path other = copyOfPackage();
        Files.writeString(other.resolve("tokenizer.json"), "{\"model\": {\"type\": \"NotATokenizer\"}}");
        relist(other, "tokenizer.json");
        assertEquals(ExitCodes.BAD_PACKAGE, unmask("pull", other.toString(), "--name", "untokenized"));
        assertTrue(err.toString().contains("does not load"), err.toString());
        assertEquals(List.of(), storeEntries());
    }

    @Test
    void a_killed_pulls_staging_folder_is_swept_at_the_next_pull_at_once_and_a_running_ones_is_not()
            throws IOException {
        Files.createDirectories(store());
        // what a pull killed with kill -9 leaves: its staging folder, half a download, and its lock file, unheld
        Path killed = Files.createDirectories(store().resolve(".pull-1234/content"));
        Files.write(killed.resolve("model.onnx.data"), new byte[1 << 16]);
        Files.writeString(store().resolve(".pull-1234.lock"), "99999\n");
        Path running = PackageFolders.createOwned(store(), ".pull-"); // a pull in progress, its lock held
        Path trash = Files.createDirectories(store().resolve(".rm-gone-1"));

        assertEquals(0, unmask("pull", tinyPackage().toString(), "--name", "tiny"), err.toString());
        assertFalse(Files.exists(killed.getParent()), "swept at once, not after an hour");
        assertFalse(Files.exists(trash));
        assertTrue(Files.isDirectory(running), "the running pull's folder stays");
        PackageFolders.deleteTree(running);
        assertEquals(List.of("tiny"), storeEntries(), "lock files go with their folders");
    }

    @Test
    void a_source_that_is_not_a_package_says_what_to_pull() {
        assertEquals(
                ExitCodes.INVALID_INPUT,
                unmask("pull", tmp.resolve("nothing-here").toString()));
        assertTrue(err.toString().contains("does not exist"), err.toString());
        assertEquals(ExitCodes.INVALID_INPUT, unmask("pull", "http://example.com/x.zip"));
        assertTrue(err.toString().contains("https"), err.toString());
    }

    /** Drives {@code unmask run} with a prompt on standard input. */
    static final class RunCommandTestSupport {
        final StringWriter out = new StringWriter();
        final StringWriter err = new StringWriter();
        final String input;

        RunCommandTestSupport(String input) {
            this.input = input;
        }

        int execute(String... args) {
            RunCommand run = new RunCommand();
            run.in = new ByteArrayInputStream(input.getBytes(StandardCharsets.UTF_8));
            CommandLine cli = new CommandLine(run).setExecutionExceptionHandler(new ExitCodes());
            cli.setOut(new PrintWriter(out, true));
            cli.setErr(new PrintWriter(err, true));
            return cli.execute(args);
        }
    }
}
