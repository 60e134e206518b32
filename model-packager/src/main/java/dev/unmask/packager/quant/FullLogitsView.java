package dev.unmask.packager.quant;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.CodedInputStream;
import dev.unmask.format.GraphSignature;
import dev.unmask.format.Manifests;
import dev.unmask.format.ModelPackage;
import dev.unmask.format.PackageFolders;
import dev.unmask.format.PackageManifest;
import dev.unmask.format.Sha256;
import dev.unmask.packager.ExitCode;
import dev.unmask.packager.PackagerException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A temporary copy of a package whose graph also outputs the full {@code logits [batch, positions, vocab]}, so that
 * KL divergence and masked-token loss can be measured on any package, not only on those converted with
 * {@code --full-logits}. Only {@code model.onnx} (the graph, small: weights are external) is rewritten: the head's
 * {@code TopK} input gets an {@code Identity} to a new graph output; every other file is a symbolic link to the
 * original (a copy where links are not allowed). The weights are the package's own, so what is measured is the
 * package. Closing deletes the folder. A package that already has full logits is used as it is.
 */
final class FullLogitsView implements AutoCloseable {

    static final String LOGITS = GraphSignature.LOGITS;

    private final Path dir;
    private final Path temp; // null when dir is the original package

    private FullLogitsView(Path dir, Path temp) {
        this.dir = dir;
        this.temp = temp;
    }

    /** The package folder to open: {@code pkg} itself when it has full logits, else a temporary view. */
    Path dir() {
        return dir;
    }

    static FullLogitsView of(ModelPackage pkg) {
        PackageManifest m = pkg.manifest();
        if (m.graph().fullLogits()) {
            return new FullLogitsView(pkg.dir(), null);
        }
        Path temp;
        try {
            temp = Files.createTempDirectory("unmask-full-logits-");
        } catch (IOException e) {
            throw new PackagerException(
                    ExitCode.IO,
                    "Cannot create a temporary folder for a full-logits view of " + pkg.dir() + ": " + e.getMessage(),
                    e);
        }
        try {
            ModelProto model = read(pkg.modelFile());
            String headLogits = null;
            for (NodeProto n : model.getGraph().getNodeList()) {
                if (n.getOpType().equals("TopK") && n.getOutputList().contains(GraphSignature.TOPK_IDS)) {
                    headLogits = n.getInput(0);
                }
            }
            if (headLogits == null) {
                throw new PackagerException(
                        ExitCode.BAD_PACKAGE,
                        pkg.modelFile() + " has no TopK node producing "
                                + "'topk_ids'; cannot add a full logits output. Convert it with --full-logits.");
            }
            int vocab = m.architecture().vocabSize();
            TensorShapeProto.Builder shape = TensorShapeProto.newBuilder()
                    .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("batch"))
                    .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("positions"))
                    .addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(vocab));
            ModelProto.Builder b = model.toBuilder();
            b.getGraphBuilder()
                    .addNode(NodeProto.newBuilder()
                            .setOpType("Identity")
                            .setName("/head/logits/Identity")
                            .addInput(headLogits)
                            .addOutput(LOGITS))
                    .addOutput(ValueInfoProto.newBuilder()
                            .setName(LOGITS)
                            .setType(TypeProto.newBuilder()
                                    .setTensorType(TypeProto.Tensor.newBuilder()
                                            .setElemType(DataType.FLOAT.getNumber())
                                            .setShape(shape))));
            try (OutputStream os = new java.io.BufferedOutputStream(
                    Files.newOutputStream(temp.resolve(ModelPackage.MODEL_FILE)), 1 << 20)) {
                b.build().writeTo(os);
            }
            for (String name : m.files().keySet()) {
                if (!name.equals(ModelPackage.MODEL_FILE)) {
                    link(pkg.dir().resolve(name), temp.resolve(name));
                }
            }
            Map<String, PackageManifest.FileEntry> files = new LinkedHashMap<>(m.files());
            Path graph = temp.resolve(ModelPackage.MODEL_FILE);
            files.put(ModelPackage.MODEL_FILE, new PackageManifest.FileEntry(Files.size(graph), Sha256.ofFile(graph)));
            List<PackageManifest.TensorSpec> outputs = new ArrayList<>(m.graph().outputs());
            outputs.add(new PackageManifest.TensorSpec(LOGITS, "float32", List.of("batch", "positions", vocab)));
            PackageManifest.Graph g = m.graph();
            PackageManifest view = new PackageManifest(
                    m.format(),
                    m.formatVersion(),
                    m.name(),
                    m.architecture(),
                    m.source(),
                    m.precision(),
                    new PackageManifest.Graph(
                            g.opset(), g.irVersion(), g.topK(), true, g.inputs(), List.copyOf(outputs), g.kvCache()),
                    m.specialTokens(),
                    m.generationDefaults(),
                    m.chatTemplate(),
                    files,
                    m.packager(),
                    null);
            Manifests.write(view, temp);
            return new FullLogitsView(temp, temp);
        } catch (IOException e) {
            PackageFolders.deleteTree(temp);
            throw new PackagerException(
                    ExitCode.IO,
                    "Cannot write a full-logits view of " + pkg.dir() + " in " + temp + ": " + e.getMessage(),
                    e);
        } catch (RuntimeException e) {
            PackageFolders.deleteTree(temp);
            throw e;
        }
    }

    private static void link(Path target, Path link) throws IOException {
        try {
            Files.createSymbolicLink(link, target);
        } catch (UnsupportedOperationException | IOException e) {
            Files.copy(target, link);
        }
    }

    private static ModelProto read(Path file) throws IOException {
        try (InputStream in = new java.io.BufferedInputStream(Files.newInputStream(file), 1 << 20)) {
            CodedInputStream coded = CodedInputStream.newInstance(in);
            coded.setSizeLimit(Integer.MAX_VALUE);
            return ModelProto.parseFrom(coded);
        }
    }

    @Override
    public void close() {
        PackageFolders.deleteTree(temp);
    }
}
