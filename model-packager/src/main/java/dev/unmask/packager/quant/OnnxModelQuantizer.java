package dev.unmask.packager.quant;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.CodedInputStream;
import dev.unmask.packager.ExitCode;
import dev.unmask.packager.PackagerException;
import dev.unmask.packager.checkpoint.Half;
import dev.unmask.packager.onnx.ExternalDataWriter;
import dev.unmask.packager.onnx.FloatLinear;
import dev.unmask.packager.onnx.GraphMetadata;
import dev.unmask.packager.onnx.LinearRole;
import dev.unmask.packager.onnx.OnnxGraph;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Quantizes an existing ONNX model (ours or one exported elsewhere): every {@code MatMul} whose second input is a
 * constant 2-D float weight {@code [K, N]} (fp32, or fp16/bf16 behind a {@code Cast} to float) becomes
 * {@code com.microsoft::MatMulNBits}, as ORT's {@code MatMulNBitsQuantizer} does. The stored {@code Wᵀ [K, N]} is
 * read back as rows of {@code W [N, K]} in tiles of a few MiB, and everything is written to a new
 * {@code model.onnx} + {@code model.onnx.data}: the heap holds one tile and one tensor's scales, never the model.
 */
public final class OnnxModelQuantizer {

    /** Tile of transposed rows read at once: at most this many floats. */
    private static final int TILE_FLOATS = 8 << 20;

    /**
     * What was done, for the log and the report.
     *
     * @param knownDigests SHA-256 of the written files computed while writing them ({@code model.onnx.data}), so the
     *                     package's checksums need not read them back
     */
    public record Result(
            int quantized,
            List<String> skipped,
            long weightBytesBefore,
            long weightBytesAfter,
            Map<String, String> knownDigests) {}

    private final QuantScheme scheme;
    private final HeadPrecision head;

    public OnnxModelQuantizer(QuantScheme scheme, HeadPrecision head) {
        this.scheme = Objects.requireNonNull(scheme, "quantization scheme");
        this.head = Objects.requireNonNull(head, "head precision");
        QuantScheme headScheme = head.schemeFor(scheme);
        if (scheme.integerGemm() || (headScheme != null && headScheme.integerGemm())) {
            // a float package's weights are stored transposed; the channel layout is written while converting
            throw new IllegalArgumentException("int8:block=channel and int4:qgemm are written by 'unmask-pack convert"
                    + " --quant'; 'quantize' writes MatMulNBits, e.g. --quant int8:block=32");
        }
    }

    /**
     * Reads {@code modelFile} (external data resolved next to it) and writes {@code outDir/model.onnx} and
     * {@code outDir/model.onnx.data}; {@code outDir} must exist and hold neither.
     */
    public Result quantize(Path modelFile, Path outDir) {
        ModelProto model = read(modelFile);
        Path baseDir = modelFile.toAbsolutePath().getParent();
        GraphProto graph = model.getGraph();

        Map<String, TensorProto> initializers = new LinkedHashMap<>();
        for (TensorProto t : graph.getInitializerList()) {
            initializers.put(t.getName(), t);
        }
        Map<String, NodeProto> producers = new HashMap<>();
        Map<String, Integer> uses = new HashMap<>();
        for (NodeProto n : graph.getNodeList()) {
            for (String o : n.getOutputList()) {
                producers.put(o, n);
            }
            for (String i : n.getInputList()) {
                uses.merge(i, 1, Integer::sum);
            }
        }
        for (ValueInfoProto o : graph.getOutputList()) {
            uses.merge(o.getName(), 1, Integer::sum);
        }

        // plan: which MatMuls, from which weight, through which Cast
        record Candidate(NodeProto matMul, TensorProto weight, NodeProto cast) {}
        List<Candidate> candidates = new ArrayList<>();
        for (NodeProto n : graph.getNodeList()) {
            if (!n.getOpType().equals("MatMul")
                    || !(n.getDomain().isEmpty() || n.getDomain().equals("ai.onnx"))
                    || n.getInputCount() != 2) {
                continue;
            }
            String b = n.getInput(1);
            TensorProto weight = initializers.get(b);
            NodeProto cast = null;
            if (weight == null
                    && producers.get(b) != null
                    && producers.get(b).getOpType().equals("Cast")) {
                cast = producers.get(b);
                weight = initializers.get(cast.getInput(0));
                if (weight == null || castTarget(cast) != DataType.FLOAT_VALUE) {
                    weight = null;
                }
            }
            if (weight != null) { // else activations times activations (attention): not a weight
                candidates.add(new Candidate(n, weight, cast));
            }
        }
        NodeProto headMatMul =
                head(model, candidates.stream().map(Candidate::matMul).toList());
        record Plan(NodeProto matMul, TensorProto weight, NodeProto cast, QuantScheme scheme, ScaleType scales) {}
        Map<NodeProto, Plan> plans = new LinkedHashMap<>();
        List<String> skipped = new ArrayList<>();
        for (Candidate c : candidates) {
            NodeProto n = c.matMul();
            TensorProto weight = c.weight();
            NodeProto cast = c.cast();
            int type = weight.getDataType();
            boolean floatType =
                    type == DataType.FLOAT_VALUE || type == DataType.FLOAT16_VALUE || type == DataType.BFLOAT16_VALUE;
            if (weight.getDimsCount() != 2 || !floatType || (cast == null && type == DataType.BFLOAT16_VALUE)) {
                skipped.add(n.getName() + " (weight " + weight.getName() + " is not a 2-D fp32/fp16 constant)");
                continue;
            }
            QuantScheme chosen =
                    head.schemeFor(scheme, n == headMatMul ? LinearRole.SAMPLING_HEAD : LinearRole.PROJECTION);
            if (chosen == null) {
                skipped.add(n.getName() + " (output head kept float)");
                continue;
            }
            ScaleType scales = cast == null && type == DataType.FLOAT16_VALUE ? ScaleType.FLOAT16 : ScaleType.FLOAT32;
            plans.put(n, new Plan(n, weight, cast, chosen, scales));
        }

        // values whose every consumer is replaced disappear with them
        Map<String, Integer> replacedUses = new HashMap<>();
        Set<NodeProto> dropped = new HashSet<>();
        for (Plan p : plans.values()) {
            replacedUses.merge(p.matMul().getInput(1), 1, Integer::sum);
        }
        for (Plan p : plans.values()) {
            NodeProto cast = p.cast();
            if (cast != null && replacedUses.getOrDefault(cast.getOutput(0), 0).equals(uses.get(cast.getOutput(0)))) {
                if (dropped.add(cast)) {
                    replacedUses.merge(cast.getInput(0), 1, Integer::sum);
                }
            }
        }
        Set<String> droppedInitializers = new HashSet<>();
        for (Plan p : plans.values()) {
            String w = p.weight().getName();
            if (replacedUses.getOrDefault(w, 0).equals(uses.get(w))) {
                droppedInitializers.add(w);
            }
        }

        GraphProto.Builder out = graph.toBuilder()
                .clearNode()
                .clearInitializer()
                .clearValueInfo()
                .clearInput();
        for (ValueInfoProto in : graph.getInputList()) {
            if (!droppedInitializers.contains(in.getName())) { // IR < 4 lists initializers as inputs too
                out.addInput(in);
            }
        }
        // Each weight's quantized initializers take its place in the initializer list, and each node keeps its
        // place, so a float package quantized here is the package convert --quant writes, byte for byte.
        Map<String, List<Plan>> plansByWeight = new LinkedHashMap<>();
        for (Plan p : plans.values()) {
            plansByWeight
                    .computeIfAbsent(p.weight().getName(), w -> new ArrayList<>())
                    .add(p);
        }
        Map<String, QuantizedLinear> done = new HashMap<>(); // a weight shared by several MatMuls is packed once
        Map<String, String> renamed = new HashMap<>(); // old MatMul output -> the MatMulNBits output
        Set<String> graphOutputs = new HashSet<>();
        graph.getOutputList().forEach(o -> graphOutputs.add(o.getName()));
        long before = 0;
        long after = 0;
        Path dataFile = outDir.resolve(ExternalDataWriter.DATA_FILE);
        ExternalDataWriter data = new ExternalDataWriter(dataFile, ExternalDataWriter.DEFAULT_THRESHOLD_BYTES);
        try (data;
                ExternalFiles files = new ExternalFiles(baseDir)) {
            for (TensorProto t : graph.getInitializerList()) {
                if (!droppedInitializers.contains(t.getName())) {
                    out.addInitializer(copy(t, files, data));
                }
                for (Plan p : plansByWeight.getOrDefault(t.getName(), List.of())) {
                    String key = key(p.weight(), p.scheme(), p.scales());
                    if (!done.containsKey(key)) {
                        TensorProto w = p.weight();
                        int k = (int) w.getDims(0);
                        int nOut = (int) w.getDims(1);
                        before += (long) k * nOut * elementBytes(w.getDataType());
                        QuantizedLinear q = writeQuantized(w, k, nOut, p.scheme(), p.scales(), files, data, out);
                        after += q.storedBytes();
                        done.put(key, q);
                    }
                }
            }
            for (NodeProto n : graph.getNodeList()) {
                if (dropped.contains(n)) {
                    continue;
                }
                NodeProto node = renamed.isEmpty() ? n : renameInputs(n, renamed);
                Plan p = plans.get(n);
                if (p == null) {
                    out.addNode(node);
                    continue;
                }
                QuantizedLinear q = done.get(key(p.weight(), p.scheme(), p.scales()));
                String nodeName;
                String output = n.getOutput(0);
                if (n.getName().endsWith(FLOAT_NODE_SUFFIX)) {
                    // a graph of ours: the node and its output get the names MatMulNBitsLinear gives them
                    nodeName = n.getName().substring(0, n.getName().length() - FLOAT_NODE_SUFFIX.length())
                            + MatMulNBitsLinear.NODE_SUFFIX;
                    if (output.equals(n.getName() + OnnxGraph.OUTPUT_SUFFIX) && !graphOutputs.contains(output)) {
                        renamed.put(output, nodeName + OnnxGraph.OUTPUT_SUFFIX);
                        output = nodeName + OnnxGraph.OUTPUT_SUFFIX;
                    }
                } else {
                    nodeName = (n.getName().isEmpty() ? p.weight().getName() : n.getName()) + "_Q"
                            + p.scheme().bits().bits();
                }
                out.addNode(q.node(nodeName, node.getInput(0), output));
            }
        } catch (IOException e) {
            throw new PackagerException(
                    ExitCode.IO, "Cannot read the weights of " + modelFile + ": " + e.getMessage(), e);
        }
        Set<String> produced = new HashSet<>();
        for (NodeProto n : out.getNodeList()) {
            produced.addAll(n.getOutputList());
        }
        for (ValueInfoProto v : graph.getValueInfoList()) {
            if (produced.contains(v.getName())) {
                out.addValueInfo(v);
            }
        }

        ModelProto.Builder result = model.toBuilder().setGraph(out);
        boolean hasMs =
                model.getOpsetImportList().stream().anyMatch(o -> o.getDomain().equals(MatMulNBits.DOMAIN));
        if (!hasMs && !plans.isEmpty()) {
            result.addOpsetImport(MatMulNBits.opsetImport());
        }
        if (result.getIrVersion() < 7) {
            result.setIrVersion(7);
        }
        Path modelOut = outDir.resolve("model.onnx");
        try (OutputStream os = new java.io.BufferedOutputStream(Files.newOutputStream(modelOut), 1 << 20)) {
            result.build().writeTo(os);
        } catch (IOException e) {
            throw new PackagerException(ExitCode.IO, "Cannot write " + modelOut + ": " + e.getMessage(), e);
        }
        return new Result(
                plans.size(),
                List.copyOf(skipped),
                before,
                after,
                data.sha256() == null ? Map.of() : Map.of(ExternalDataWriter.DATA_FILE, data.sha256()));
    }

    /** The float MatMul node name {@link dev.unmask.packager.onnx.FloatLinear} gives a linear. */
    private static final String FLOAT_NODE_SUFFIX = "/MatMul";

    /**
     * The output head among the weight MatMuls: the one reading the value the graph builder recorded as
     * {@link GraphMetadata#SAMPLING_HEAD_INPUT}; in a model without that record (exported elsewhere, or packaged
     * before it existed), the final projection, the last weight MatMul in the graph's topological order.
     */
    static NodeProto head(ModelProto model, List<NodeProto> weightMatMuls) {
        String headInput = GraphMetadata.get(model, GraphMetadata.SAMPLING_HEAD_INPUT);
        if (headInput != null) {
            for (NodeProto n : weightMatMuls) {
                if (n.getInput(0).equals(headInput)) {
                    return n;
                }
            }
        }
        return weightMatMuls.isEmpty() ? null : weightMatMuls.get(weightMatMuls.size() - 1);
    }

    private static String key(TensorProto weight, QuantScheme scheme, ScaleType scales) {
        return weight.getName() + "|" + scheme + "|" + scales;
    }

    private static NodeProto renameInputs(NodeProto n, Map<String, String> renamed) {
        NodeProto.Builder b = null;
        for (int i = 0; i < n.getInputCount(); i++) {
            String to = renamed.get(n.getInput(i));
            if (to != null) {
                b = b == null ? n.toBuilder() : b;
                b.setInput(i, to);
            }
        }
        return b == null ? n : b.build();
    }

    private static int castTarget(NodeProto cast) {
        return cast.getAttributeList().stream()
                .filter(a -> a.getName().equals("to"))
                .mapToInt(a -> (int) a.getI())
                .findFirst()
                .orElse(-1);
    }

    /** Quantizes {@code w} (stored {@code Wᵀ [K, N]}), streaming B into {@code data}; adds the initializers. */
    private static QuantizedLinear writeQuantized(
            TensorProto w,
            int k,
            int n,
            QuantScheme scheme,
            ScaleType scaleType,
            ExternalFiles files,
            ExternalDataWriter data,
            GraphProto.Builder out)
            throws IOException {
        FloatRowSource rows = new TransposedRows(reader(w, files), k, n);
        String name = w.getName().endsWith(FloatLinear.TRANSPOSED_SUFFIX)
                ? w.getName()
                        .substring(0, w.getName().length() - FloatLinear.TRANSPOSED_SUFFIX.length()) // ours: W's name
                : w.getName();
        try {
            return QuantizedWeights.write(data, out::addInitializer, name, n, k, rows, scheme, scaleType);
        } catch (IllegalArgumentException e) {
            throw new PackagerException(ExitCode.BAD_PACKAGE, e.getMessage(), e);
        }
    }

    /** An initializer kept as is: inline ones unchanged, external ones copied into the new data file. */
    private static TensorProto copy(TensorProto t, ExternalFiles files, ExternalDataWriter data) throws IOException {
        if (t.getDataLocation() != TensorProto.DataLocation.EXTERNAL) {
            return t;
        }
        External ext = External.of(t);
        DataType type = DataType.forNumber(t.getDataType());
        long[] dims = t.getDimsList().stream().mapToLong(Long::longValue).toArray();
        FileChannel channel = files.open(ext.location(), t.getName());
        TensorProto copied = data.write(t.getName(), type, dims, sink -> {
            byte[] chunk = new byte[1 << 20];
            ByteBuffer buffer = ByteBuffer.wrap(chunk);
            long done = 0;
            long length = ext.length() >= 0 ? ext.length() : sizeOf(t);
            while (done < length) {
                buffer.clear().limit((int) Math.min(chunk.length, length - done));
                readFully(channel, buffer, ext.offset() + done, t.getName());
                sink.putBytes(chunk, 0, buffer.position());
                done += buffer.position();
            }
        });
        return t.hasDocString()
                ? copied.toBuilder().setDocString(t.getDocString()).build()
                : copied;
    }

    private static long sizeOf(TensorProto t) {
        long n = elementBytes(t.getDataType());
        for (long d : t.getDimsList()) {
            n *= d;
        }
        return n;
    }

    private static int elementBytes(int dataType) {
        return ExternalDataWriter.elementBytes(DataType.forNumber(dataType));
    }

    private static void readFully(FileChannel channel, ByteBuffer buffer, long position, String tensor) {
        try {
            long at = position;
            while (buffer.hasRemaining()) {
                int read = channel.read(buffer, at);
                if (read < 0) {
                    throw new PackagerException(
                            ExitCode.BAD_PACKAGE,
                            "External data of '" + tensor + "' ends early at byte " + at
                                    + "; the .data file is truncated");
                }
                at += read;
            }
        } catch (IOException e) {
            throw new PackagerException(
                    ExitCode.IO, "Cannot read external data of '" + tensor + "': " + e.getMessage(), e);
        }
    }

    private static ModelProto read(Path modelFile) {
        if (!Files.isRegularFile(modelFile)) {
            throw new PackagerException(
                    ExitCode.USAGE,
                    modelFile + " is not a file; pass a package folder or a .onnx"
                            + " file, e.g. unmask-pack quantize models/tiny-llada/package --out /tmp/tiny-int4");
        }
        try (InputStream in = new java.io.BufferedInputStream(Files.newInputStream(modelFile), 1 << 20)) {
            CodedInputStream coded = CodedInputStream.newInstance(in);
            coded.setSizeLimit(Integer.MAX_VALUE);
            return ModelProto.parseFrom(coded);
        } catch (IOException e) {
            throw new PackagerException(
                    ExitCode.BAD_PACKAGE, modelFile + " is not a readable ONNX model: " + e.getMessage(), e);
        }
    }

    /** {@code location}, {@code offset}, {@code length} of an external tensor. */
    private record External(String location, long offset, long length) {
        static External of(TensorProto t) {
            String location = null;
            long offset = 0;
            long length = -1;
            for (StringStringEntryProto e : t.getExternalDataList()) {
                switch (e.getKey()) {
                    case "location" -> location = e.getValue();
                    case "offset" -> offset = Long.parseLong(e.getValue());
                    case "length" -> length = Long.parseLong(e.getValue());
                    default -> {}
                }
            }
            if (location == null) {
                throw new PackagerException(
                        ExitCode.BAD_PACKAGE,
                        "Initializer '" + t.getName() + "' is marked external but has no 'location' entry");
            }
            return new External(location, offset, length);
        }
    }

    /** Open channels on the input's external data files, by location, closed together. */
    private static final class ExternalFiles implements AutoCloseable {
        private final Path baseDir;
        private final Map<String, FileChannel> open = new HashMap<>();

        ExternalFiles(Path baseDir) {
            this.baseDir = baseDir;
        }

        FileChannel open(String location, String tensor) {
            return open.computeIfAbsent(location, l -> {
                Path p = baseDir.resolve(l).normalize();
                if (!p.startsWith(baseDir)) {
                    throw new PackagerException(
                            ExitCode.BAD_PACKAGE,
                            "Initializer '" + tensor + "' points outside the " + "model's folder (location '" + l
                                    + "'); ONNX external data must be relative and without '..'");
                }
                try {
                    return FileChannel.open(p, StandardOpenOption.READ);
                } catch (IOException e) {
                    throw new PackagerException(
                            ExitCode.BAD_PACKAGE,
                            "Initializer '" + tensor + "' needs " + p + ", which cannot be opened: " + e.getMessage(),
                            e);
                }
            });
        }

        @Override
        public void close() throws IOException {
            for (FileChannel c : open.values()) {
                c.close();
            }
        }
    }

    /** Reads {@code count} consecutive elements from flat index {@code first} as floats. */
    @FunctionalInterface
    private interface ElementReader {
        void read(long first, int count, float[] dst);
    }

    private static ElementReader reader(TensorProto t, ExternalFiles files) {
        int type = t.getDataType();
        int bytes = elementBytes(type);
        if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
            External ext = External.of(t);
            FileChannel channel = files.open(ext.location(), t.getName());
            ByteBuffer[] buffer = {ByteBuffer.allocate(0)};
            return (first, count, dst) -> {
                if (buffer[0].capacity() < count * bytes) {
                    buffer[0] = ByteBuffer.allocate(count * bytes).order(ByteOrder.LITTLE_ENDIAN);
                }
                ByteBuffer b = buffer[0];
                b.clear().limit(count * bytes);
                readFully(channel, b, ext.offset() + first * bytes, t.getName());
                decode(b, 0, type, count, dst);
            };
        }
        if (!t.getRawData().isEmpty()) {
            ByteBuffer raw = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            return (first, count, dst) -> decode(raw, (int) (first * bytes), type, count, dst);
        }
        if (type == DataType.FLOAT_VALUE) {
            List<Float> values = t.getFloatDataList();
            return (first, count, dst) -> {
                for (int i = 0; i < count; i++) {
                    dst[i] = values.get((int) first + i);
                }
            };
        }
        List<Integer> halves = t.getInt32DataList(); // fp16 / bf16 bits, one per int32
        return (first, count, dst) -> {
            for (int i = 0; i < count; i++) {
                short bits = (short) (int) halves.get((int) first + i);
                dst[i] = type == DataType.FLOAT16_VALUE
                        ? Half.toFloat(bits)
                        : Float.intBitsToFloat((bits & 0xffff) << 16);
            }
        };
    }

    private static void decode(ByteBuffer b, int at, int type, int count, float[] dst) {
        for (int i = 0; i < count; i++) {
            dst[i] = switch (type) {
                case DataType.FLOAT_VALUE -> b.getFloat(at + 4 * i);
                case DataType.FLOAT16_VALUE -> Half.toFloat(b.getShort(at + 2 * i));
                default -> Float.intBitsToFloat((b.getShort(at + 2 * i) & 0xffff) << 16); // BFLOAT16
            };
        }
    }

    /**
     * Rows of {@code W [N, K]} from the stored {@code Wᵀ [K, N]}: a tile of consecutive output rows is gathered with
     * one contiguous read per k, then handed out row by row.
     */
    private static final class TransposedRows implements FloatRowSource {
        private final ElementReader reader;
        private final int k;
        private final int n;
        private final int tileRows;
        private final float[] tile; // [tileRows, K]
        private final float[] run;
        private int tileStart = -1;

        TransposedRows(ElementReader reader, int k, int n) {
            this.reader = reader;
            this.k = k;
            this.n = n;
            this.tileRows = Math.max(1, Math.min(n, TILE_FLOATS / k));
            this.tile = new float[tileRows * k];
            this.run = new float[tileRows];
        }

        @Override
        public void readRow(int row, float[] dst) {
            if (tileStart < 0 || row < tileStart || row >= tileStart + tileRows) {
                tileStart = row;
                int rows = Math.min(tileRows, n - row);
                for (int i = 0; i < k; i++) {
                    reader.read((long) i * n + row, rows, run);
                    for (int j = 0; j < rows; j++) {
                        tile[j * k + i] = run[j];
                    }
                }
            }
            System.arraycopy(tile, (row - tileStart) * k, dst, 0, k);
        }
    }
}
