package dev.unmask.functions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.testing.Repo;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Lambda build's {@code function.zip} (issue 17 §2): only the natives of the architecture it was built for, each
 * once, at the fixed places the template points ONNX Runtime and DJL to, and small. It runs in the {@code -Plambda}
 * build's {@code verify} phase (surefire execution {@code lambda-zip}, after Quarkus and
 * {@code src/lambda/LambdaNatives.java} wrote the zip), which sets {@value #ZIP_PROPERTY}; elsewhere it is skipped.
 */
@EnabledIfSystemProperty(named = LambdaZipTest.ZIP_PROPERTY, matches = ".+")
class LambdaZipTest {

    static final String ZIP_PROPERTY = "unmask.test.lambda.zip";

    /** Issue 17's target for the zip without a package; it was 124 MB with every platform's natives. */
    static final long MAX_ZIP_BYTES = 50_000_000L;

    /** The architecture the build was asked for ({@code -Dunmask.lambda.architecture}, Lambda's names). */
    static final String ARCHITECTURE = System.getProperty("unmask.test.lambda.architecture", "x86_64");

    /** Lambda's /var/task as the template names it: the places {@code JAVA_TOOL_OPTIONS} and ENGINE_CACHE_DIR use. */
    static final String TASK_ROOT = "/var/task/";

    private static Path zip;
    private static Map<String, Long> entries; // every file: top-level and, as jar!/entry, inside the jars of lib/

    @BeforeAll
    static void readTheZip() throws IOException {
        zip = Path.of(System.getProperty(ZIP_PROPERTY));
        assertTrue(Files.isRegularFile(zip), zip + " is missing: run ./mvnw -pl functions -am verify -Plambda");
        entries = new TreeMap<>();
        try (ZipFile z = new ZipFile(zip.toFile())) {
            for (Enumeration<? extends ZipEntry> e = z.entries(); e.hasMoreElements(); ) {
                ZipEntry entry = e.nextElement();
                if (entry.isDirectory()) {
                    continue;
                }
                entries.put(entry.getName(), entry.getSize());
                if (entry.getName().startsWith("lib/") && entry.getName().endsWith(".jar")) {
                    try (InputStream in = z.getInputStream(entry);
                            ZipInputStream jar = new ZipInputStream(new ByteArrayInputStream(in.readAllBytes()))) {
                        for (ZipEntry inner; (inner = jar.getNextEntry()) != null; ) {
                            if (!inner.isDirectory()) {
                                entries.put(entry.getName() + "!/" + inner.getName(), (long) jar.readAllBytes().length);
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void theZipWithoutAPackageStaysUnderFiftyMegabytes() throws IOException {
        assertTrue(
                entries.keySet().stream().noneMatch(n -> n.startsWith("package/")),
                "measured without a package: build with no functions/src/main/zip.jvm/package");
        long size = Files.size(zip);
        assertTrue(
                size <= MAX_ZIP_BYTES,
                zip + " is " + size + " bytes, over " + MAX_ZIP_BYTES + ": the largest entries are " + largest(8));
    }

    @Test
    void noOtherOperatingSystemsOrArchitecturesNativeLibraryIsInTheZip() {
        // every native library anywhere, nested jars included: the three at native/, and inside a jar only this
        // architecture's Linux ones (JNA's libjnidispatch, on the class path through DJL's api; brotli4j's, which
        // Quarkus picks for the build machine's platform): any other OS or CPU fails
        String own = ARCHITECTURE.equals("arm64") ? "linux-aarch64" : "linux-(x86_64|x86-64|x64)";
        List<String> unexpected = entries.keySet().stream()
                .filter(n -> n.matches(".*\\.(so|dll|dylib|jnilib|a)") || n.contains(".so.") || n.contains(".dSYM/"))
                .filter(n -> !n.startsWith("native/"))
                .filter(n -> !n.matches("lib/[^/]*\\.jar!/(.*/)?" + own + "/[^/]+\\.so"))
                .toList();
        assertEquals(List.of(), unexpected, "natives of another platform in " + zip);
    }

    @Test
    void eachLibraryIsThereOnceOutsideTheJarsWhereTheTemplatePointsTo() {
        List<String> libraries = entries.keySet().stream()
                .filter(n -> n.matches(".*lib(onnxruntime|onnxruntime4j_jni|tokenizers)\\.so"))
                .toList();
        String djl = "native/djl/tokenizers/" + tokenizersVersion() + "-cpu-linux-"
                + (ARCHITECTURE.equals("arm64") ? "aarch64" : "x86_64") + "/libtokenizers.so";
        assertEquals(
                List.of(djl, "native/onnxruntime/libonnxruntime.so", "native/onnxruntime/libonnxruntime4j_jni.so"),
                libraries,
                "the jars in lib/ carry none; the template's JAVA_TOOL_OPTIONS and ENGINE_CACHE_DIR name these");
        Map<String, String> env = InfraTemplates.lambdaEnvironment();
        assertTrue(
                env.get("JAVA_TOOL_OPTIONS").contains("-Donnxruntime.native.path=" + TASK_ROOT + "native/onnxruntime"),
                env::toString);
        assertEquals(TASK_ROOT + "native/djl", env.get("ENGINE_CACHE_DIR"));
    }

    /**
     * The unpacked zip loads: ONNX Runtime from {@code native/onnxruntime} and the tokenizers' library from
     * {@code native/djl}, in a JVM whose class path is the zip's {@code lib/}, with the natives' folder read-only (as
     * /var/task is) and DJL's own cache dir left empty: nothing is copied out of a jar.
     */
    @Test
    void theUnpackedZipLoadsBothLibrariesFromTheirFixedPlaceWithoutExtractingAnything(@TempDir Path dir)
            throws Exception {
        Path task = dir.resolve("task");
        unzip(zip, task);
        try (Stream<Path> files = Files.walk(task.resolve("native"))) {
            files.forEach(f -> f.toFile().setWritable(false));
        }
        Path djlCache = Files.createDirectories(dir.resolve("djl-cache"));
        Path tmp = Files.createDirectories(dir.resolve("tmp"));
        ProcessBuilder pb = new ProcessBuilder(
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-Donnxruntime.native.path=" + task.resolve("native/onnxruntime"),
                        "-Djava.io.tmpdir=" + tmp,
                        "-cp",
                        task.resolve("lib") + "/*" + java.io.File.pathSeparator
                                + Path.of(LambdaNativesLoad.class
                                        .getProtectionDomain()
                                        .getCodeSource()
                                        .getLocation()
                                        .toURI()),
                        LambdaNativesLoad.class.getName(),
                        Repo.checkpoint().resolve("tokenizer.json").toString())
                .redirectErrorStream(true);
        pb.environment().put("ENGINE_CACHE_DIR", task.resolve("native/djl").toString());
        pb.environment().put("DJL_CACHE_DIR", djlCache.toString());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), out);
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("onnxruntime 1."), out);
        assertTrue(out.matches("(?s).*tokens \\[\\d+.*"), out);
        try (Stream<Path> left = Files.walk(djlCache)) {
            assertEquals(List.of(djlCache), left.toList(), "DJL extracted its library after all");
        }
    }

    private static String tokenizersVersion() {
        String properties = entries.keySet().stream()
                .filter(n -> n.endsWith("!/native/lib/tokenizers.properties"))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no tokenizers jar with native/lib/tokenizers.properties"));
        try (ZipFile z = new ZipFile(zip.toFile())) {
            String jarName = properties.substring(0, properties.indexOf("!/"));
            try (InputStream in = z.getInputStream(z.getEntry(jarName));
                    ZipInputStream jar = new ZipInputStream(in)) {
                for (ZipEntry e; (e = jar.getNextEntry()) != null; ) {
                    if (e.getName().equals("native/lib/tokenizers.properties")) {
                        java.util.Properties p = new java.util.Properties();
                        p.load(jar);
                        return p.getProperty("version");
                    }
                }
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        throw new AssertionError("unreachable");
    }

    private static String largest(int n) {
        List<Map.Entry<String, Long>> sorted = new ArrayList<>(entries.entrySet());
        sorted.sort(Map.Entry.<String, Long>comparingByValue().reversed());
        return sorted.subList(0, Math.min(n, sorted.size())).toString();
    }

    private static void unzip(Path from, Path to) throws IOException {
        try (ZipFile z = new ZipFile(from.toFile())) {
            for (Enumeration<? extends ZipEntry> e = z.entries(); e.hasMoreElements(); ) {
                ZipEntry entry = e.nextElement();
                Path target = to.resolve(entry.getName()).normalize();
                if (!target.startsWith(to)) {
                    throw new IOException("entry outside the folder: " + entry.getName());
                }
                if (entry.isDirectory()) {
                    Files.createDirectories(target);
                } else {
                    Files.createDirectories(target.getParent());
                    try (InputStream in = z.getInputStream(entry)) {
                        Files.copy(in, target);
                    }
                }
            }
        }
    }
}
