package dev.unmask.packager.arch;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import dev.unmask.format.GraphSignature;
import dev.unmask.packager.PackagerVersion;
import dev.unmask.packager.Progress;
import dev.unmask.packager.checkpoint.Checkpoint;
import dev.unmask.packager.onnx.ExternalDataWriter;
import dev.unmask.packager.onnx.GraphMetadata;
import dev.unmask.packager.onnx.OnnxGraph;

/**
 * Builds a package's ONNX graph for any {@link ModelArchitecture}: the inputs of {@link GraphSignature}, the
 * architecture's body, the shared {@link SamplingHead}, and the model's opsets and metadata.
 *
 * <p>Format 3: one graph runs with and without a key/value cache. The past keys and values are ordinary inputs that
 * may be zero-length (no cache), not a second graph, so a package holds its weights once and one session serves
 * refreshes, cached steps and uncached runs; every layer also returns this forward's keys and values.
 */
public final class GraphBuilder {

    public static final int OPSET = 23;
    public static final int MS_OPSET = 1;
    public static final int IR_VERSION = 11;

    private final ModelArchitecture architecture;
    private final TransformerConfig config;
    private final Checkpoint checkpoint;
    private final GraphOptions options;
    private final Progress progress;

    public GraphBuilder(
            ModelArchitecture architecture,
            TransformerConfig config,
            Checkpoint checkpoint,
            GraphOptions options,
            Progress progress) {
        this.architecture = architecture;
        this.config = config;
        this.checkpoint = checkpoint;
        this.options = options;
        this.progress = progress;
    }

    /** Checks every tensor the graph needs (name and shape) before anything is written. */
    public void checkTensors() {
        for (ModelArchitecture.ExpectedTensor t : architecture.tensors(config)) {
            checkpoint.require(t.name(), t.shape());
        }
    }

    public ModelProto build(ExternalDataWriter data) {
        checkTensors();
        OnnxGraph g = new OnnxGraph(architecture.family(), data);
        g.input(GraphSignature.INPUT_IDS, DataType.INT64, "batch", "sequence");
        g.input(GraphSignature.ATTENTION_MASK, DataType.INT64, "batch", "total_sequence");
        g.input(GraphSignature.POSITION_IDS, DataType.INT64, "batch", "sequence");
        g.input(GraphSignature.HEAD_POSITIONS, DataType.INT64, "batch", "positions");
        for (int i = 0; i < config.layers(); i++) { // [batch, past_sequence, kv_dim], past_sequence 0 without a cache
            g.input(GraphSignature.pastKey(i), DataType.FLOAT, "batch", "past_sequence", config.kvDim());
            g.input(GraphSignature.pastValue(i), DataType.FLOAT, "batch", "past_sequence", config.kvDim());
        }
        TransformerOps ops = new TransformerOps(g, checkpoint, config, options, progress);
        String hidden = architecture.body(ops);
        String headInput = SamplingHead.build(ops, hidden, architecture.head(config));
        for (int i = 0; i < config.layers(); i++) { // after the head's outputs, in GraphSignature's order
            g.output(GraphSignature.presentKey(i), DataType.FLOAT, "batch", "sequence", config.kvDim());
            g.output(GraphSignature.presentValue(i), DataType.FLOAT, "batch", "sequence", config.kvDim());
        }
        return ModelProto.newBuilder()
                .setIrVersion(IR_VERSION)
                .setProducerName("unmask-pack")
                .setProducerVersion(PackagerVersion.VERSION)
                .setDomain("dev.unmask")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET))
                .addOpsetImport(OperatorSetIdProto.newBuilder()
                        .setDomain(OnnxGraph.MS_DOMAIN)
                        .setVersion(MS_OPSET))
                .addMetadataProps(GraphMetadata.entry(GraphMetadata.SAMPLING_HEAD_INPUT, headInput))
                .setGraph(g.proto())
                .build();
    }
}
