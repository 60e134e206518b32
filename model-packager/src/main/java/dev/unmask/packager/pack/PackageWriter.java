package dev.unmask.packager.pack;

import ai.onnx.proto.OnnxMl.ModelProto;
import com.fasterxml.jackson.databind.JsonNode;
import dev.unmask.engine.model.OnnxDenoiser;
import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.engine.model.SelfTest;
import dev.unmask.format.GraphSignature;
import dev.unmask.format.Manifests;
import dev.unmask.format.ModelPackage;
import dev.unmask.format.PackageException;
import dev.unmask.format.PackageFolders;
import dev.unmask.format.PackageManifest;
import dev.unmask.format.Sha256;
import dev.unmask.format.Verification;
import dev.unmask.packager.ExitCode;
import dev.unmask.packager.PackagerException;
import dev.unmask.packager.PackagerVersion;
import dev.unmask.packager.Progress;
import dev.unmask.packager.arch.GraphBuilder;
import dev.unmask.packager.arch.GraphOptions;
import dev.unmask.packager.arch.ModelArchitecture;
import dev.unmask.packager.arch.TransformerConfig;
import dev.unmask.packager.checkpoint.Checkpoint;
import dev.unmask.packager.onnx.ExternalDataWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * Converts a checkpoint into a package. Everything is written into a hidden sibling folder
 * ({@code .<out>.partial-<random>}), checked (checksums, and the self-test run in ONNX Runtime), and only then renamed
 * to {@code out} in one atomic move: a failed conversion leaves no package, partial or otherwise.
 */
public final class PackageWriter {

    public static final String TOKENIZER = "tokenizer.json";
    static final int SELF_TEST_LENGTH = 16;
    static final int SELF_TEST_FIRST_MASK = 5;
    static final int SELF_TEST_MASKS = 6;

    private final Consumer<String> log;
    private final Progress progress;
    private final PublishCheck publishCheck;
    private final Function<Path, ModelPackage> verify;

    public PackageWriter(Consumer<String> log, Progress progress) {
        this(log, progress, PublishCheck.NONE);
    }

    /** @param publishCheck runs on the complete package before the rename (e.g. the quality gate of --against) */
    public PackageWriter(Consumer<String> log, Progress progress, PublishCheck publishCheck) {
        this(
                log,
                progress,
                publishCheck,
                dir -> ModelPackage.open(dir, Verification.FULL)); // a new package: hash it all
    }

    /**
     * @param verify opens the written package checking every file against the manifest: called once per conversion
     *               (the only read of {@code model.onnx.data} after writing it), its result shared by the self-test
     */
    PackageWriter(
            Consumer<String> log, Progress progress, PublishCheck publishCheck, Function<Path, ModelPackage> verify) {
        this.log = log;
        this.progress = progress;
        this.publishCheck = publishCheck;
        this.verify = verify;
    }

    /** The result of a conversion: the package folder (final) and its manifest. */
    public record Written(Path dir, PackageManifest manifest) {}

    /** Counts the tensors and bytes a conversion will read, for progress bars. */
    public static long[] workload(Path from) {
        if (!Files.isDirectory(from)) {
            return new long[] {1, 1}; // convert() reports the real problem
        }
        try (Checkpoint c = Checkpoint.open(from)) {
            return new long[] {c.tensors().size(), c.totalBytes()};
        }
    }

    public Written convert(ConvertRequest request) {
        Path from = request.from().toAbsolutePath().normalize();
        Path out = request.out().toAbsolutePath().normalize();
        if (!Files.isDirectory(from)) {
            throw new PackagerException(
                    ExitCode.BAD_CHECKPOINT,
                    from + " is not a folder; point --from at a Hugging Face "
                            + "checkpoint folder, e.g. --from models/tiny-llada");
        }
        if (Files.exists(out) && !request.replace()) {
            throw new PackagerException(
                    ExitCode.IO, out + " already exists; choose another --out or pass --force to replace it");
        }
        if (out.equals(from)) {
            throw new PackagerException(ExitCode.USAGE, "--out must differ from --from");
        }
        Architectures.Chosen model = Architectures.read(from);
        Path tokenizer = from.resolve(TOKENIZER);
        if (!Files.isRegularFile(tokenizer)) {
            throw new PackagerException(
                    ExitCode.BAD_CHECKPOINT,
                    "No " + TOKENIZER + " in " + from
                            + "; the package needs the Hugging Face fast tokenizer file (download tokenizer.json with the weights)");
        }
        Path partial = PackageFolders.createPartial(out);
        try {
            PackageManifest manifest = publishCheck.check(partial, writeInto(partial, from, model, tokenizer, request));
            PackageFolders.moveIntoPlace(partial, out, request.replace());
            log.accept("wrote " + out);
            return new Written(out, manifest);
        } catch (RuntimeException | Error e) {
            PackageFolders.deleteTree(partial);
            throw e;
        }
    }

    private PackageManifest writeInto(
            Path dir, Path from, Architectures.Chosen model, Path tokenizer, ConvertRequest request) {
        GraphOptions options = request.graph();
        ModelArchitecture architecture = model.architecture();
        TransformerConfig config = model.config();
        log.accept(String.format(
                "converting %s (%s, model_type %s, %d layers, d_model %d, %d heads / %d kv heads, vocab %d)",
                from,
                architecture.family(),
                config.modelType(),
                config.layers(),
                config.modelDim(),
                config.heads(),
                config.kvHeads(),
                config.vocabSize()));
        log.accept(String.format(
                "chosen: dtype %s (%s), quantization %s, top_k %d, full logits %s, external data for "
                        + "initializers >= %d bytes, self-test %s",
                options.format().manifestName(),
                options.format() == dev.unmask.packager.onnx.WeightFormat.FP32
                        ? "weights and activations fp32"
                        : "weights fp16, Cast to fp32 activations",
                options.linear().quantization(),
                options.topK(),
                options.fullLogits() ? "on" : "off",
                ExternalDataWriter.DEFAULT_THRESHOLD_BYTES,
                request.runSelfTest() ? "run" : "skipped"));
        Map<String, String> sourceFiles = new TreeMap<>();
        Map<String, String> knownDigests = new TreeMap<>();
        try (Checkpoint checkpoint = Checkpoint.open(from)) {
            GraphBuilder builder = new GraphBuilder(architecture, config, checkpoint, options, progress);
            builder.checkTensors();
            ModelProto graph;
            Path dataFile = dir.resolve(ExternalDataWriter.DATA_FILE);
            ExternalDataWriter data = new ExternalDataWriter(dataFile, ExternalDataWriter.DEFAULT_THRESHOLD_BYTES);
            try (data) {
                graph = builder.build(data);
            }
            if (data.sha256() != null) {
                knownDigests.put(ExternalDataWriter.DATA_FILE, data.sha256());
            }
            writeModel(graph, dir.resolve(ModelPackage.MODEL_FILE));
            log.accept(String.format(
                    "wrote the graph (%d nodes, %d initializers, %s of external data); checksumming the source files",
                    graph.getGraph().getNodeCount(),
                    graph.getGraph().getInitializerCount(),
                    human(data.externalBytes())));
            for (Path p : checkpoint.weightFiles()) {
                sourceFiles.put(p.getFileName().toString(), Sha256.ofFile(p));
            }
        }
        try {
            Files.copy(tokenizer, dir.resolve(TOKENIZER));
        } catch (IOException e) {
            throw new PackagerException(ExitCode.IO, "Cannot copy " + tokenizer + ": " + e.getMessage(), e);
        }
        for (String name :
                List.of("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json")) {
            Path p = from.resolve(name);
            if (Files.isRegularFile(p)) {
                sourceFiles.put(name, Sha256.ofFile(p));
            }
        }
        JsonNode generation = CheckpointMetadata.readOptional(from.resolve("generation_config.json"));
        JsonNode tokenizerConfig = CheckpointMetadata.readOptional(from.resolve("tokenizer_config.json"));
        PackageManifest manifest = new PackageManifest(
                PackageManifest.FORMAT,
                PackageManifest.CURRENT_FORMAT_VERSION,
                request.name() != null ? request.name() : from.getFileName().toString(),
                config.manifestRecord(architecture.family()),
                new PackageManifest.Source(from.getFileName().toString(), digestOfDigests(sourceFiles), sourceFiles),
                new PackageManifest.Precision(
                        options.format().manifestName(), options.linear().quantization()),
                graph(config, options),
                CheckpointMetadata.specialTokens(
                        config.tokens(), generation, CheckpointMetadata.addedTokens(tokenizer), from),
                architecture.generationDefaults(generation, config),
                CheckpointMetadata.chatTemplate(tokenizerConfig),
                fileEntries(dir, knownDigests),
                new PackageManifest.Packager(
                        PackagerVersion.NAME,
                        PackagerVersion.VERSION,
                        Instant.now().truncatedTo(ChronoUnit.SECONDS).toString()),
                null);
        Manifests.write(manifest, dir);
        // The one read of every written file: checksums against the manifest, then the same opened package serves
        // the self-test's session (recording and checking on one session, not a second open and load).
        log.accept("verifying the package's checksums");
        ModelPackage written = verify.apply(dir);
        if (!request.runSelfTest()) {
            log.accept(
                    "self-test skipped (--self-test=skip): the package has no self_test; 'unmask-pack verify' checks checksums only");
            return manifest;
        }
        try (OnnxDenoiser session = OnnxDenoiser.load(written, RuntimeOptions.defaults())) {
            manifest = withSelfTest(manifest, recordSelfTest(session, manifest));
            Manifests.write(manifest, dir);
            SelfTest.Result result = SelfTest.run(session, Manifests.read(dir).selfTest()); // as a reader will see it
            if (!result.passed()) {
                throw new PackagerException(
                        ExitCode.BAD_PACKAGE, "The written package fails its own self-test: " + result.summary());
            }
            log.accept(result.summary());
        } catch (PackageException e) {
            throw new PackagerException(
                    ExitCode.BAD_PACKAGE, "The written graph does not load in ONNX Runtime: " + e.getMessage(), e);
        }
        return manifest;
    }

    /** Runs the fixed self-test canvas through the written graph and returns it with the top-1 ids it produced. */
    private static PackageManifest.SelfTest recordSelfTest(OnnxDenoiser session, PackageManifest manifest) {
        long[][] ids = {selfTestCanvas(manifest)};
        long[][] heads = new long[1][SELF_TEST_MASKS];
        for (int i = 0; i < SELF_TEST_MASKS; i++) {
            heads[0][i] = SELF_TEST_FIRST_MASK + i;
        }
        PackageManifest.SelfTest probe = new PackageManifest.SelfTest(ids, heads, new long[1][SELF_TEST_MASKS]);
        return new PackageManifest.SelfTest(
                ids, heads, SelfTest.run(session, probe).actualTop1());
    }

    /**
     * BOS, then ordinary token ids spread over the vocabulary (never a special id), with {@link #SELF_TEST_MASKS} mask
     * ids from position {@link #SELF_TEST_FIRST_MASK}: [bos, t1 … t4, mask × 6, t11 … t15].
     */
    static long[] selfTestCanvas(PackageManifest manifest) {
        PackageManifest.SpecialTokens s = manifest.specialTokens();
        int vocab = manifest.architecture().vocabSize();
        java.util.Set<Long> special = new java.util.HashSet<>();
        for (Integer id : new Integer[] {s.mask(), s.eos(), s.eot(), s.bos(), s.pad()}) {
            if (id != null) {
                special.add(id.longValue());
            }
        }
        long[] ids = new long[SELF_TEST_LENGTH];
        long low = Math.min(16, vocab / 4);
        long span = Math.min(vocab, 4096) - low;
        for (int i = 0; i < SELF_TEST_LENGTH; i++) {
            long t = low + (i * 977L + 131) % span;
            while (special.contains(t)) {
                t = low + (t + 1 - low) % span;
            }
            ids[i] = t;
        }
        ids[0] = s.bos() != null ? s.bos() : ids[0];
        for (int i = 0; i < SELF_TEST_MASKS; i++) {
            ids[SELF_TEST_FIRST_MASK + i] = s.mask();
        }
        return ids;
    }

    private static PackageManifest withSelfTest(PackageManifest m, PackageManifest.SelfTest t) {
        return new PackageManifest(
                m.format(),
                m.formatVersion(),
                m.name(),
                m.architecture(),
                m.source(),
                m.precision(),
                m.graph(),
                m.specialTokens(),
                m.generationDefaults(),
                m.chatTemplate(),
                m.files(),
                m.packager(),
                t);
    }

    static PackageManifest.Graph graph(TransformerConfig c, GraphOptions o) {
        // keys and values are computed in fp32 whatever the weights' dtype (TransformerOps computes in fp32)
        PackageManifest.KvCache cache = new PackageManifest.KvCache(c.layers(), c.kvDim(), "float32");
        return new PackageManifest.Graph(
                GraphBuilder.OPSET,
                GraphBuilder.IR_VERSION,
                o.topK(),
                o.fullLogits(),
                GraphSignature.inputs(cache),
                GraphSignature.outputs(o.topK(), c.vocabSize(), o.fullLogits(), cache),
                cache);
    }

    private static void writeModel(ModelProto model, Path file) {
        try (OutputStream os = new java.io.BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
            model.writeTo(os);
        } catch (IOException e) {
            throw new PackagerException(ExitCode.IO, "Cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Every file of the package folder but the manifest, sorted by name, with size and SHA-256 ({@code known} digests,
     * computed while writing, are used as they are; the verification before the rename reads every file once).
     */
    public static Map<String, PackageManifest.FileEntry> fileEntries(Path dir, Map<String, String> known) {
        Map<String, PackageManifest.FileEntry> files = new LinkedHashMap<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.sorted().toList()) {
                String n = p.getFileName().toString();
                if (PackageFolders.isContentFile(n) && Files.isRegularFile(p)) {
                    String sha = known.containsKey(n) ? known.get(n) : Sha256.ofFile(p);
                    files.put(n, new PackageManifest.FileEntry(Files.size(p), sha));
                }
            }
        } catch (IOException e) {
            throw new PackagerException(ExitCode.IO, "Cannot list " + dir + ": " + e.getMessage(), e);
        }
        return files;
    }

    static String human(long bytes) {
        return bytes >= 1L << 30
                ? String.format("%.2f GiB", bytes / (double) (1L << 30))
                : String.format("%.1f MiB", bytes / (double) (1L << 20));
    }

    static String digestOfDigests(Map<String, String> byName) {
        StringBuilder all = new StringBuilder();
        new TreeMap<>(byName).forEach((k, v) -> all.append(v));
        return Sha256.ofBytes(all.toString().getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    }
}
