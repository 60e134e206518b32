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
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedDeque;

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
    private final boolean positionIds; // format 3: the graph takes position_ids and per-layer pasts
    private final PackageManifest.KvCache kvCache; // null for a graph without a cache
    private final long padId;
    private final Set<String> headOutputs; // what a forward reads back (presents only when asked, pinned)
    // reused direct buffers, one set per concurrent caller: a step allocates no cache-sized memory
    private final ConcurrentLinkedDeque<Scratch> scratches = new ConcurrentLinkedDeque<>();
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
        // the session's own inputs decide, not the manifest's version: a v2 and a v3 package run alike
        this.positionIds = session.getInputNames().contains(GraphSignature.POSITION_IDS);
        this.kvCache = positionIds ? manifest.graph().kvCache() : null;
        this.padId = manifest.specialTokens().pad();
        Set<String> heads = new LinkedHashSet<>(List.of(
                GraphSignature.TOPK_IDS, GraphSignature.TOPK_LOGITS, GraphSignature.LOGSUMEXP, GraphSignature.ENTROPY));
        if (hasLogits) {
            heads.add(GraphSignature.LOGITS);
        }
        this.headOutputs = Set.copyOf(heads);
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
            if (options.spinning() != RuntimeOptions.Spinning.AUTO) { // ONNX Runtime's session config key
                so.addConfigEntry(
                        "session.intra_op.allow_spinning",
                        options.spinning() == RuntimeOptions.Spinning.SPIN ? "1" : "0");
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
                "Loaded {0}: execution provider {1}, intra-op threads {2} ({6}), dtype {3}, quantization {4}, top_k {5}",
                pkg.manifest().name(),
                chosen,
                options.intraOpThreads() == 0 ? "auto" : String.valueOf(options.intraOpThreads()),
                precision == null ? "?" : precision.dtype(),
                precision == null ? "?" : precision.quantization(),
                model.topK,
                options.spinning() == RuntimeOptions.Spinning.SLEEP
                        ? "sleeping between parallel sections"
                        : "spinning");
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
        // the same reused direct buffers as the cached path: a warm step allocates no direct memory
        Scratch scratch = scratches.pollFirst();
        if (scratch == null) {
            scratch = new Scratch(kvCache == null ? 0 : kvCache.layers());
        }
        List<OnnxTensor> tensors = new ArrayList<>();
        try {
            Map<String, OnnxTensor> inputs = new HashMap<>();
            inputs.put(
                    GraphSignature.INPUT_IDS,
                    add(tensors, fill(scratch.ids(batch * sequence), inputIds), batch, sequence));
            inputs.put(
                    GraphSignature.ATTENTION_MASK,
                    add(tensors, fill(scratch.mask(batch * sequence), attentionMask), batch, sequence));
            inputs.put(
                    GraphSignature.HEAD_POSITIONS,
                    add(tensors, fill(scratch.heads(batch * positions), headPositions), batch, positions));
            if (positionIds) { // a format 3 graph: positions 0..L-1 and zero-length pasts, the uncached forward
                LongBuffer pos = scratch.positions(batch * sequence); // [batch, sequence]
                for (int b = 0; b < batch; b++) {
                    for (int i = 0; i < sequence; i++) {
                        pos.put(i);
                    }
                }
                inputs.put(GraphSignature.POSITION_IDS, add(tensors, pos.flip(), batch, sequence));
                addEmptyPasts(inputs, tensors, batch);
            }
            try (OrtSession.Result result = session.run(inputs, headOutputs)) {
                return head(result, batch, positions);
            }
        } catch (OrtException e) {
            throw new UnmaskException(
                    Failure.RUNTIME,
                    "ONNX Runtime failed on a forward pass of " + manifest.name() + " (batch " + batch + ", sequence "
                            + sequence + ", positions " + positions + "): " + e.getMessage(),
                    e);
        } finally {
            tensors.forEach(OnnxTensor::close);
            scratches.addFirst(scratch);
        }
    }

    /** [rows.length, width] row-major into {@code buf} (sized exactly), flipped for reading. */
    private static LongBuffer fill(LongBuffer buf, long[][] rows) {
        for (long[] row : rows) {
            buf.put(row);
        }
        return buf.flip();
    }

    /**
     * The cached forward (format 3). Rows are padded on the right to the batch's longest window and past: padded
     * keys get attention_mask 0, padded queries position ids repeating the row's last and the pad token, padded head
     * positions the row's last one. A batch of one reads its past straight from the row's {@link KvBuffers} (a view,
     * no copy); several rows are copied into this model's reused [batch, past, kv_dim] buffers, since one input
     * tensor is one buffer. Presents are pinned into reused buffers and requested only when a row keeps some.
     */
    @Override
    public HeadOutput forward(CachedForward forward) {
        checkClosed();
        if (kvCache == null) {
            return DenoisingModel.super.forward(forward); // the clear refusal
        }
        List<CachedForward.Row> rows = forward.rows();
        int batch = rows.size();
        int sequence = 0;
        int past = 0;
        int positions = 0;
        for (CachedForward.Row r : rows) {
            sequence = Math.max(sequence, r.inputIds().length);
            past = Math.max(past, r.past().length());
            positions = Math.max(positions, r.headPositions().length);
            if (r.past().cache() != null && r.past().cache().kvDim() != kvCache.kvDim()) {
                throw new IllegalArgumentException("a past of kv_dim "
                        + r.past().cache().kvDim() + " does not fit this graph's kv_dim " + kvCache.kvDim());
            }
        }
        int maxSequence = manifest.architecture().maxSequenceLength();
        for (CachedForward.Row r : rows) { // per row: a padded batch may hold more keys than any one canvas
            int n = r.inputIds().length;
            long lastPosition = 0;
            for (long p : r.positionIds()) {
                lastPosition = Math.max(lastPosition, p);
            }
            if (maxSequence > 0 && (r.past().length() + n > maxSequence || lastPosition >= maxSequence)) {
                throw new IllegalArgumentException("a row of past " + r.past().length() + " + window " + n
                        + " tokens (last position " + lastPosition + ") exceeds the model's max_sequence_length "
                        + maxSequence + "; shorten the prompt or the generation length");
            }
        }
        int kvDim = kvCache.kvDim();
        int layers = kvCache.layers();
        boolean presents = forward.wantsPresents();
        Scratch scratch = scratches.pollFirst();
        if (scratch == null) {
            scratch = new Scratch(layers);
        }
        List<OnnxTensor> tensors = new ArrayList<>();
        try {
            LongBuffer ids = scratch.ids(batch * sequence); // [batch, sequence]
            LongBuffer pos = scratch.positions(batch * sequence); // [batch, sequence]
            LongBuffer mask = scratch.mask(batch * (past + sequence)); // [batch, past + sequence]
            LongBuffer heads = scratch.heads(batch * positions); // [batch, positions]
            for (CachedForward.Row r : rows) {
                int n = r.inputIds().length;
                ids.put(r.inputIds());
                pos.put(r.positionIds());
                for (int i = n; i < sequence; i++) {
                    ids.put(padId);
                    pos.put(r.positionIds()[n - 1]);
                }
                int p = r.past().length();
                for (int i = 0; i < past + sequence; i++) {
                    mask.put(i < p || (i >= past && i - past < n) ? 1L : 0L);
                }
                long[] h = r.headPositions();
                heads.put(h);
                for (int i = h.length; i < positions; i++) {
                    heads.put(h[h.length - 1]);
                }
            }
            Map<String, OnnxTensor> inputs = new HashMap<>();
            inputs.put(GraphSignature.INPUT_IDS, add(tensors, ids.flip(), batch, sequence));
            inputs.put(GraphSignature.POSITION_IDS, add(tensors, pos.flip(), batch, sequence));
            inputs.put(GraphSignature.ATTENTION_MASK, add(tensors, mask.flip(), batch, past + sequence));
            inputs.put(GraphSignature.HEAD_POSITIONS, add(tensors, heads.flip(), batch, positions));
            for (int layer = 0; layer < layers; layer++) {
                inputs.put(GraphSignature.pastKey(layer), pastTensor(tensors, scratch, rows, layer, false, past));
                inputs.put(GraphSignature.pastValue(layer), pastTensor(tensors, scratch, rows, layer, true, past));
            }
            Map<String, OnnxTensor> pinned = new HashMap<>();
            if (presents) {
                long[] shape = {batch, sequence, kvDim};
                for (int layer = 0; layer < layers; layer++) {
                    pinned.put(
                            GraphSignature.presentKey(layer),
                            add(tensors, scratch.present(layer, false, batch * sequence * kvDim), shape));
                    pinned.put(
                            GraphSignature.presentValue(layer),
                            add(tensors, scratch.present(layer, true, batch * sequence * kvDim), shape));
                }
            }
            HeadOutput out;
            try (OrtSession.Result result = session.run(inputs, headOutputs, pinned)) {
                out = head(result, batch, positions);
            }
            if (presents) {
                keep(scratch, rows, sequence, layers, kvDim);
            }
            return out;
        } catch (OrtException e) {
            throw new UnmaskException(
                    Failure.RUNTIME,
                    "ONNX Runtime failed on a cached forward pass of " + manifest.name() + " (batch " + batch
                            + ", window " + sequence + ", past " + past + ", positions " + positions + "): "
                            + e.getMessage(),
                    e);
        } finally {
            tensors.forEach(OnnxTensor::close);
            scratches.addFirst(scratch);
        }
    }

    @Override
    public boolean supportsCache() {
        return kvCache != null;
    }

    /** Copies each row's kept presents out of the pinned [batch, sequence, kv_dim] buffers into its cache. */
    private static void keep(Scratch scratch, List<CachedForward.Row> rows, int sequence, int layers, int kvDim) {
        for (int b = 0; b < rows.size(); b++) {
            for (CachedForward.Keep k : rows.get(b).keep()) {
                for (int layer = 0; layer < layers; layer++) {
                    for (boolean value : new boolean[] {false, true}) {
                        FloatBuffer src = scratch.presentBuffer(layer, value).duplicate();
                        src.position((b * sequence + k.from()) * kvDim);
                        k.into().put(layer, value, k.at(), src, k.length());
                    }
                }
            }
        }
    }

    private OnnxTensor pastTensor(
            List<OnnxTensor> tensors, Scratch scratch, List<CachedForward.Row> rows, int layer, boolean value, int past)
            throws OrtException {
        int kvDim = kvCache.kvDim();
        int batch = rows.size();
        long[] shape = {batch, past, kvDim};
        if (past == 0) {
            return add(tensors, EMPTY, shape);
        }
        if (batch == 1) { // the run's own buffer, read in place
            KvBuffers cache = rows.get(0).past().cache();
            return add(tensors, value ? cache.values(layer, past) : cache.keys(layer, past), shape);
        }
        FloatBuffer buf = scratch.past(layer, value, batch * past * kvDim);
        for (CachedForward.Row r : rows) {
            int p = r.past().length();
            if (p > 0) {
                KvBuffers cache = r.past().cache();
                buf.put(value ? cache.values(layer, p) : cache.keys(layer, p));
            }
            // padded past positions are masked out; their content only has to be finite
            for (int i = p * kvDim; i < past * kvDim; i++) {
                buf.put(0f);
            }
        }
        return add(tensors, buf.flip(), shape);
    }

    private void addEmptyPasts(Map<String, OnnxTensor> inputs, List<OnnxTensor> tensors, int batch)
            throws OrtException {
        PackageManifest.KvCache cache = manifest.graph().kvCache();
        if (cache == null) {
            throw new PackageException("The graph of " + manifest.name() + " takes position_ids but manifest.json"
                    + " declares no graph.kv_cache; the package is inconsistent, re-package it");
        }
        long[] shape = {batch, 0, cache.kvDim()};
        for (int layer = 0; layer < cache.layers(); layer++) {
            inputs.put(GraphSignature.pastKey(layer), add(tensors, EMPTY, shape));
            inputs.put(GraphSignature.pastValue(layer), add(tensors, EMPTY, shape));
        }
    }

    // ONNX Runtime Java takes a [batch, 0, kv_dim] tensor over an empty direct buffer (checked against 1.23.2)
    private static final FloatBuffer EMPTY = KvBuffers.direct(0);

    private OnnxTensor add(List<OnnxTensor> tensors, LongBuffer data, int batch, int width) throws OrtException {
        OnnxTensor t = OnnxTensor.createTensor(env, data, new long[] {batch, width});
        tensors.add(t);
        return t;
    }

    private OnnxTensor add(List<OnnxTensor> tensors, FloatBuffer data, long[] shape) throws OrtException {
        OnnxTensor t = OnnxTensor.createTensor(env, data.duplicate(), shape);
        tensors.add(t);
        return t;
    }

    private HeadOutput head(OrtSession.Result result, int batch, int positions) {
        long[] topkIds = longs(result, GraphSignature.TOPK_IDS);
        float[] topkLogits = floats(result, GraphSignature.TOPK_LOGITS);
        float[] lse = floats(result, GraphSignature.LOGSUMEXP);
        float[] entropy = floats(result, GraphSignature.ENTROPY);
        float[] logits = hasLogits ? floats(result, GraphSignature.LOGITS) : null;
        return new HeadOutput(batch, positions, topK, topkIds, topkLogits, lse, entropy, logits, hasLogits ? vocab : 0);
    }

    /**
     * One caller's reused direct buffers: grown when a forward needs more, never shrunk, so steps of one shape
     * allocate nothing. Each accessor returns a cleared view of exactly the size asked for.
     */
    private static final class Scratch {
        private LongBuffer ids = longs(0);
        private LongBuffer positions = longs(0);
        private LongBuffer mask = longs(0);
        private LongBuffer heads = longs(0);
        private final FloatBuffer[] pastKeys;
        private final FloatBuffer[] pastValues;
        private final FloatBuffer[] presentKeys;
        private final FloatBuffer[] presentValues;

        Scratch(int layers) {
            pastKeys = new FloatBuffer[layers];
            pastValues = new FloatBuffer[layers];
            presentKeys = new FloatBuffer[layers];
            presentValues = new FloatBuffer[layers];
        }

        LongBuffer ids(int n) {
            ids = grow(ids, n);
            return view(ids, n);
        }

        LongBuffer positions(int n) {
            positions = grow(positions, n);
            return view(positions, n);
        }

        LongBuffer mask(int n) {
            mask = grow(mask, n);
            return view(mask, n);
        }

        LongBuffer heads(int n) {
            heads = grow(heads, n);
            return view(heads, n);
        }

        FloatBuffer past(int layer, boolean value, int n) {
            FloatBuffer[] set = value ? pastValues : pastKeys;
            set[layer] = grow(set[layer], n);
            return view(set[layer], n);
        }

        FloatBuffer present(int layer, boolean value, int n) {
            FloatBuffer[] set = value ? presentValues : presentKeys;
            set[layer] = grow(set[layer], n);
            return view(set[layer], n);
        }

        /** The whole pinned present buffer of the last forward, positioned at 0. */
        FloatBuffer presentBuffer(int layer, boolean value) {
            return (value ? presentValues : presentKeys)[layer].duplicate().clear();
        }

        private static LongBuffer longs(int n) {
            return ByteBuffer.allocateDirect(n * Long.BYTES)
                    .order(ByteOrder.nativeOrder())
                    .asLongBuffer();
        }

        private static LongBuffer grow(LongBuffer b, int n) {
            return b.capacity() >= n ? b : longs(Math.max(n, b.capacity() * 2));
        }

        private static FloatBuffer grow(FloatBuffer b, int n) {
            return b != null && b.capacity() >= n ? b : KvBuffers.direct(Math.max(n, b == null ? 0 : b.capacity() * 2));
        }

        private static LongBuffer view(LongBuffer b, int n) {
            LongBuffer v = b.duplicate();
            v.clear().limit(n);
            return v.slice();
        }

        private static FloatBuffer view(FloatBuffer b, int n) {
            FloatBuffer v = b.duplicate();
            v.clear().limit(n);
            return v.slice();
        }
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
