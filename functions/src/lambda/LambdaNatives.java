import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

/**
 * Rewrites the Lambda build's {@code target/function.zip} (issue 17 §2) so that it carries only the native libraries
 * of the one architecture the function runs on, each once, at a fixed place outside the jars:
 *
 * <pre>
 *   native/onnxruntime/libonnxruntime.so, libonnxruntime4j_jni.so    (-Donnxruntime.native.path=/var/task/native/onnxruntime)
 *   native/djl/tokenizers/&lt;version&gt;-cpu-&lt;os-arch&gt;/libtokenizers.so  (ENGINE_CACHE_DIR=/var/task/native/djl)
 * </pre>
 *
 * and none inside {@code lib/}: ONNX Runtime's jar carries {@code ai/onnxruntime/native/<os-arch>/} for five
 * platforms (with macOS debug symbols), DJL's tokenizers jar {@code native/lib/<os-arch>/cpu/} for four; together
 * 93 MB of the 124 MB zip.
 *
 * <p>Why these two places: ONNX Runtime's loader ({@code ai.onnxruntime.OnnxRuntime#load}, 1.23) loads
 * {@code <onnxruntime.native.path>/libonnxruntime.so} and then the JNI library with {@code System.load} when that
 * property is set, without copying anything; otherwise it copies each library from the jar into a new temporary
 * folder on every start. DJL's ({@code ai.djl.huggingface.tokenizers.jni.LibUtils#copyJniLibraryFromClasspath},
 * 0.38) looks for {@code <engine cache dir>/tokenizers/<version>-<classifier>/libtokenizers.so} first and copies it
 * out of the jar only when it is missing; the engine cache dir is {@code ENGINE_CACHE_DIR} (environment variable or
 * system property, {@code ai.djl.util.Utils#getEngineCacheDir}), else {@code DJL_CACHE_DIR}. The version and
 * classifier come from the jar's {@code native/lib/tokenizers.properties} and the platform
 * ({@code ai.djl.util.Platform}), which this tool reads the same way. {@code tokenizers.properties} stays in the jar:
 * DJL's platform detection needs it.
 *
 * <p>A single-file program (run as {@code java LambdaNatives.java}, JDK 11+) so that the {@code -Plambda} build runs
 * it after Quarkus wrote the zip without shipping it in the function:
 *
 * <pre>
 *   java functions/src/lambda/LambdaNatives.java functions/target/function.zip x86_64|arm64
 * </pre>
 */
public final class LambdaNatives {

    /** Where the zip's natives go, relative to the function's root ({@code /var/task} on Lambda). */
    static final String ORT_DIR = "native/onnxruntime/";

    static final String DJL_DIR = "native/djl/";

    private static final String ORT_PREFIX = "ai/onnxruntime/native/";

    private static final String DJL_PREFIX = "native/lib/";

    private static final String DJL_PROPERTIES = "native/lib/tokenizers.properties";

    /** JNA (on the class path through DJL's api, not called by us) keeps its libjnidispatch per platform in the jar. */
    private static final String JNA_PREFIX = "com/sun/jna/";

    public static void main(String[] args) throws IOException {
        if (args.length != 2 || !(args[1].equals("x86_64") || args[1].equals("arm64"))) {
            System.err.println(
                    "usage: java LambdaNatives.java <function.zip> <x86_64|arm64>  (Lambda's architecture names)\n"
                            + "  e.g. java functions/src/lambda/LambdaNatives.java functions/target/function.zip x86_64");
            System.exit(2);
        }
        Path zip = Path.of(args[0]);
        boolean arm = args[1].equals("arm64");
        // the folder names each library uses for Linux on this CPU
        String ortPlatform = arm ? "linux-aarch64" : "linux-x64";
        String djlPlatform = arm ? "linux-aarch64" : "linux-x86_64";
        String jnaPlatform = arm ? "linux-aarch64" : "linux-x86-64";

        try (ZipFile in = new ZipFile(zip.toFile())) {
            if (in.getEntry(ORT_DIR + "libonnxruntime4j_jni.so") != null) { // Quarkus did not rewrite it since
                boolean same = in.stream().anyMatch(e -> e.getName().startsWith(DJL_DIR)
                        && e.getName().contains("-cpu-" + djlPlatform + "/"));
                if (!same) {
                    throw new IllegalStateException(zip + " was slimmed for another architecture: rebuild it");
                }
                System.out.println("LambdaNatives: " + zip + " carries its " + args[1] + " natives at native/ already");
                return;
            }
        }
        long before = Files.size(zip);
        Path slim = zip.resolveSibling(zip.getFileName() + ".slim");
        Map<String, byte[]> natives = new LinkedHashMap<>();
        List<String> dropped = new ArrayList<>();
        try (ZipFile in = new ZipFile(zip.toFile());
                ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(slim))) {
            for (Enumeration<? extends ZipEntry> e = in.entries(); e.hasMoreElements(); ) {
                ZipEntry entry = e.nextElement();
                byte[] bytes;
                try (InputStream is = in.getInputStream(entry)) {
                    bytes = is.readAllBytes();
                }
                if (entry.getName().startsWith("lib/") && entry.getName().endsWith(".jar")) {
                    bytes = slimJar(entry.getName(), bytes, ortPlatform, djlPlatform, jnaPlatform, natives, dropped);
                }
                ZipEntry copy = new ZipEntry(entry.getName());
                copy.setTime(entry.getTime());
                out.putNextEntry(copy);
                out.write(bytes);
                out.closeEntry();
            }
            for (Map.Entry<String, byte[]> lib : natives.entrySet()) {
                out.putNextEntry(new ZipEntry(lib.getKey()));
                out.write(lib.getValue());
                out.closeEntry();
            }
        }
        if (natives.keySet().stream().noneMatch(n -> n.startsWith(ORT_DIR + "libonnxruntime."))
                || natives.keySet().stream().noneMatch(n -> n.startsWith(DJL_DIR))) {
            Files.delete(slim);
            throw new IllegalStateException("function.zip has no ONNX Runtime or tokenizers library for " + ortPlatform
                    + " (found " + natives.keySet() + "): is it the -Plambda build of functions/?");
        }
        Files.move(slim, zip, StandardCopyOption.REPLACE_EXISTING);
        System.out.printf(
                "LambdaNatives: %s %.1f MB -> %.1f MB for %s: kept %s; dropped %d other files from the jars%n",
                zip, before / 1e6, Files.size(zip) / 1e6, args[1], natives.keySet(), dropped.size());
    }

    /** The jar without any platform's natives; this platform's are put in {@code natives} under their fixed place. */
    private static byte[] slimJar(
            String jarName,
            byte[] jar,
            String ortPlatform,
            String djlPlatform,
            String jnaPlatform,
            Map<String, byte[]> natives,
            List<String> dropped)
            throws IOException {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        Map<String, Long> times = new LinkedHashMap<>();
        try (ZipInputStream zin = new ZipInputStream(new java.io.ByteArrayInputStream(jar))) {
            for (ZipEntry e; (e = zin.getNextEntry()) != null; ) {
                entries.put(e.getName(), e.isDirectory() ? null : zin.readAllBytes());
                times.put(e.getName(), e.getTime());
            }
        }
        boolean ort = entries.keySet().stream().anyMatch(n -> n.startsWith(ORT_PREFIX));
        boolean djl = entries.containsKey(DJL_PROPERTIES);
        boolean jna = entries.keySet().stream().anyMatch(n -> n.startsWith(JNA_PREFIX) && n.contains("jnidispatch"));
        if (!ort && !djl && !jna) {
            return jar; // untouched, byte for byte
        }
        String djlFolder = null;
        if (djl) {
            Properties p = new Properties();
            p.load(new java.io.ByteArrayInputStream(entries.get(DJL_PROPERTIES)));
            // ai.djl.util.Platform: the cache folder is <version>-<flavor>-<os-arch>, the flavor of a CPU build "cpu"
            djlFolder = DJL_DIR + "tokenizers/" + p.getProperty("version") + "-cpu-" + djlPlatform + "/";
        }
        ByteArrayOutputStream buffer = new ByteArrayOutputStream(jar.length);
        try (ZipOutputStream out = new ZipOutputStream(buffer)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                String name = e.getKey();
                String keep = null;
                boolean drop = false;
                if (ort && name.startsWith(ORT_PREFIX)) {
                    drop = true;
                    String own = ORT_PREFIX + ortPlatform + "/";
                    if (name.startsWith(own) && e.getValue() != null && !name.contains(".dSYM/")) {
                        keep = ORT_DIR + name.substring(own.length());
                    }
                } else if (djl && name.startsWith(DJL_PREFIX) && !name.equals(DJL_PROPERTIES)) {
                    drop = true;
                    String own = DJL_PREFIX + djlPlatform + "/cpu/";
                    if (name.startsWith(own) && e.getValue() != null) {
                        keep = djlFolder + name.substring(own.length());
                    }
                } else if (jna && name.startsWith(JNA_PREFIX) && name.contains("jnidispatch")) {
                    // JNA extracts its own platform's library itself, if it is ever used: that one stays in the jar
                    drop = !name.startsWith(JNA_PREFIX + jnaPlatform + "/");
                }
                if (keep != null) {
                    natives.put(keep, e.getValue());
                } else if (drop) {
                    if (e.getValue() != null) {
                        dropped.add(jarName + "!/" + name);
                    }
                } else {
                    ZipEntry copy = new ZipEntry(name);
                    copy.setTime(times.get(name));
                    out.putNextEntry(copy);
                    if (e.getValue() != null) {
                        out.write(e.getValue());
                    }
                    out.closeEntry();
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(jarName, e);
        }
        return buffer.toByteArray();
    }

    private LambdaNatives() {}
}
