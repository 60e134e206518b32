package dev.unmask.packager.sdar;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.unmask.format.PackageManifest;
import dev.unmask.packager.ExitCode;
import dev.unmask.packager.PackagerException;
import dev.unmask.packager.arch.ModelArchitecture.ExpectedTensor;
import dev.unmask.packager.arch.TransformerConfig;
import dev.unmask.packager.pack.Architectures;
import java.io.IOException;
import java.io.UncheckedIOException;
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
 * Reading an SDAR config.json: SDAR-4B-Chat's hyper-parameters (head_dim 128 with hidden 2560 / 32 heads, so not
 * hidden / heads), the block size from config.json, generation_config.json or the documented default, what the graph
 * does not build refused naming the key and a correct value, the tensor list with its QK-norm and its tied or untied
 * head, and generate.py's defaults in the manifest.
 */
class SdarTest {

    /**
     * JetLM/SDAR-4B-Chat's config.json as published (huggingface.co/JetLM/SDAR-4B-Chat/blob/main/config.json): no
     * {@code block_size} and no {@code mask_token_id} (the mask is the tokenizer's {@code <|MASK|>}, 151669).
     */
    static final String SDAR_4B_CHAT = """
            {"architectures": ["SDARForCausalLM"],
             "auto_map": {"AutoConfig": "configuration_sdar.SDARConfig", "AutoModel": "modeling_sdar.SDARModel",
                          "AutoModelForCausalLM": "modeling_sdar.SDARForCausalLM"},
             "attention_bias": false, "attention_dropout": 0.0, "attn_implementation": "flex_attention",
             "bos_token_id": 151643, "debug": false, "eos_token_id": 151643, "ep_size": 1,
             "fuse_cross_entropy": true, "head_dim": 128, "hidden_act": "silu", "hidden_size": 2560,
             "initializer_range": 0.02, "intermediate_size": 9728, "max_position_embeddings": 32768,
             "max_window_layers": 36, "micro_forward": false, "model_type": "sdar", "num_attention_heads": 32,
             "num_hidden_layers": 36, "num_key_value_heads": 8, "rms_norm_eps": 1e-06, "rope_scaling": null,
             "rope_theta": 1000000, "skip_checkpoint": false, "sliding_window": null, "tie_word_embeddings": false,
             "torch_dtype": "bfloat16", "transformers_version": "4.52.4", "use_cache": false, "use_deepep": false,
             "use_sliding_window": false, "vocab_size": 151936}
            """;

    @TempDir
    Path tmp;

    @Test
    void sdar4bChatReadsAsQwen3WithItsOwnHeadDimAndBlockFour() throws IOException {
        Architectures.Chosen chosen = Architectures.read(config(c -> {}));
        assertEquals("sdar", chosen.architecture().family());
        TransformerConfig c = chosen.config();
        assertEquals(
                List.of(36, 2560, 32, 8, 128, 9728, 151936, 151936, 32768),
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
        assertEquals(4096, c.queryDim(), "32 heads of 128: wider than hidden_size");
        assertEquals(1e6, c.ropeTheta());
        assertEquals(1e-6, c.rmsNormEps());
        assertEquals(Sdar.DEFAULT_BLOCK_SIZE, c.blockSize(), "no block_size in config.json: SDAR's 4");
        assertTrue(c.blockCausal());
        assertFalse(c.bidirectional() || c.logitsShift() || c.qkvBias() || c.tiedEmbeddings());
        assertNull(c.tokens().mask(), "the mask comes from the tokenizer's <|MASK|>");
        PackageManifest.Architecture record = c.manifestRecord("sdar");
        assertEquals(4, record.blockSize());
        assertFalse(record.bidirectional());
    }

    @Test
    void sdarForCausalLmWithoutAModelTypeIsSdar() throws IOException {
        assertEquals(
                "sdar",
                Architectures.read(config(c -> c.remove("model_type")))
                        .architecture()
                        .family());
    }

    @Test
    void theBlockSizeComesFromConfigThenGenerationConfigThenTheDefault() throws IOException {
        assertEquals(
                8,
                Architectures.read(config(c -> c.put("block_size", 8))).config().blockSize());
        Path withGeneration = config(c -> {});
        Files.writeString(withGeneration.resolve("generation_config.json"), "{\"block_length\": 16}");
        assertEquals(16, Architectures.read(withGeneration).config().blockSize());
        Path both = config(c -> c.put("block_size", 8));
        Files.writeString(both.resolve("generation_config.json"), "{\"block_length\": 16}");
        assertEquals(8, Architectures.read(both).config().blockSize(), "what the model was trained with wins");
    }

    @Test
    void aMaskTokenIdInConfigIsKept() throws IOException {
        assertEquals(
                151669,
                Architectures.read(config(c -> c.put("mask_token_id", 151669)))
                        .config()
                        .tokens()
                        .mask());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiter = '|',
            value = {
                "use_sliding_window|true|\"use_sliding_window\": false",
                "rope_scaling|{\"type\": \"yarn\", \"factor\": 4.0}|\"rope_scaling\": null",
                "hidden_act|\"gelu\"|\"hidden_act\": \"silu\"",
                "attention_bias|true|\"attention_bias\": false",
                "block_size|0|\"block_size\": 32",
                "block_size|65536|\"block_size\": 4",
                "head_dim|0|\"head_dim\": 32"
            })
    void whatTheGraphDoesNotBuildIsRefusedNamingTheKeyAndACorrectValue(String key, String value, String correct)
            throws IOException {
        Path ckpt = config(c -> c.set(key, json(value)));
        PackagerException e = assertThrows(PackagerException.class, () -> Architectures.read(ckpt));
        assertEquals(ExitCode.BAD_CHECKPOINT, e.exitCode());
        assertTrue(e.getMessage().contains("config.json"), e.getMessage());
        assertTrue(
                e.getMessage().contains(key.replace('_', ' ')) || e.getMessage().contains(key), e.getMessage());
        assertTrue(e.getMessage().contains(correct), e.getMessage());
    }

    @Test
    void aBadBlockLengthInGenerationConfigIsRefusedNamingIt() throws IOException {
        Path ckpt = config(c -> {});
        Files.writeString(ckpt.resolve("generation_config.json"), "{\"block_length\": \"four\"}");
        PackagerException e = assertThrows(PackagerException.class, () -> Architectures.read(ckpt));
        assertEquals(ExitCode.BAD_CHECKPOINT, e.exitCode());
        assertTrue(
                e.getMessage().contains("generation_config.json")
                        && e.getMessage().contains("\"block_length\": 4"),
                e.getMessage());
    }

    @Test
    void theTensorListHasQkNormNoBiasesAndAnUntiedHead() throws IOException {
        Sdar sdar = new Sdar();
        TransformerConfig c = Architectures.read(config(c0 -> {})).config();
        Map<String, long[]> tensors =
                sdar.tensors(c).stream().collect(Collectors.toMap(ExpectedTensor::name, ExpectedTensor::shape));
        assertEquals(1 + 36 * 11 + 2, tensors.size(), "embed, 11 per layer, norm, lm_head");
        assertArrayEquals(new long[] {128}, tensors.get("model.layers.0.self_attn.q_norm.weight"));
        assertArrayEquals(new long[] {128}, tensors.get("model.layers.35.self_attn.k_norm.weight"));
        assertArrayEquals(new long[] {4096, 2560}, tensors.get("model.layers.0.self_attn.q_proj.weight"));
        assertArrayEquals(new long[] {1024, 2560}, tensors.get("model.layers.0.self_attn.k_proj.weight"));
        assertArrayEquals(new long[] {2560, 4096}, tensors.get("model.layers.0.self_attn.o_proj.weight"));
        assertFalse(tensors.keySet().stream().anyMatch(n -> n.endsWith(".bias")), "no biases");
        assertArrayEquals(new long[] {151936, 2560}, tensors.get("lm_head.weight"));
        assertEquals("lm_head.weight", sdar.head(c).projection());
    }

    @Test
    void aTiedHeadReadsTheEmbeddingAndNeedsNoLmHead() throws IOException {
        Sdar sdar = new Sdar();
        TransformerConfig c = Architectures.read(config(c0 -> c0.put("tie_word_embeddings", true)))
                .config();
        assertTrue(sdar.tensors(c).stream().noneMatch(t -> t.name().equals("lm_head.weight")));
        assertEquals("model.embed_tokens.weight", sdar.head(c).projection());
    }

    /** generate.py's defaults: block 4, 4 denoising steps per block, temperature 1, low-confidence remasking. */
    @Test
    void withoutAGenerationConfigGeneratePysDefaultsApply() throws IOException {
        TransformerConfig c = Architectures.read(config(c0 -> {})).config();
        PackageManifest.GenerationDefaults d = new Sdar().generationDefaults(null, c);
        assertEquals(4, d.blockLength());
        assertEquals(128, d.genLength());
        assertEquals(128, d.steps(), "4 steps for each of the 32 blocks");
        assertEquals(1.0, d.temperature());
        assertEquals("low_confidence", d.remasking());
        assertEquals("probability", d.confidence());
        assertEquals("even", d.schedule());
        assertNull(d.topK());
        assertNull(d.topP());
    }

    @Test
    void generationConfigKeysBecomeTheManifestsDefaults() throws IOException {
        TransformerConfig c =
                Architectures.read(config(c0 -> c0.put("block_size", 8))).config();
        ObjectNode g = new ObjectMapper().createObjectNode();
        g.put("block_length", 8)
                .put("denoising_steps", 2)
                .put("max_new_tokens", 64)
                .put("temperature", 0.0)
                .put("top_k", 20)
                .put("top_p", 0.9)
                .put("remasking_strategy", "low_confidence_static");
        PackageManifest.GenerationDefaults d = new Sdar().generationDefaults(g, c);
        assertEquals(8, d.blockLength());
        assertEquals(64, d.genLength());
        assertEquals(16, d.steps(), "2 steps for each of the 8 blocks");
        assertEquals(0.0, d.temperature());
        assertEquals(20, d.topK());
        assertEquals(0.9, d.topP());
    }

    @Test
    void sequentialRemaskingIsRefused() throws IOException {
        TransformerConfig c = Architectures.read(config(c0 -> {})).config();
        ObjectNode g = new ObjectMapper().createObjectNode().put("remasking_strategy", "sequential");
        PackagerException e = assertThrows(PackagerException.class, () -> new Sdar().generationDefaults(g, c));
        assertEquals(ExitCode.BAD_CHECKPOINT, e.exitCode());
        assertTrue(e.getMessage().contains("\"remasking_strategy\": \"low_confidence_dynamic\""), e.getMessage());
    }

    private static JsonNode json(String value) {
        try {
            return new ObjectMapper().readTree(value);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private Path config(Consumer<ObjectNode> edit) throws IOException {
        Path ckpt = Files.createTempDirectory(tmp, "ckpt");
        ObjectMapper json = new ObjectMapper();
        ObjectNode c = (ObjectNode) json.readTree(SDAR_4B_CHAT);
        edit.accept(c);
        json.writeValue(ckpt.resolve("config.json").toFile(), c);
        return ckpt;
    }
}
