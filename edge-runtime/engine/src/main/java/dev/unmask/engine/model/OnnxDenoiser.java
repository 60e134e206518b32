package dev.unmask.engine.model;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.unmask.failure.Failure;
import dev.unmask.failure.UnmaskException;
import dev.unmask.format.GraphSignature;
import dev.unmask.format.ModelPackage;
import dev.unmask.format.PackageException;
import dev.unmask.format.PackageManifest;
import java.nio.LongBuffer;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A package's graph in one ONNX Runtime session: the {@link DenoisingModel} the samplers call.
 *
 * <p>Thread-safety: {@link #forward} may be called from several threads (ONNX Runtime sessions are thread-safe for
 * {@code run}); {@link #close} must not race with it.
 *
 * <p>Native resources: this object owns the session <em>and</em> the {@link OrtSession.SessionOptions} it was created
 * with, and closes both, the options last. ONNX Runtime's contract (the {@code SessionOptions} Javadoc in
 * microsoft/onnxruntime {@code java/src/main/java/ai/onnxruntime/OrtSession.java}): "The SessionOptions object must
 * not be closed until all sessions which use it are closed, as otherwise it could release resources that are in
 * use" — the execution providers appended to it (CUDA, DirectML, CoreML) among them.
 */
public final class OnnxDenoiser implements DenoisingModel {

    private static final System.Logger LOG = System.getLogger(OnnxDenoiser.class.getName());

    private final OrtEnvironment env;
    private final OrtSession.SessionOptions sessionOptions; // outlives the session: closed after it
    private final OrtSession session;
    private final PackageManifest manifest;
    private final ExecutionProvider provider;
    private final int topK;
    private final int vocab;
    private final boolean hasLogits;
    private final PackageManifest.KvCache kvCache; // null: a format 1/2 graph, no position_ids and no past inputs
    private final Set<String> headOutputs; // what a forward without a cache reads: the head's outputs only
    private volatile boolean closed;

    private OnnxDenoiser(
            OrtEnvironment env,
            OrtSession.SessionOptions sessionOptions,
            OrtSession session,
            PackageManifest manifest,
            ExecutionProvider provider) {
        this.env = env;
        this.sessionOptions = sessionOptions;
        this.session = session;
        this.manifest = manifest;
        this.provider = provider;
        this.topK = manifest.graph().topK();
        this.vocab = manifest.architecture().vocabSize();
        this.hasLogits = session.getOutputNames().contains(GraphSignature.LOGITS);
        this.kvCache = session.getInputNames().contains(GraphSignature.POSITION_IDS)
                ? manifest.graph().kvCache()
                : null;
        Set<String> head = new LinkedHashSet<>(List.of(
                GraphSignature.TOPK_IDS, GraphSignature.TOPK_LOGITS, GraphSignature.LOGSUMEXP, GraphSignature.ENTROPY));
        if (hasLogits) {
            head.add(GraphSignature.LOGITS);
        }
        this.headOutputs = Set.copyOf(head);
    }

    /**
     * Opens one ONNX Runtime session on {@code pkg}'s model, on the requested execution provider (or CPU, with a log
     * line, when that provider is not in this ONNX Runtime build), and checks the session's inputs and outputs
     * against the manifest.
     *
     * @throws PackageException when the graph cannot be loaded or does not declare what the manifest says
     */
    public static OnnxDenoiser load(ModelPackage pkg, RuntimeOptions options) {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        ExecutionProvider chosen = options.executionProvider();
        OrtSession.SessionOptions so = new OrtSession.SessionOptions();
        OrtSession session;
        try {
            so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            if (options.intraOpThreads() > 0) {
                so.setIntraOpNumThreads(options.intraOpThreads());
            }
            chosen = addProvider(so, chosen);
            session = env.createSession(pkg.modelFile().toString(), so);
        } catch (OrtException e) {
            so.close(); // no session was made with them: nothing else holds them
            throw new PackageException(
                    "ONNX Runtime could not load " + pkg.modelFile() + ": " + e.getMessage()
                            + ". Re-package the checkpoint with this version of 'unmask-pack'.",
                    e);
        } catch (RuntimeException | Error e) {
            so.close();
            throw e;
        }
        OnnxDenoiser model = new OnnxDenoiser(env, so, session, pkg.manifest(), chosen); // owns both from here
        try {
            model.checkSignature(pkg);
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
        PackageManifest.Precision precision = pkg.manifest().precision();
        LOG.log(
                System.Logger.Level.INFO,
                "Loaded {0}: execution provider {1}, intra-op threads {2}, dtype {3}, quantization {4}, top_k {5}",
                pkg.manifest().name(),
                chosen,
                options.intraOpThreads() == 0 ? "auto" : String.valueOf(options.intraOpThreads()),
                precision == null ? "?" : precision.dtype(),
                precision == null ? "?" : precision.quantization(),
                model.topK);
        return model;
    }

    private static ExecutionProvider addProvider(OrtSession.SessionOptions so, ExecutionProvider requested) {
        if (requested == ExecutionProvider.CPU) {
            return requested;
        }
        EnumSet<OrtProvider> available = OrtEnvironment.getAvailableProviders();
        if (!available.contains(requested.ortProvider())) {
            LOG.log(
                    System.Logger.Level.WARNING,
                    "Execution provider {0} is not available in this ONNX Runtime build "
                            + "(available: {1}); running on CPU instead. For CUDA use the onnxruntime_gpu artifact and a CUDA 12 driver.",
                    requested,
                    available);
            return ExecutionProvider.CPU;
        }
        try {
            switch (requested) {
                case CUDA -> so.addCUDA(0);
                case COREML -> so.addCoreML();
                case DIRECTML -> so.addDirectML(0);
                default -> {}
            }
            return requested;
        } catch (OrtException | RuntimeException e) {
            LOG.log(
                    System.Logger.Level.WARNING,
                    "Execution provider {0} failed to initialise ({1}); running on CPU instead.",
                    requested,
                    e.getMessage());
            return ExecutionProvider.CPU;
        }
    }

    private void checkSignature(ModelPackage pkg) {
        PackageManifest.Graph graph = manifest.graph();
        try {
            checkSide(pkg, "input", graph.inputs(), session.getInputInfo());
            checkSide(pkg, "output", graph.outputs(), session.getOutputInfo());
        } catch (OrtException e) {
            throw new PackageException("Could not read the inputs and outputs of " + pkg.modelFile(), e);
        }
    }

    private static void checkSide(
            ModelPackage pkg, String side, List<PackageManifest.TensorSpec> declared, Map<String, NodeInfo> actual) {
        Set<String> manifestNames = new LinkedHashSet<>();
        if (declared != null) {
            for (PackageManifest.TensorSpec spec : declared) {
                manifestNames.add(spec.name());
                NodeInfo info = actual.get(spec.name());
                if (info == null) {
                    throw new PackageException(pkg.modelFile() + " has no " + side + " '" + spec.name()
                            + "' that manifest.json declares; the graph has " + side + "s " + actual.keySet());
                }
                if (info.getInfo() instanceof TensorInfo t) {
                    String type = typeName(t);
                    if (spec.type() != null && !spec.type().equals(type)) {
                        throw new PackageException(pkg.modelFile() + " " + side + " '" + spec.name() + "' has type "
                                + type + ", manifest.json declares " + spec.type());
                    }
                    if (spec.shape() != null && spec.shape().size() != t.getShape().length) {
                        throw new PackageException(pkg.modelFile() + " " + side + " '" + spec.name() + "' has rank "
                                + t.getShape().length + ", manifest.json declares shape " + spec.shape());
                    }
                }
            }
        }
        if (!manifestNames.equals(actual.keySet())) {
            throw new PackageException(pkg.modelFile() + " has " + side + "s " + actual.keySet()
                    + " but manifest.json declares " + manifestNames + "; the package is inconsistent, re-package it");
        }
    }

    private static String typeName(TensorInfo t) {
        return switch (t.type) {
            case INT64 -> "int64";
            case FLOAT -> "float32";
            case FLOAT16 -> "float16";
            case INT32 -> "int32";
            default -> t.type.name().toLowerCase(java.util.Locale.ROOT);
        };
    }

    @Override
    public HeadOutput forward(long[][] inputIds, long[][] attentionMask, long[][] headPositions) {
        checkClosed();
        int batch = inputIds.length;
        if (batch == 0) {
            throw new IllegalArgumentException("inputIds has no rows; pass [batch][sequence] with batch >= 1");
        }
        int sequence = inputIds[0].length;
        int positions = headPositions.length == 0 ? 0 : headPositions[0].length;
        int maxSequence = manifest.architecture().maxSequenceLength();
        if (maxSequence > 0 && sequence > maxSequence) {
            throw new IllegalArgumentException(
                    "sequence of " + sequence + " tokens exceeds the model's max_sequence_length " + maxSequence
                            + " (manifest.json architecture); shorten the prompt or the generation length");
        }
        requireRect("inputIds", inputIds, batch, sequence);
        requireRect("attentionMask", attentionMask, batch, sequence);
        requireRect("headPositions", headPositions, batch, positions);
        for (int b = 0; b < batch; b++) {
            for (long p : headPositions[b]) {
                if (p < 0 || p >= sequence) {
                    throw new IllegalArgumentException(
                            "headPositions[" + b + "] holds " + p + ", outside the sequence [0, " + sequence + ")");
                }
            }
        }
        Map<String, OnnxTensor> inputs = new HashMap<>();
        List<OnnxTensor> owned = new java.util.ArrayList<>();
        try (OnnxTensor ids = tensor(inputIds, sequence);
                OnnxTensor mask = tensor(attentionMask, sequence);
                OnnxTensor heads = tensor(headPositions, positions)) {
            inputs.put(GraphSignature.INPUT_IDS, ids);
            inputs.put(GraphSignature.ATTENTION_MASK, mask);
            inputs.put(GraphSignature.HEAD_POSITIONS, heads);
            if (kvCache != null) { // format 3 without a cache: positions 0 … sequence-1 and empty pasts
                long[][] positionIds = new long[batch][sequence];
                for (long[] row : positionIds) {
                    for (int i = 0; i < sequence; i++) {
                        row[i] = i;
                    }
                }
                OnnxTensor pos = tensor(positionIds, sequence);
                owned.add(pos);
                inputs.put(GraphSignature.POSITION_IDS, pos);
                OnnxTensor empty = emptyPast(batch);
                owned.add(empty);
                for (int i = 0; i < kvCache.layers(); i++) {
                    inputs.put(GraphSignature.pastKey(i), empty);
                    inputs.put(GraphSignature.pastValue(i), empty);
                }
            }
            try (OrtSession.Result result = session.run(inputs, headOutputs)) {
                long[] topkIds = longs(result, GraphSignature.TOPK_IDS);
                float[] topkLogits = floats(result, GraphSignature.TOPK_LOGITS);
                float[] lse = floats(result, GraphSignature.LOGSUMEXP);
                float[] entropy = floats(result, GraphSignature.ENTROPY);
                float[] logits = hasLogits ? floats(result, GraphSignature.LOGITS) : null;
                return new HeadOutput(
                        batch, positions, topK, topkIds, topkLogits, lse, entropy, logits, hasLogits ? vocab : 0);
            }
        } catch (OrtException e) {
            throw new UnmaskException(
                    Failure.RUNTIME,
                    "ONNX Runtime failed on a forward pass of " + manifest.name() + " (batch " + batch + ", sequence "
                            + sequence + ", positions " + positions + "): " + e.getMessage(),
                    e);
        } finally {
            owned.forEach(OnnxTensor::close);
        }
    }

    /** [batch, 0, kv_dim] float32: the past of a forward without a cache. */
    private OnnxTensor emptyPast(int batch) throws OrtException {
        java.nio.FloatBuffer none = java.nio.ByteBuffer.allocateDirect(0)
                .order(java.nio.ByteOrder.nativeOrder())
                .asFloatBuffer();
        return OnnxTensor.createTensor(env, none, new long[] {batch, 0, kvCache.kvDim()});
    }

    private static void requireRect(String name, long[][] rows, int batch, int width) {
        if (rows.length != batch) {
            throw new IllegalArgumentException(
                    name + " has " + rows.length + " rows, expected " + batch + " (one per canvas)");
        }
        for (int b = 0; b < batch; b++) {
            if (rows[b].length != width) {
                throw new IllegalArgumentException(name + "[" + b + "] has length " + rows[b].length + ", expected "
                        + width + ": all rows of a batch have the same length (pad with attention_mask 0)");
            }
        }
    }

    /** A direct, native-order buffer, which ONNX Runtime reads without a copy. */
    private OnnxTensor tensor(long[][] rows, int width) throws OrtException {
        LongBuffer buf = java.nio.ByteBuffer.allocateDirect(rows.length * width * Long.BYTES)
                .order(java.nio.ByteOrder.nativeOrder())
                .asLongBuffer();
        for (long[] row : rows) {
            buf.put(row);
        }
        buf.flip();
        return OnnxTensor.createTensor(env, buf, new long[] {rows.length, width});
    }

    private static OnnxTensor output(OrtSession.Result result, String name) {
        Optional<OnnxValue> v = result.get(name);
        if (v.isEmpty() || !(v.get() instanceof OnnxTensor t)) {
            throw new IllegalStateException("The graph produced no tensor '" + name + "'");
        }
        return t;
    }

    private static long[] longs(OrtSession.Result result, String name) {
        LongBuffer b = output(result, name).getLongBuffer();
        long[] out = new long[b.remaining()];
        b.get(out);
        return out;
    }

    private static float[] floats(OrtSession.Result result, String name) {
        java.nio.FloatBuffer b = output(result, name).getFloatBuffer();
        float[] out = new float[b.remaining()];
        b.get(out);
        return out;
    }

    @Override
    public PackageManifest manifest() {
        return manifest;
    }

    /** The provider the session actually runs on (CPU when the requested one was unavailable). */
    public ExecutionProvider executionProvider() {
        return provider;
    }

    private void checkClosed() {
        if (closed) {
            throw new IllegalStateException(
                    "This OnnxDenoiser of " + manifest.name() + " is closed; load the package again");
        }
    }

    /** The options the session was created with: open exactly as long as the session (for the lifetime test). */
    OrtSession.SessionOptions sessionOptions() {
        return sessionOptions;
    }

    /** Closes the ONNX Runtime session, then the options it was created with; idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            session.close();
        } catch (OrtException e) {
            LOG.log(System.Logger.Level.WARNING, "Closing the ONNX Runtime session failed: {0}", e.getMessage());
        } finally {
            sessionOptions.close();
        }
    }
}
