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
 * (~5 GB per shard plus {@code model.safetensors.index.json}), streamed to disk in 8 MiB pieces. For the conversion
 * benchmark only. Two shapes: LLaDA-8B (the default: 32 layers, d_model 4096, 32 heads, mlp 12288, vocab 126464)
 * and Dream-7B ({@code dream}: Dream-v0-Instruct-7B's config.json, i.e. Qwen2.5-7B: 28 layers, hidden 3584,
 * 28 heads / 4 kv heads, intermediate 18944, vocab 152064, q/k/v biases, untied head).
 *
 * <pre>java -cp … dev.unmask.packager.bench.SyntheticCheckpoint &lt;out dir&gt; [layers] [tokenizer.json to copy] [llada|dream]</pre>
 */
public final class SyntheticCheckpoint {

    static final int D = 4096, HEADS = 32, KV_HEADS = 32, MLP = 12288, VOCAB = 126464, MAX_SEQ = 4096;
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
        boolean dream = args.length > 3 && args[3].equals("dream");
        int layers = args.length > 1 ? Integer.parseInt(args[1]) : dream ? 28 : 32;
        Files.createDirectories(out);
        List<Tensor> tensors = dream ? dreamTensors(layers) : tensors(layers);
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
            seed = writeShard(out.resolve(name), shards.get(s), seed);
            for (Tensor t : shards.get(s)) {
                weightMap.put(t.name(), name);
            }
        }
        json.writerWithDefaultPrettyPrinter()
                .writeValue(out.resolve("model.safetensors.index.json").toFile(), index);
        json.writerWithDefaultPrettyPrinter()
                .writeValue(
                        out.resolve("config.json").toFile(), dream ? dreamConfig(json, layers) : config(json, layers));
        if (args.length > 2) {
            Files.copy(Path.of(args[2]), out.resolve("tokenizer.json"));
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        System.out.printf(
                "wrote %d tensors, %.2f GiB of bf16 in %d shards to %s in %.1f s (%.0f MiB/s)%n",
                tensors.size(), total / (double) (1L << 30), shards.size(), out, secs, total / secs / (1 << 20));
    }

    static List<Tensor> tensors(int layers) {
        List<Tensor> t = new ArrayList<>();
        t.add(new Tensor("model.transformer.wte.weight", new long[] {VOCAB, D}));
        int kv = KV_HEADS * (D / HEADS);
        for (int i = 0; i < layers; i++) {
            String p = "model.transformer.blocks." + i + ".";
            t.add(new Tensor(p + "attn_norm.weight", new long[] {D}));
            t.add(new Tensor(p + "q_proj.weight", new long[] {D, D}));
            t.add(new Tensor(p + "k_proj.weight", new long[] {kv, D}));
            t.add(new Tensor(p + "v_proj.weight", new long[] {kv, D}));
            t.add(new Tensor(p + "attn_out.weight", new long[] {D, D}));
            t.add(new Tensor(p + "ff_norm.weight", new long[] {D}));
            t.add(new Tensor(p + "ff_proj.weight", new long[] {MLP, D}));
            t.add(new Tensor(p + "up_proj.weight", new long[] {MLP, D}));
            t.add(new Tensor(p + "ff_out.weight", new long[] {D, MLP}));
        }
        t.add(new Tensor("model.transformer.ln_f.weight", new long[] {D}));
        t.add(new Tensor("model.transformer.ff_out.weight", new long[] {VOCAB, D}));
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

    private static long writeShard(Path file, List<Tensor> tensors, long seed) throws IOException {
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
                for (long left = t.bytes() / 2; left > 0; left--) {
                    if (buf.remaining() < 2) {
                        buf.flip();
                        ch.write(buf);
                        buf.clear();
                    }
                    x ^= x << 13;
                    x ^= x >>> 7;
                    x ^= x << 17;
                    // uniform in [-0.03, 0.03) (norm weights around 1), rounded down to bf16
                    float v = norm
                            ? 1f + (Float.intBitsToFloat((int) ((x >>> 41) | 0x3f800000L)) - 1.5f) * 0.1f
                            : (Float.intBitsToFloat((int) ((x >>> 41) | 0x3f800000L)) - 1.5f) * 0.06f;
                    buf.putShort((short) (Float.floatToRawIntBits(v) >>> 16));
                }
            }
            buf.flip();
            ch.write(buf);
            buf.clear();
        }
        return x;
    }

    private static ObjectNode config(ObjectMapper json, int layers) {
        ObjectNode c = json.createObjectNode();
        c.put("model_type", "llada");
        ArrayNode arch = c.putArray("architectures");
        arch.add("LLaDAModelLM");
        c.put("block_type", "llama").put("activation_type", "silu").put("layer_norm_type", "rms");
        c.put("rms_norm_eps", 1e-5).put("rope", true).put("rope_theta", 500000.0);
        c.put("d_model", D).put("n_layers", layers).put("n_heads", HEADS).put("n_kv_heads", KV_HEADS);
        c.put("mlp_hidden_size", MLP).put("vocab_size", VOCAB).put("embedding_size", VOCAB);
        c.put("max_sequence_length", MAX_SEQ).put("weight_tying", false).put("include_bias", false);
        c.put("mask_token_id", 126336)
                .put("eos_token_id", 126081)
                .put("pad_token_id", 126081)
                .put("bos_token_id", 126080);
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
