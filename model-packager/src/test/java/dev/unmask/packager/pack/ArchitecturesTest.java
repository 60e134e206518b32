package dev.unmask.packager.pack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.unmask.format.GraphSignature;
import dev.unmask.packager.ExitCode;
import dev.unmask.packager.PackagerException;
import dev.unmask.packager.Progress;
import dev.unmask.packager.TinyModel;
import dev.unmask.packager.arch.ConfigJson;
import dev.unmask.packager.arch.GraphBuilder;
import dev.unmask.packager.arch.GraphOptions;
import dev.unmask.packager.arch.ModelArchitecture;
import dev.unmask.packager.arch.SamplingHead;
import dev.unmask.packager.arch.TransformerConfig;
import dev.unmask.packager.arch.TransformerOps;
import dev.unmask.packager.checkpoint.Checkpoint;
import dev.unmask.packager.llada.Llada;
import dev.unmask.packager.onnx.ExternalDataWriter;
import dev.unmask.packager.onnx.WeightFormat;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which architecture converts a checkpoint, chosen from its config.json, and what the seam carries for the next. */
class ArchitecturesTest {

    @TempDir
    Path tmp;

    @Test
    void llada_isChosenFromItsModelType() {
        Architectures.Chosen chosen = Architectures.read(TinyModel.checkpoint());
        assertEquals("llada", chosen.architecture().family());
        TransformerConfig c = chosen.config();
        assertEquals(
                List.of(6, 256, 8, 2, 32, 704, 4096, 512),
                List.of(
                        c.layers(),
                        c.modelDim(),
                        c.heads(),
                        c.kvHeads(),
                        c.headDim(),
                        c.mlpHiddenSize(),
                        c.vocabSize(),
                        c.maxSequenceLength()));
        assertEquals(new TransformerConfig.SpecialTokenIds(3, 1, 1, 0), c.tokens());
        assertTrue(c.bidirectional() && !c.logitsShift() && !c.tiedEmbeddings() && !c.qkvBias());
    }

    @Test
    void withoutAModelTypeTheModelClassInArchitecturesDecides() throws IOException {
        Path ckpt = config(c -> c.remove("model_type"));
        assertEquals("llada", Architectures.read(ckpt).architecture().family());
    }

    @Test
    void anUnknownModelTypeListsTheSupportedArchitecturesEvenIfAClassMatches() throws IOException {
        Path ckpt = config(c -> c.put("model_type", "qwen3"));
        PackagerException e = assertThrows(PackagerException.class, () -> Architectures.read(ckpt));
        assertEquals(ExitCode.BAD_CHECKPOINT, e.exitCode());
        assertTrue(
                e.getMessage()
                        .contains("model_type 'qwen3' (architectures [LLaDAModelLM]); unmask-pack converts: "
                                + "llada (LLaDAModelLM), Dream (DreamModel)"),
                e.getMessage());
    }

    @Test
    void theChoiceIsAmongTheRegisteredArchitecturesOnly() throws IOException {
        ModelArchitecture dream = new Shifted();
        ConfigJson json = ConfigJson.read(config(c -> c.put("model_type", "dream")));
        assertSame(dream, Architectures.choose(json, List.of(new Llada(), dream)));
        PackagerException e =
                assertThrows(PackagerException.class, () -> Architectures.choose(json, List.of(new Llada())));
        assertTrue(e.getMessage().contains("'dream'"), e.getMessage());
        assertEquals("llada (LLaDAModelLM), dream (DreamModel)", Architectures.describe(List.of(new Llada(), dream)));
    }

    @Test
    void aConfigTheSharedRecordRefusesIsReportedWithTheFile() throws IOException {
        Path ckpt = config(c -> c.put("max_sequence_length", 0));
        PackagerException e = assertThrows(PackagerException.class, () -> Architectures.read(ckpt));
        assertEquals(ExitCode.BAD_CHECKPOINT, e.exitCode());
        assertTrue(
                e.getMessage().contains("config.json") && e.getMessage().contains("max sequence length, found 0"),
                e.getMessage());
    }

    @Test
    void groupedHeadsThatDoNotDivideAreRefusedOnceForEveryArchitecture() throws IOException {
        Path ckpt = config(c -> c.put("n_kv_heads", 3));
        PackagerException e = assertThrows(PackagerException.class, () -> Architectures.read(ckpt));
        assertEquals(ExitCode.BAD_CHECKPOINT, e.exitCode());
        assertTrue(e.getMessage().contains("has 8 heads, not a multiple of its 3 key/value heads"), e.getMessage());
    }

    /**
     * The seam carries shifted logits (Dream): the same weights built by an architecture whose logits at i predict
     * token i+1 return, at head position p, what the plain graph returns at p-1 (and at 0 for position 0).
     */
    @Test
    void aLogitsShiftingArchitectureReadsThePreviousPositionInTheSharedHead() throws Exception {
        TransformerConfig plain = Architectures.read(TinyModel.checkpoint()).config();
        long[] ids = {0, 17, 3, 3, 200, 45, 3, 99};
        long[] all = {0, 1, 2, 3, 4, 5, 6, 7};
        float[][] unshifted = logits(new Llada(), plain, "plain", ids, all);
        float[][] shifted = logits(new Shifted(), plain, "shifted", ids, all);
        for (int p = 0; p < ids.length; p++) {
            assertArrayEquals(unshifted[Math.max(p - 1, 0)], shifted[p], "head position " + p);
        }
    }

    /** A second family in one class: LLaDA's body and tensors, with Dream's shifted logits. */
    static final class Shifted implements ModelArchitecture {
        private final Llada llada = new Llada();

        @Override
        public String family() {
            return "dream";
        }

        @Override
        public List<String> modelTypes() {
            return List.of("dream");
        }

        @Override
        public List<String> modelClasses() {
            return List.of("DreamModel");
        }

        @Override
        public TransformerConfig readConfig(ConfigJson config) {
            TransformerConfig c = llada.readConfig(config);
            return new TransformerConfig(
                    c.modelType(),
                    c.layers(),
                    c.modelDim(),
                    c.heads(),
                    c.kvHeads(),
                    c.headDim(),
                    c.mlpHiddenSize(),
                    c.vocabSize(),
                    c.embeddingSize(),
                    c.maxSequenceLength(),
                    c.ropeTheta(),
                    c.rmsNormEps(),
                    c.tiedEmbeddings(),
                    c.bidirectional(),
                    true,
                    c.qkvBias(),
                    c.tokens());
        }

        @Override
        public List<ExpectedTensor> tensors(TransformerConfig config) {
            return llada.tensors(config);
        }

        @Override
        public String body(TransformerOps ops) {
            return llada.body(ops);
        }

        @Override
        public SamplingHead.Weights head(TransformerConfig config) {
            return llada.head(config);
        }

        @Override
        public dev.unmask.format.PackageManifest.GenerationDefaults generationDefaults(
                com.fasterxml.jackson.databind.JsonNode generationConfig, TransformerConfig config) {
            return llada.generationDefaults(generationConfig, config);
        }
    }

    private float[][] logits(
            ModelArchitecture architecture, TransformerConfig plain, String name, long[] ids, long[] heads)
            throws Exception {
        TransformerConfig config =
                architecture instanceof Shifted s ? s.readConfig(ConfigJson.read(TinyModel.checkpoint())) : plain;
        Path dir = Files.createDirectories(tmp.resolve(name));
        ModelProto model;
        try (Checkpoint checkpoint = Checkpoint.open(TinyModel.checkpoint());
                ExternalDataWriter data = new ExternalDataWriter(
                        dir.resolve(ExternalDataWriter.DATA_FILE), ExternalDataWriter.DEFAULT_THRESHOLD_BYTES)) {
            model = new GraphBuilder(
                            architecture,
                            config,
                            checkpoint,
                            GraphOptions.of(WeightFormat.FP32).withFullLogits(true),
                            Progress.NONE)
                    .build(data);
        }
        Files.write(dir.resolve("model.onnx"), model.toByteArray());
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        long[] ones = new long[ids.length];
        java.util.Arrays.fill(ones, 1);
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions();
                OrtSession session = env.createSession(dir.resolve("model.onnx").toString(), options);
                OnnxTensor input = OnnxTensor.createTensor(env, new long[][] {ids});
                OnnxTensor mask = OnnxTensor.createTensor(env, new long[][] {ones});
                OnnxTensor positions = OnnxTensor.createTensor(env, new long[][] {heads});
                OnnxTensor positionIds = OnnxTensor.createTensor(env, new long[][] {canvasPositions(ids.length)});
                OnnxTensor emptyPast = OnnxTensor.createTensor( // ORT Java refuses arrays with a 0 dimension
                        env, java.nio.ByteBuffer.allocateDirect(0).asFloatBuffer(), new long[] {1, 0, config.kvDim()});
                OrtSession.Result result = session.run(withEmptyPasts(
                        config.layers(),
                        emptyPast,
                        Map.of(
                                GraphSignature.INPUT_IDS,
                                input,
                                GraphSignature.ATTENTION_MASK,
                                mask,
                                GraphSignature.POSITION_IDS,
                                positionIds,
                                GraphSignature.HEAD_POSITIONS,
                                positions)))) {
            return ((float[][][])
                            result.get(GraphSignature.LOGITS).orElseThrow().getValue())
                    [0];
        }
    }

    /** A forward without a cache: every layer's past is empty (format 3). */
    private static Map<String, OnnxTensor> withEmptyPasts(int layers, OnnxTensor empty, Map<String, OnnxTensor> in) {
        Map<String, OnnxTensor> all = new java.util.HashMap<>(in);
        for (int i = 0; i < layers; i++) {
            all.put(GraphSignature.pastKey(i), empty);
            all.put(GraphSignature.pastValue(i), empty);
        }
        return all;
    }

    private static long[] canvasPositions(int length) {
        long[] p = new long[length];
        for (int i = 0; i < length; i++) {
            p[i] = i;
        }
        return p;
    }

    private Path config(java.util.function.Consumer<ObjectNode> edit) throws IOException {
        Path ckpt = Files.createDirectories(tmp.resolve("ckpt"));
        ObjectMapper json = new ObjectMapper();
        ObjectNode c = (ObjectNode)
                json.readTree(TinyModel.checkpoint().resolve("config.json").toFile());
        edit.accept(c);
        json.writeValue(ckpt.resolve("config.json").toFile(), c);
        return ckpt;
    }
}
