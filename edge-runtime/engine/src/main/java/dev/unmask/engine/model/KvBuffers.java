package dev.unmask.engine.model;

import dev.unmask.format.PackageManifest;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * One canvas row's key/value cache: for every layer a key and a value buffer of {@code positions × kv_dim} floats,
 * direct and in native byte order, so that ONNX Runtime reads a past straight from them (no copy) and a step never
 * allocates cache-sized arrays. Allocated once for a run's canvas and reused for every refresh and commit.
 *
 * <p>What the positions hold is the owner's business (the engine packs a dual cache's prefix and suffix together,
 * prefix first: attention over past keys is order-free once rotary is applied, see docs/engine.md "Key/value
 * caches"); a forward reads the first {@code length} of them as its past.
 *
 * <p>Layout per layer: [positions, kv_dim] row-major, the BSD layout of {@code past_key.i} for batch 1, so one
 * position range of one layer is one bulk copy.
 */
public final class KvBuffers {

    private final int layers;
    private final int kvDim;
    private final int positions;
    private final FloatBuffer[] keys; // [layer] -> [positions, kv_dim]
    private final FloatBuffer[] values; // [layer] -> [positions, kv_dim]

    private KvBuffers(int layers, int kvDim, int positions) {
        this.layers = layers;
        this.kvDim = kvDim;
        this.positions = positions;
        this.keys = new FloatBuffer[layers];
        this.values = new FloatBuffer[layers];
        for (int i = 0; i < layers; i++) {
            keys[i] = direct(positions * kvDim);
            values[i] = direct(positions * kvDim);
        }
    }

    /**
     * Buffers for {@code positions} canvas positions of a graph's cache.
     *
     * @throws IllegalArgumentException for a cache whose dtype is not float32 (the only one graphs carry today)
     */
    public static KvBuffers allocate(PackageManifest.KvCache cache, int positions) {
        if (!"float32".equals(cache.dtype())) {
            throw new IllegalArgumentException("The engine keeps float32 caches only; the graph's kv_cache dtype is "
                    + cache.dtype() + ". Re-package with this unmask-pack (float32 past/present tensors)");
        }
        return allocate(cache.layers(), cache.kvDim(), positions);
    }

    public static KvBuffers allocate(int layers, int kvDim, int positions) {
        if (layers < 1 || kvDim < 1 || positions < 0 || (long) positions * kvDim > Integer.MAX_VALUE / Float.BYTES) {
            throw new IllegalArgumentException(
                    "A cache needs layers >= 1, kv_dim >= 1 and positions × kv_dim below 2^29"
                            + " floats per buffer; got layers " + layers + ", kv_dim " + kvDim + ", positions "
                            + positions);
        }
        return new KvBuffers(layers, kvDim, positions);
    }

    /** What {@code positions} positions of {@code cache} take, keys and values of every layer: the budget's unit. */
    public static long bytes(PackageManifest.KvCache cache, int positions) {
        return cache.bytesPerPosition() * positions;
    }

    static FloatBuffer direct(int floats) {
        return ByteBuffer.allocateDirect(floats * Float.BYTES)
                .order(ByteOrder.nativeOrder())
                .asFloatBuffer();
    }

    public int layers() {
        return layers;
    }

    public int kvDim() {
        return kvDim;
    }

    /** Positions the buffers hold at most. */
    public int positions() {
        return positions;
    }

    /** Bytes of the buffers: layers × 2 × positions × kv_dim × 4. */
    public long bytes() {
        return 2L * layers * positions * kvDim * Float.BYTES;
    }

    /** Layer {@code layer}'s keys of positions {@code [0, length)}: a view sharing the buffer (no copy). */
    public FloatBuffer keys(int layer, int length) {
        return view(keys[layer], 0, length);
    }

    /** Layer {@code layer}'s values of positions {@code [0, length)}: a view sharing the buffer (no copy). */
    public FloatBuffer values(int layer, int length) {
        return view(values[layer], 0, length);
    }

    /**
     * Writes {@code length} positions from {@code source} (a [.., kv_dim] buffer positioned at its first float) at
     * position {@code at} of layer {@code layer}'s keys ({@code value} false) or values: what a forward does with
     * the presents a row keeps.
     */
    public void put(int layer, boolean value, int at, FloatBuffer source, int length) {
        FloatBuffer target = view(value ? values[layer] : keys[layer], at, length);
        FloatBuffer from = source.duplicate();
        from.limit(from.position() + length * kvDim);
        target.put(from);
    }

    /**
     * Moves positions {@code [from, from+length)} to {@code [to, to+length)} in every layer (overlap allowed: NIO's
     * bulk put copies as if through an intermediate buffer). The dual cache's compaction of the suffix after a
     * refresh that wrote the whole canvas.
     */
    public void move(int from, int to, int length) {
        if (length == 0 || from == to) {
            return;
        }
        for (int i = 0; i < layers; i++) {
            view(keys[i], to, length).put(view(keys[i], from, length));
            view(values[i], to, length).put(view(values[i], from, length));
        }
    }

    private FloatBuffer view(FloatBuffer buffer, int position, int length) {
        if (position < 0 || length < 0 || position + length > positions) {
            throw new IndexOutOfBoundsException("Positions [" + position + ", " + (position + length)
                    + ") lie outside a cache of " + positions + " positions");
        }
        FloatBuffer v = buffer.duplicate();
        v.limit((position + length) * kvDim).position(position * kvDim);
        return v.slice();
    }
}
