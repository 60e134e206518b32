package dev.unmask.packager.dream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.unmask.format.PackageManifest;
import dev.unmask.packager.ExitCode;
import dev.unmask.packager.PackagerException;
import dev.unmask.packager.arch.ModelArchitecture.ExpectedTensor;
import dev.unmask.packager.arch.TransformerConfig;
import dev.unmask.packager.pack.Architectures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Reading a Dream config.json: the 7B's hyper-parameters, DiffuCoder's config recognised as the same family, the
 * features the graph does not build refused with the key and a correct value, the tensor list with its biases and
 * its tied or untied head, and generation_config.json's keys in the manifest's generation defaults.
 */
class DreamTest {

    /**
     * The keys of Dream-org/Dream-v0-Instruct-7B's config.json (model_type "Dream", DreamModel; Qwen2.5-7B's
     * shape: 28 layers, hidden 3584, 28 heads / 4 kv heads, intermediate 18944, vocab 152064, rope_theta 1e6,
     * rms_norm_eps 1e-6, untied; mask 151666, eos/pad/bos 151643).
     */
    static final String DREAM_7B = """
            {"architectures": ["DreamModel"], "attention_dropout": 0.0,
             "auto_map": {"AutoConfig": "configuration_dream.DreamConfig", "AutoModel": "modeling_dream.DreamModel"},
             "bos_token_id": 151643, "eos_token_id": 151643, "hidden_act": "silu", "hidden_size": 3584,
             "initializer_range": 0.02, "intermediate_size": 18944, "mask_token_id": 151666,
             "max_position_embeddings": 131072, "max_window_layers": 28, "model_type": "Dream",
             "num_attention_heads": 28, "num_hidden_layers": 28, "num_key_value_heads": 4, "pad_token_id": 151643,
             "rms_norm_eps": 1e-06, "rope_scaling": null, "rope_theta": 1000000.0, "sliding_window": null,
             "tie_word_embeddings": false, "torch_dtype": "bfloat16", "use_cache": true,
             "use_sliding_window": false, "vocab_size": 152064}
            """;

    @TempDir
    Path tmp;

    @Test
    void dream7bReadsAsQwen2WithBiasesGroupedHeadsAndShiftedLogits() throws IOException {
        Architectures.Chosen chosen = Architectures.read(config(c -> {}));
        assertEquals("dream", chosen.architecture().family());
        TransformerConfig c = chosen.config();
        assertEquals(
                List.of(28, 3584, 28, 4, 128, 18944, 152064, 152064, 131072),
                List.of(
                        c.layers(),
                        c.modelDim(),
                        c.heads(),
                        c.kvHeads(),
                        c.headDim(),
                        c.mlpHiddenSize(),
                        c.vocabSize(),
                        c.embeddingSize(),
                        c.maxSequenceLength()));
        assertEquals(1e6, c.ropeTheta());
        assertEquals(1e-6, c.rmsNormEps());
        assertTrue(c.bidirectional() && c.logitsShift() && c.qkvBias() && !c.tiedEmbeddings());
        assertEquals(new TransformerConfig.SpecialTokenIds(151666, 151643, 151643, 151643), c.tokens());
        assertEquals("Dream", c.modelType());
    }

    /** apple/DiffuCoder-7B-Instruct ships the Dream config (model_type "Dream", DreamModel) on Qwen2.5-Coder-7B. */
    @Test
    void diffuCodersConfigIsRecognisedAsDream() throws IOException {
        Path ckpt = config(c -> c.put("pad_token_id", 151643).put("_name_or_path", "apple/DiffuCoder-7B-Instruct"));
        assertEquals("dream", Architectures.read(ckpt).architecture().family());
        Path byClass = config(c -> c.remove("model_type"));
        assertEquals("dream", Architectures.read(byClass).architecture().family(), "DreamModel without model_type");
    }

    @Test
    void theUnsupportedTypeMessageListsBothFamilies() throws IOException {
        Path ckpt = config(c -> c.put("model_type", "qwen2"));
        PackagerException e = assertThrows(PackagerException.class, () -> Architectures.read(ckpt));
        assertEquals(ExitCode.BAD_CHECKPOINT, e.exitCode());
        assertTrue(
                e.getMessage().contains("unmask-pack converts: llada (LLaDAModelLM), Dream (DreamModel)"),
                e.getMessage());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiter = '|',
            value = {
                "use_sliding_window|true|\"use_sliding_window\": false",
                "rope_scaling|{\"type\": \"yarn\", \"factor\": 4.0}|\"rope_scaling\": null",
                "hidden_act|\"gelu\"|\"hidden_act\": \"silu\"",
                "attention_bias|false|\"attention_bias\": true",
                "head_dim|64|\"head_dim\": 128",
                "use_mrope|true|\"use_mrope\": false"
            })
    void whatTheGraphDoesNotBuildIsRefusedNamingTheKeyAndACorrectValue(String key, String value, String correct)
            throws IOException {
        Path ckpt = config(c -> c.set(key, json(value)));
        PackagerException e = assertThrows(PackagerException.class, () -> Architectures.read(ckpt));
        assertEquals(ExitCode.BAD_CHECKPOINT, e.exitCode());
        assertTrue(e.getMessage().contains("config.json"), e.getMessage());
        assertTrue(e.getMessage().contains(key) && e.getMessage().contains(correct), e.getMessage());
    }

    @Test
    void aMissingMaskTokenIdIsRefusedNotAssumed() throws IOException {
        Path ckpt = config(c -> c.remove("mask_token_id"));
        PackagerException e = assertThrows(PackagerException.class, () -> Architectures.read(ckpt));
        assertEquals(ExitCode.BAD_CHECKPOINT, e.exitCode());
        assertTrue(e.getMessage().contains("\"mask_token_id\": 151666"), e.getMessage());
    }

    @Test
    void theTensorListHasQkvBiasesNoOutputBiasAndAnUntiedHead() throws IOException {
        Dream dream = new Dream();
        TransformerConfig c = Architectures.read(config(c0 -> {})).config();
        Map<String, long[]> tensors =
                dream.tensors(c).stream().collect(Collectors.toMap(ExpectedTensor::name, ExpectedTensor::shape));
        assertEquals(1 + 28 * 12 + 2, tensors.size(), "embed, 12 per layer, norm, lm_head");
        assertArrayEquals(new long[] {3584}, tensors.get("model.layers.0.self_attn.q_proj.bias"));
        assertArrayEquals(new long[] {512}, tensors.get("model.layers.27.self_attn.k_proj.bias"));
        assertArrayEquals(new long[] {512}, tensors.get("model.layers.27.self_attn.v_proj.bias"));
        assertArrayEquals(new long[] {512, 3584}, tensors.get("model.layers.3.self_attn.v_proj.weight"));
        assertArrayEquals(new long[] {3584, 18944}, tensors.get("model.layers.3.mlp.down_proj.weight"));
        assertFalse(tensors.containsKey("model.layers.0.self_attn.o_proj.bias"), "o_proj has no bias");
        assertArrayEquals(new long[] {152064, 3584}, tensors.get("lm_head.weight"));
        assertEquals("lm_head.weight", dream.head(c).projection());
    }

    @Test
    void aTiedHeadReadsTheEmbeddingAndNeedsNoLmHead() throws IOException {
        Dream dream = new Dream();
        TransformerConfig c = Architectures.read(config(c0 -> c0.put("tie_word_embeddings", true)))
                .config();
        assertTrue(c.tiedEmbeddings());
        assertTrue(dream.tensors(c).stream().noneMatch(t -> t.name().equals("lm_head.weight")));
        assertEquals("model.embed_tokens.weight", dream.head(c).projection());
        assertEquals("model.norm.weight", dream.head(c).finalNorm());
    }

    @ParameterizedTest(name = "alg {0}")
    @CsvSource({
        "origin, origin,",
        "maskgit_plus, low_confidence, probability",
        "topk_margin, low_confidence, margin",
        "entropy, low_confidence, entropy"
    })
    void generationConfigKeysBecomeTheManifestsDefaults(String alg, String remasking, String confidence)
            throws IOException {
        TransformerConfig c = Architectures.read(config(c0 -> {})).config();
        ObjectNode g = new ObjectMapper().createObjectNode();
        g.put("alg", alg)
                .put("steps", 256)
                .put("max_new_tokens", 512)
                .put("eps", 1e-3)
                .put("alg_temp", 0.1);
        g.put("temperature", 0.2).put("top_p", 0.95).putNull("top_k");
        PackageManifest.GenerationDefaults d = new Dream().generationDefaults(g, c);
        assertEquals(256, d.steps());
        assertEquals(512, d.genLength());
        assertEquals(512, d.blockLength(), "one block: Dream has no blocks");
        assertEquals(remasking, d.remasking());
        assertEquals(confidence, d.confidence());
        assertEquals("timesteps", d.schedule());
        assertEquals(1e-3, d.eps());
        assertEquals(0.1, d.algTemp());
        assertEquals(0.2, d.temperature());
        assertEquals(0.95, d.topP());
        assertNull(d.topK(), "top_k null = off");
    }

    @Test
    void withoutAGenerationConfigDreamsOwnDefaultsApply() throws IOException {
        TransformerConfig c = Architectures.read(config(c0 -> {})).config();
        PackageManifest.GenerationDefaults d = new Dream().generationDefaults(null, c);
        assertEquals("origin", d.remasking());
        assertEquals("timesteps", d.schedule());
        assertEquals(1e-3, d.eps());
        assertEquals(0.0, d.temperature());
        assertEquals(d.genLength(), d.blockLength());
    }

    @Test
    void anUnknownAlgIsRefusedWithTheFourDreamKnows() throws IOException {
        TransformerConfig c = Architectures.read(config(c0 -> {})).config();
        ObjectNode g = new ObjectMapper().createObjectNode().put("alg", "confidence_threshold");
        PackagerException e = assertThrows(PackagerException.class, () -> new Dream().generationDefaults(g, c));
        assertEquals(ExitCode.BAD_CHECKPOINT, e.exitCode());
        assertTrue(e.getMessage().contains("origin, maskgit_plus, topk_margin and entropy"), e.getMessage());
    }

    private static void assertArrayEquals(long[] expected, long[] actual) {
        org.junit.jupiter.api.Assertions.assertArrayEquals(expected, actual);
    }

    private static com.fasterxml.jackson.databind.JsonNode json(String value) {
        try {
            return new ObjectMapper().readTree(value);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private Path config(Consumer<ObjectNode> edit) throws IOException {
        Path ckpt = Files.createTempDirectory(tmp, "ckpt");
        ObjectMapper json = new ObjectMapper();
        ObjectNode c = (ObjectNode) json.readTree(DREAM_7B);
        edit.accept(c);
        json.writeValue(ckpt.resolve("config.json").toFile(), c);
        return ckpt;
    }
}
