package dev.unmask.packager;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.unmask.packager.checkpoint.Checkpoint;
import dev.unmask.packager.checkpoint.Half;
import dev.unmask.packager.checkpoint.SafetensorsFile;
import dev.unmask.packager.checkpoint.TensorData;
import dev.unmask.packager.checkpoint.TensorEntry;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The safetensors reader decodes BF16, F16 and F32 exactly, and a sharded checkpoint reads like a single file. */
class SafetensorsReaderTest {

    @TempDir
    Path tmp;

    private static final float[] VALUES = {0f, 1f, -2.5f, 0.15625f, 65504f, -1e-3f};

    @Test
    void decodesBf16F16AndF32() {
        ByteBuffer bf16 = ByteBuffer.allocate(VALUES.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer f16 = ByteBuffer.allocate(VALUES.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer f32 = ByteBuffer.allocate(VALUES.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : VALUES) {
            bf16.putShort((short) (Float.floatToRawIntBits(v) >>> 16));
            f16.putShort(Half.fromFloat(v));
            f32.putFloat(v);
        }
        Path file = tmp.resolve("t.safetensors");
        SafetensorsSurgery.write(
                file,
                List.of(
                        new Object[] {"a.bf16", "BF16", new long[] {2, 3}, bf16.array()},
                        new Object[] {"b.f16", "F16", new long[] {6}, f16.array()},
                        new Object[] {"c.f32", "F32", new long[] {3, 2}, f32.array()}));
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            float[] truncatedToBf16 = new float[VALUES.length];
            for (int i = 0; i < VALUES.length; i++) {
                truncatedToBf16[i] = Float.intBitsToFloat(Float.floatToRawIntBits(VALUES[i]) & 0xffff0000);
            }
            assertArrayEquals(truncatedToBf16, readAll(st, "a.bf16"));
            float[] viaHalf = new float[VALUES.length];
            for (int i = 0; i < VALUES.length; i++) {
                viaHalf[i] = Half.toFloat(Half.fromFloat(VALUES[i]));
            }
            assertArrayEquals(viaHalf, readAll(st, "b.f16"));
            assertArrayEquals(VALUES, readAll(st, "c.f32"));
        }
    }

    @Test
    void halfRoundsToNearestEven() {
        assertEquals(1.0f, Half.toFloat(Half.fromFloat(1.0f + 0x1p-11f))); // tie -> even (1.0)
        assertEquals(1.0f + 0x1p-9f, Half.toFloat(Half.fromFloat(1.0f + 0x1p-10f + 0x1p-11f))); // tie -> even (up)
        assertEquals(Float.POSITIVE_INFINITY, Half.toFloat(Half.fromFloat(70000f)));
        assertEquals(0x1p-24f, Half.toFloat(Half.fromFloat(0x1p-24f))); // smallest subnormal
    }

    private static float[] readAll(SafetensorsFile st, String name) {
        TensorEntry e = st.tensors().get(name);
        float[] out = new float[(int) e.numel()];
        try (TensorData d = st.map(e)) {
            for (int r = 0; r < e.rows(); r++) {
                d.readRow(r, 0, (int) e.cols(), out, (int) (r * e.cols()));
            }
        }
        return out;
    }

    @Test
    void shardedCheckpointReadsTheSameTensorsAsTheSingleFile() throws IOException {
        Path sharded = splitTinyIntoShards(tmp.resolve("sharded"));
        try (Checkpoint single = Checkpoint.open(TinyModel.checkpoint());
                Checkpoint shards = Checkpoint.open(sharded)) {
            assertEquals(single.tensors().keySet(), shards.tensors().keySet());
            assertEquals(3, shards.weightFiles().size(), "index + 2 shards");
            for (TensorEntry e : single.tensors().values()) {
                TensorEntry s = shards.tensors().get(e.name());
                assertArrayEquals(e.shape(), s.shape());
                float[] a = new float[(int) e.cols()];
                float[] b = new float[(int) e.cols()];
                long lastRow = e.rows() - 1;
                try (TensorData da = single.map(e);
                        TensorData db = shards.map(s)) {
                    da.readRow(lastRow, 0, a.length, a, 0);
                    db.readRow(lastRow, 0, b.length, b, 0);
                }
                assertArrayEquals(a, b, e.name());
            }
        }
    }

    /** Writes the tiny checkpoint as two shards plus model.safetensors.index.json (the transformers layout). */
    static Path splitTinyIntoShards(Path dir) throws IOException {
        SafetensorsSurgery.copyTinyWithoutWeights(dir);
        List<List<Object[]>> shards = List.of(new ArrayList<>(), new ArrayList<>());
        ObjectNode index = new ObjectMapper().createObjectNode();
        ObjectNode map = index.putObject("weight_map");
        try (SafetensorsFile st = SafetensorsFile.open(TinyModel.checkpoint().resolve("model.safetensors"))) {
            int i = 0;
            byte[] all = Files.readAllBytes(st.file());
            for (Map.Entry<String, TensorEntry> e : st.tensors().entrySet()) {
                TensorEntry t = e.getValue();
                byte[] bytes = java.util.Arrays.copyOfRange(
                        all, (int) t.dataOffset(), (int) (t.dataOffset() + t.byteLength()));
                int shard = i++ % 2;
                shards.get(shard).add(new Object[] {t.name(), t.dtype().safetensorsName(), t.shape(), bytes});
                map.put(t.name(), "model-0000" + (shard + 1) + "-of-00002.safetensors");
            }
        }
        SafetensorsSurgery.write(dir.resolve("model-00001-of-00002.safetensors"), shards.get(0));
        SafetensorsSurgery.write(dir.resolve("model-00002-of-00002.safetensors"), shards.get(1));
        new ObjectMapper()
                .writeValue(dir.resolve("model.safetensors.index.json").toFile(), index);
        return dir;
    }
}
