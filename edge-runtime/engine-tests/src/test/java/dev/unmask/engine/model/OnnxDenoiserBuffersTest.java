package dev.unmask.engine.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.format.ModelPackage;
import dev.unmask.testing.ReferencePackages;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A warm step allocates no direct memory: the plain and the cached forward both write their inputs (and the cached one
 * its pinned presents) into the denoiser's reused direct buffers, so steps of one shape leave the JVM's direct buffer
 * pool as it was. Counted by the pool's own bean ({@code BufferPoolMXBean} "direct"), which every
 * {@code ByteBuffer.allocateDirect} registers in, and which ONNX Runtime's own output buffers (wrapped native memory)
 * do not touch.
 */
class OnnxDenoiserBuffersTest {

    private static OnnxDenoiser model;

    @BeforeAll
    static void load() {
        model = OnnxDenoiser.load(
                ModelPackage.open(ReferencePackages.tinyLlada()),
                RuntimeOptions.defaults().withIntraOpThreads(1));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void a_warm_plain_forward_allocates_no_direct_buffer_and_answers_as_when_cold() throws InterruptedException {
        long[][] ids = {{5, 6, 7, 8, 9, 10}, {11, 12, 13, 3, 3, 3}}; // [batch 2, sequence 6], the second padded
        long[][] mask = {{1, 1, 1, 1, 1, 1}, {1, 1, 1, 0, 0, 0}};
        long[][] heads = {{4, 5}, {1, 2}};
        HeadOutput cold = model.forward(ids, mask, heads);
        model.forward(ids, mask, heads);

        long before = directBuffersAfterCollection();
        HeadOutput warm = null;
        for (int i = 0; i < 20; i++) {
            warm = model.forward(ids, mask, heads);
        }

        assertNoNewDirectBuffers(before, "20 warm plain forwards of one shape");
        assertArrayEquals(cold.topkIds(), warm.topkIds(), "a reused buffer holds this step's inputs, not stale ones");
        assertArrayEquals(cold.topkLogits(), warm.topkLogits(), 0f);
    }

    @Test
    void a_warm_batched_cached_forward_allocates_no_direct_buffer() throws InterruptedException {
        var kv = model.manifest().graph().kvCache();
        KvBuffers a = KvBuffers.allocate(kv, 16);
        KvBuffers b = KvBuffers.allocate(kv, 16);
        // fill both caches from a full forward of each canvas, then run windows over pasts of different lengths
        long[] canvasA = {5, 6, 7, 8, 9, 10, 11, 12};
        long[] canvasB = {13, 14, 15, 16, 17, 18};
        model.forward(new CachedForward(List.of(
                CachedForward.Row.full(canvasA, new long[] {7}, List.of(new CachedForward.Keep(0, 6, a, 0))),
                CachedForward.Row.full(canvasB, new long[] {5}, List.of(new CachedForward.Keep(0, 4, b, 0))))));
        CachedForward step = new CachedForward(List.of(
                new CachedForward.Row(
                        new long[] {11, 12},
                        new long[] {6, 7},
                        new long[] {0, 1},
                        new CachedForward.Past(a, 6),
                        List.of()),
                new CachedForward.Row(
                        new long[] {17, 18},
                        new long[] {4, 5},
                        new long[] {1},
                        new CachedForward.Past(b, 4),
                        List.of())));
        model.forward(step);
        model.forward(step);

        long before = directBuffersAfterCollection();
        for (int i = 0; i < 20; i++) {
            model.forward(step);
        }

        assertNoNewDirectBuffers(before, "20 warm cached forwards of one shape");
    }

    /**
     * The pool's count is of live buffers, process-wide: a buffer some earlier step dropped may be collected (and the
     * count fall) at any time, so the count may not grow; 20 steps that each allocated would grow it by dozens.
     */
    private static void assertNoNewDirectBuffers(long before, String what) {
        long after = directBuffers();
        assertTrue(
                after <= before,
                what + " allocated " + (after - before) + " direct buffers (" + before + " -> " + after + ")");
    }

    /**
     * Live direct buffers once a collection has had the chance to free what the cold steps dropped; the count after the
     * warm steps is read without one, so that buffers they allocated and dropped are still counted.
     */
    private static long directBuffersAfterCollection() throws InterruptedException {
        System.gc();
        Thread.sleep(50); // the cleaner frees collected buffers on its own thread
        return directBuffers();
    }

    private static long directBuffers() {
        for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
            if (pool.getName().equals("direct")) {
                return pool.getCount();
            }
        }
        throw new IllegalStateException("this JVM reports no 'direct' buffer pool");
    }
}
