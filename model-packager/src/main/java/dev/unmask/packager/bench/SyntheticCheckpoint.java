package dev.unmask.packager.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a checkpoint of random bf16 weights with a real model's exact shapes and names, sharded like Hugging Face's
 * (~5 GB per shard plus {@code model.safetensors.index.json}), streamed to disk in 8 MiB pieces. For benchmarks
 * only. Three shapes:
 *
 * <ul>
 *   <li>{@code llada} (the default): LLaDA-8B, 32 layers, d_model 4096, 32 heads, mlp 12288, vocab 126464; weights
 *       uniform in ±0.03 (the conversion benchmark, which only moves bytes);
 *   <li>{@code llada-200m}: a ~200 M-parameter LLaDA ({@link LladaShape#LLADA_200M}: 12 layers, d_model 1024, 16 heads
 *       / 4 kv heads, mlp 2816, vocab 32000), weights drawn from N(0, 0.02²) like LLaDA's {@code init_std} and the
 *       RMSNorm weights exactly 1, so that quantization error and speed figures on it are those of a real
 *       weight distribution (issue 17: the compute benchmark). Its special ids are tiny-llada's (bos 0, eos/pad 1,
 *       mask 3), so tiny-llada's tokenizer is copied as it is (see {@link #main});
 *   <li>{@code dream}: Dream-7B (Dream-v0-Instruct-7B's config.json, i.e. Qwen2.5-7B: 28 layers, hidden 3584,
 *       28 heads / 4 kv heads, intermediate 18944, vocab 152064, q/k/v biases, untied head).
 * </ul>
 *
 * <pre>java -cp … dev.unmask.packager.bench.SyntheticCheckpoint &lt;out dir&gt; [layers|default] [tokenizer.json to copy] [llada|llada-200m|dream]</pre>
 */
public final class SyntheticCheckpoint {

    /** How the matrices are drawn (RMSNorm weights are separate: see {@link #writeShard}). */
    enum WeightInit {
        /** Uniform in [-0.03, 0.03), norm weights uniform in 1 ± 0.05: cheap bytes for the conversion benchmark. */
        UNIFORM_003,
        /** Normal with mean 0 and standard deviation 0.02 (LLaDA's and Llama's {@code init_std}), norm weights 1. */
        NORMAL_002
    }

    /**
     * A LLaDA config: what {@link #tensors} and {@link #config} need.
     *
     * @param maxSequenceLength the rotary tables' rows, so the longest canvas the package accepts
     */
    record LladaShape(
            int layers,
            int dModel,
            int heads,
            int kvHeads,
            int mlp,
            int vocab,
            int maxSequenceLength,
            double ropeTheta,
            int maskId,
            int eosId,
            int padId,
            int bosId,
            WeightInit init) {

        /** LLaDA-8B-Base's config.json (GSAI-ML/LLaDA-8B-Base). */
        static final LladaShape LLADA_8B = new LladaShape(
                32,
                4096,
                32,
                32,
                12288,
                126464,
                4096,
                500000.0,
                126336,
                126081,
                126081,
                126080,
                WeightInit.UNIFORM_003);

        /**
         * 12 × (2·1024² for q,o + 2·1024·256 for k,v + 3·1024·2816) + 2 · 32000·1024 = 135.3 M + 65.5 M = 200.8 M
         * parameters. Special ids are tiny-llada's, whose tokenizer (4096 ids) the benchmark copies: ids 4096..31999
         * are embedding rows the tokenizer has no piece for, as real checkpoints pad their embedding beyond the
         * tokenizer (LLaDA-8B: 126464 rows, 126349 tokens); the engine decodes them as empty text.
         */
        static final LladaShape LLADA_200M =
                new LladaShape(12, 1024, 16, 4, 2816, 32000, 4096, 500000.0, 3, 1, 1, 0, WeightInit.NORMAL_002);

        LladaShape withLayers(int n) {
            return new LladaShape(
                    n,
                    dModel,
                    heads,
                    kvHeads,
                    mlp,
                    vocab,
                    maxSequenceLength,
                    ropeTheta,
                    maskId,
                    eosId,
                    padId,
                    bosId,
                    init);
        }

        int kvDim() {
            return kvHeads * (dModel / heads);
        }
    }

    static final int DREAM_D = 3584, DREAM_HEADS = 28, DREAM_KV_HEADS = 4, DREAM_MLP = 18944, DREAM_VOCAB = 152064;
    static final long SHARD_BYTES = 5L << 30;

    private SyntheticCheckpoint() {}

    record Tensor(String name, long[] shape) {
        long bytes() {
            long n = 2;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }
    }

    public static void main(String[] args) throws IOException {
        Path out = Path.of(args[0]);
        String shapeName = args.length > 3 ? args[3] : "llada";
        boolean dream = shapeName.equals("dream");
        LladaShape llada = switch (shapeName) {
            case "llada" -> LladaShape.LLADA_8B;
            case "llada-200m" -> LladaShape.LLADA_200M;
            case "dream" -> null;
            default ->
                throw new IllegalArgumentException(
                        "unknown shape '" + shapeName + "': use llada, llada-200m or dream, e.g."
                                + " SyntheticCheckpoint /tmp/llada-200m default models/tiny-llada/tokenizer.json"
                                + " llada-200m");
        };
        boolean defaultLayers = args.length < 2 || args[1].equals("default");
        int layers = defaultLayers ? (dream ? 28 : llada.layers()) : Integer.parseInt(args[1]);
        if (llada != null) {
            llada = llada.withLayers(layers);
        }
        WeightInit init = dream ? WeightInit.UNIFORM_003 : llada.init();
        Files.createDirectories(out);
        List<Tensor> tensors = dream ? dreamTensors(layers) : tensors(llada);
        long total = tensors.stream().mapToLong(Tensor::bytes).sum();
        List<List<Tensor>> shards = new ArrayList<>();
        List<Tensor> current = new ArrayList<>();
        long currentBytes = 0;
        for (Tensor t : tensors) {
            if (currentBytes > 0 && currentBytes + t.bytes() > SHARD_BYTES) {
                shards.add(current);
                current = new ArrayList<>();
                currentBytes = 0;
            }
            current.add(t);
            currentBytes += t.bytes();
        }
        shards.add(current);
        ObjectMapper json = new ObjectMapper();
        ObjectNode index = json.createObjectNode();
        index.putObject("metadata").put("total_size", total);
        ObjectNode weightMap = index.putObject("weight_map");
        long seed = 0x5eed;
        long t0 = System.nanoTime();
        for (int s = 0; s < shards.size(); s++) {
            String name = String.format("model-%05d-of-%05d.safetensors", s + 1, shards.size());
            seed = writeShard(out.resolve(name), shards.get(s), seed, init);
            for (Tensor t : shards.get(s)) {
                weightMap.put(t.name(), name);
            }
        }
        json.writerWithDefaultPrettyPrinter()
                .writeValue(out.resolve("model.safetensors.index.json").toFile(), index);
        json.writerWithDefaultPrettyPrinter()
                .writeValue(
                        out.resolve("config.json").toFile(), dream ? dreamConfig(json, layers) : config(json, llada));
        if (args.length > 2) {
            Path tokenizer = Path.of(args[2]);
            Files.copy(tokenizer, out.resolve("tokenizer.json"));
            // the 200M shape shares tiny-llada's special ids, so its chat template fits too (chat and serve work);
            // the 7-8B shapes keep their own ids and get the tokenizer alone, as before
            Path tokenizerConfig = tokenizer.resolveSibling("tokenizer_config.json");
            if (shapeName.equals("llada-200m") && Files.isRegularFile(tokenizerConfig)) {
                Files.copy(tokenizerConfig, out.resolve("tokenizer_config.json"));
            }
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        System.out.printf(
                "wrote %d tensors, %.2f GiB of bf16 in %d shards to %s in %.1f s (%.0f MiB/s)%n",
                tensors.size(), total / (double) (1L << 30), shards.size(), out, secs, total / secs / (1 << 20));
    }

    /** LLaDA's tensors under its own names (model.transformer.*), untied head. */
    static List<Tensor> tensors(LladaShape shape) {
        List<Tensor> t = new ArrayList<>();
        int d = shape.dModel(), mlp = shape.mlp(), vocab = shape.vocab();
        t.add(new Tensor("model.transformer.wte.weight", new long[] {vocab, d}));
        int kv = shape.kvDim();
        for (int i = 0; i < shape.layers(); i++) {
            String p = "model.transformer.blocks." + i + ".";
            t.add(new Tensor(p + "attn_norm.weight", new long[] {d}));
            t.add(new Tensor(p + "q_proj.weight", new long[] {d, d}));
            t.add(new Tensor(p + "k_proj.weight", new long[] {kv, d}));
            t.add(new Tensor(p + "v_proj.weight", new long[] {kv, d}));
            t.add(new Tensor(p + "attn_out.weight", new long[] {d, d}));
            t.add(new Tensor(p + "ff_norm.weight", new long[] {d}));
            t.add(new Tensor(p + "ff_proj.weight", new long[] {mlp, d}));
            t.add(new Tensor(p + "up_proj.weight", new long[] {mlp, d}));
            t.add(new Tensor(p + "ff_out.weight", new long[] {d, mlp}));
        }
        t.add(new Tensor("model.transformer.ln_f.weight", new long[] {d}));
        t.add(new Tensor("model.transformer.ff_out.weight", new long[] {vocab, d}));
        return t;
    }

    /** Dream-7B's tensors under Qwen2's names, with the q/k/v biases. */
    static List<Tensor> dreamTensors(int layers) {
        List<Tensor> t = new ArrayList<>();
        t.add(new Tensor("model.embed_tokens.weight", new long[] {DREAM_VOCAB, DREAM_D}));
        int kv = DREAM_KV_HEADS * (DREAM_D / DREAM_HEADS);
        for (int i = 0; i < layers; i++) {
            String p = "model.layers." + i + ".";
            t.add(new Tensor(p + "input_layernorm.weight", new long[] {DREAM_D}));
            t.add(new Tensor(p + "self_attn.q_proj.weight", new long[] {DREAM_D, DREAM_D}));
            t.add(new Tensor(p + "self_attn.q_proj.bias", new long[] {DREAM_D}));
            t.add(new Tensor(p + "self_attn.k_proj.weight", new long[] {kv, DREAM_D}));
            t.add(new Tensor(p + "self_attn.k_proj.bias", new long[] {kv}));
            t.add(new Tensor(p + "self_attn.v_proj.weight", new long[] {kv, DREAM_D}));
            t.add(new Tensor(p + "self_attn.v_proj.bias", new long[] {kv}));
            t.add(new Tensor(p + "self_attn.o_proj.weight", new long[] {DREAM_D, DREAM_D}));
            t.add(new Tensor(p + "post_attention_layernorm.weight", new long[] {DREAM_D}));
            t.add(new Tensor(p + "mlp.gate_proj.weight", new long[] {DREAM_MLP, DREAM_D}));
            t.add(new Tensor(p + "mlp.up_proj.weight", new long[] {DREAM_MLP, DREAM_D}));
            t.add(new Tensor(p + "mlp.down_proj.weight", new long[] {DREAM_D, DREAM_MLP}));
        }
        t.add(new Tensor("model.norm.weight", new long[] {DREAM_D}));
        t.add(new Tensor("lm_head.weight", new long[] {DREAM_VOCAB, DREAM_D}));
        return t;
    }

    private static long writeShard(Path file, List<Tensor> tensors, long seed, WeightInit init) throws IOException {
        ObjectMapper json = new ObjectMapper();
        Map<String, Object> header = new LinkedHashMap<>();
        header.put("__metadata__", Map.of("format", "pt"));
        long offset = 0;
        for (Tensor t : tensors) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("dtype", "BF16");
            e.put("shape", t.shape());
            e.put("data_offsets", new long[] {offset, offset + t.bytes()});
            header.put(t.name(), e);
            offset += t.bytes();
        }
        byte[] h = json.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        int padded = (h.length + 7) / 8 * 8;
        ByteBuffer buf = ByteBuffer.allocateDirect(8 << 20).order(ByteOrder.LITTLE_ENDIAN);
        long x = seed;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
            head.putLong(padded).put(h);
            while (head.hasRemaining()) {
                head.put((byte) ' ');
            }
            head.flip();
            ch.write(head);
            for (Tensor t : tensors) {
                boolean norm = t.shape().length == 1 && !t.name().endsWith(".bias");
                double spare = Double.NaN; // Box-Muller draws normals in pairs
                for (long left = t.bytes() / 2; left > 0; left--) {
                    if (buf.remaining() < 2) {
                        buf.flip();
                        ch.write(buf);
                        buf.clear();
                    }
                    x ^= x << 13;
                    x ^= x >>> 7;
                    x ^= x << 17;
                    float v;
                    if (init == WeightInit.UNIFORM_003) {
                        // uniform in [-0.03, 0.03) (norm weights around 1), rounded down to bf16
                        v = norm
                                ? 1f + (Float.intBitsToFloat((int) ((x >>> 41) | 0x3f800000L)) - 1.5f) * 0.1f
                                : (Float.intBitsToFloat((int) ((x >>> 41) | 0x3f800000L)) - 1.5f) * 0.06f;
                    } else if (norm) {
                        v = 1f; // RMSNorm weights as initialized (and close to what training leaves)
                    } else if (!Double.isNaN(spare)) {
                        v = (float) (0.02 * spare);
                        spare = Double.NaN;
                    } else {
                        // two uniforms in (0, 1] from the 64 random bits, then Box-Muller: N(0, 1) twice
                        double u1 = ((x >>> 32) + 1) / 4294967296.0;
                        double u2 = ((x & 0xffffffffL) + 1) / 4294967296.0;
                        double r = Math.sqrt(-2 * Math.log(u1));
                        spare = r * Math.sin(2 * Math.PI * u2);
                        v = (float) (0.02 * r * Math.cos(2 * Math.PI * u2));
                    }
                    buf.putShort(bf16(v, init));
                }
            }
            buf.flip();
            ch.write(buf);
            buf.clear();
        }
        return x;
    }

    /**
     * bf16 bits of {@code v}: truncated for the conversion benchmark's uniform bytes (as before), rounded to nearest
     * even for the normal weights, as PyTorch's {@code .to(torch.bfloat16)} does, so the distribution is unbiased.
     */
    static short bf16(float v, WeightInit init) {
        int bits = Float.floatToRawIntBits(v);
        if (init == WeightInit.UNIFORM_003) {
            return (short) (bits >>> 16);
        }
        return (short) ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16);
    }

    private static ObjectNode config(ObjectMapper json, LladaShape s) {
        ObjectNode c = json.createObjectNode();
        c.put("model_type", "llada");
        ArrayNode arch = c.putArray("architectures");
        arch.add("LLaDAModelLM");
        c.put("block_type", "llama").put("activation_type", "silu").put("layer_norm_type", "rms");
        c.put("rms_norm_eps", 1e-5).put("rope", true).put("rope_theta", s.ropeTheta());
        c.put("d_model", s.dModel())
                .put("n_layers", s.layers())
                .put("n_heads", s.heads())
                .put("n_kv_heads", s.kvHeads());
        c.put("mlp_hidden_size", s.mlp()).put("vocab_size", s.vocab()).put("embedding_size", s.vocab());
        c.put("max_sequence_length", s.maxSequenceLength())
                .put("weight_tying", false)
                .put("include_bias", false);
        if (s.init() == WeightInit.NORMAL_002) {
            c.put("init_std", 0.02);
        }
        c.put("mask_token_id", s.maskId())
                .put("eos_token_id", s.eosId())
                .put("pad_token_id", s.padId())
                .put("bos_token_id", s.bosId());
        c.put("torch_dtype", "bfloat16");
        return c;
    }

    /** Dream-v0-Instruct-7B's config.json keys (the tokens too: mask 151666, eos/pad/bos 151643). */
    private static ObjectNode dreamConfig(ObjectMapper json, int layers) {
        ObjectNode c = json.createObjectNode();
        c.put("model_type", "Dream");
        c.putArray("architectures").add("DreamModel");
        c.put("hidden_act", "silu").put("rms_norm_eps", 1e-6).put("rope_theta", 1000000.0);
        c.putNull("rope_scaling");
        c.put("use_sliding_window", false).putNull("sliding_window");
        c.put("hidden_size", DREAM_D).put("num_hidden_layers", layers).put("num_attention_heads", DREAM_HEADS);
        c.put("num_key_value_heads", DREAM_KV_HEADS).put("intermediate_size", DREAM_MLP);
        c.put("vocab_size", DREAM_VOCAB).put("max_position_embeddings", 131072).put("tie_word_embeddings", false);
        c.put("mask_token_id", 151666)
                .put("eos_token_id", 151643)
                .put("pad_token_id", 151643)
                .put("bos_token_id", 151643);
        c.put("torch_dtype", "bfloat16");
        return c;
    }
}
