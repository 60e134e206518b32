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
 * Writes a LLaDA checkpoint of random bf16 weights with a given shape (by default LLaDA-8B's exact shapes: 32 layers,
 * d_model 4096, 32 heads, mlp 12288, vocab 126464), sharded like Hugging Face's (~5 GB per shard plus
 * {@code model.safetensors.index.json}), streamed to disk in 8 MiB pieces. For the conversion benchmark only.
 *
 * <pre>java -cp … dev.unmask.packager.bench.SyntheticCheckpoint &lt;out dir&gt; [layers] [tokenizer.json to copy]</pre>
 */
public final class SyntheticCheckpoint {

    static final int D = 4096, HEADS = 32, KV_HEADS = 32, MLP = 12288, VOCAB = 126464, MAX_SEQ = 4096;
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
        int layers = args.length > 1 ? Integer.parseInt(args[1]) : 32;
        Files.createDirectories(out);
        List<Tensor> tensors = tensors(layers);
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
                .writeValue(out.resolve("config.json").toFile(), config(json, layers));
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
                boolean norm = t.shape().length == 1;
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
}
