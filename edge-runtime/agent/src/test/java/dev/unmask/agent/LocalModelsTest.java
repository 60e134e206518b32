package dev.unmask.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.openai.ApiException;
import dev.unmask.openai.ServingLimits;
import dev.unmask.testing.ReferencePackages;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Loading a model does not hold up the others: the real loader, wrapped so that a test can hold one load. */
class LocalModelsTest {

    static final String COMPLETION = "{\"model\": \"%s\", \"prompt\": \"def\", \"max_tokens\": 8, \"steps\": 8}";

    /** The real loader, held on {@code release} for the model {@code held}; counts its loads. */
    static final class HeldLoader implements LocalModels.Loader {
        final LocalModels.Loader real =
                LocalModels.engines(RuntimeOptions.defaults().withIntraOpThreads(1), 2, 4);
        final String held;
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        final AtomicInteger loads = new AtomicInteger();

        HeldLoader(String held) {
            this.held = held;
        }

        @Override
        public dev.unmask.openai.ServedModel load(String id, Path dir) {
            if (id.equals(held)) {
                loads.incrementAndGet();
                entered.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }
            return real.load(id, dir);
        }
    }

    @Test
    void whileOneModelLoadsHealthAndAnotherLoadedModelAnswerAtOnce() throws Exception {
        Path tiny = ReferencePackages.tinyLlada();
        HeldLoader loader = new HeldLoader("slow");
        try (LocalModels models = new LocalModels(
                        () -> Map.of("fast", tiny, "slow", tiny), loader, Duration.ofMinutes(5), line -> {});
                AgentServer server = new AgentServer(
                        new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                        models,
                        ServingLimits.defaults(),
                        List.of())) {
            server.start();
            URI base = URI.create("http://127.0.0.1:" + server.port());
            assertEquals(
                    200,
                    ServeCommandTest.post(base, "/v1/completions", COMPLETION.formatted("fast"))
                            .statusCode());

            CompletableFuture<HttpResponse<String>> first = CompletableFuture.supplyAsync(() -> post(base, "slow"));
            assertTrue(loader.entered.await(60, TimeUnit.SECONDS), "the load of 'slow' has begun and is held");
            CompletableFuture<HttpResponse<String>> second = CompletableFuture.supplyAsync(() -> post(base, "slow"));

            long t = System.nanoTime();
            HttpResponse<String> health = ServeCommandTest.get(base, "/health");
            assertEquals(200, health.statusCode());
            assertTrue(
                    health.body().contains("\"fast\"") && !health.body().contains("\"model\":\"slow\""), health.body());
            HttpResponse<String> fast = ServeCommandTest.post(base, "/v1/completions", COMPLETION.formatted("fast"));
            assertEquals(200, fast.statusCode(), fast.body());
            assertTrue(System.nanoTime() - t < TimeUnit.SECONDS.toNanos(20), "answered while 'slow' is still held");
            assertFalse(first.isDone() || second.isDone(), "both requests for 'slow' wait for its load");

            loader.release.countDown();
            assertEquals(
                    200,
                    first.get(60, TimeUnit.SECONDS).statusCode(),
                    first.get().body());
            assertEquals(
                    200,
                    second.get(60, TimeUnit.SECONDS).statusCode(),
                    second.get().body());
            assertEquals(1, loader.loads.get(), "the two requests shared one load");
        }
    }

    @Test
    void aFailedLoadIsReportedToItsWaitersAndRetriedByTheNextRequest() throws Exception {
        Path tiny = ReferencePackages.tinyLlada();
        AtomicInteger attempts = new AtomicInteger();
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        LocalModels.Loader real = LocalModels.engines(RuntimeOptions.defaults().withIntraOpThreads(1), 2, 4);
        LocalModels.Loader flaky = (id, dir) -> {
            if (attempts.incrementAndGet() == 1) {
                entered.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
                throw new IllegalStateException("out of memory, say");
            }
            return real.load(id, dir);
        };
        try (LocalModels models =
                new LocalModels(() -> Map.of("tiny", tiny), flaky, Duration.ofMinutes(5), line -> {})) {
            CompletableFuture<LocalModels.Lease> first =
                    CompletableFuture.supplyAsync(() -> models.acquire("tiny", null));
            assertTrue(entered.await(30, TimeUnit.SECONDS));
            CompletableFuture<LocalModels.Lease> waiter =
                    CompletableFuture.supplyAsync(() -> models.acquire("tiny", null));
            Thread.sleep(100); // let the waiter find the load in progress
            release.countDown();
            for (CompletableFuture<LocalModels.Lease> f : List.of(first, waiter)) {
                ApiException e = assertThrows(ApiException.class, () -> {
                    try {
                        f.join();
                    } catch (java.util.concurrent.CompletionException c) {
                        throw c.getCause();
                    }
                });
                assertEquals("model_load_failed", e.code());
                assertTrue(e.getMessage().contains("out of memory, say"), e.getMessage());
            }
            assertTrue(models.loaded().isEmpty(), "nothing half-loaded is kept");
            try (LocalModels.Lease lease = models.acquire("tiny", null)) {
                assertEquals("tiny", lease.served().id());
            }
            assertEquals(2, attempts.get(), "the next request loaded it again");
        }
    }

    @Test
    void aSlowReadingOfTheStoreHoldsUpNeitherHealthNorALoadedModel() throws Exception {
        Path tiny = ReferencePackages.tinyLlada();
        CountDownLatch reading = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        java.util.concurrent.atomic.AtomicBoolean holdNext = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.function.Supplier<Map<String, Path>> store = () -> { // a store on a disk busy with a large load
            if (holdNext.compareAndSet(true, false)) {
                reading.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }
            return Map.of("fast", tiny, "other", tiny);
        };
        LocalModels.Loader real = LocalModels.engines(RuntimeOptions.defaults().withIntraOpThreads(1), 2, 4);
        try (LocalModels models = new LocalModels(store, real, Duration.ofMinutes(5), line -> {});
                AgentServer server = new AgentServer(
                        new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                        models,
                        ServingLimits.defaults(),
                        List.of())) {
            server.start();
            URI base = URI.create("http://127.0.0.1:" + server.port());
            assertEquals(200, post(base, "fast").statusCode());

            holdNext.set(true);
            CompletableFuture<HttpResponse<String>> other = CompletableFuture.supplyAsync(() -> post(base, "other"));
            assertTrue(reading.await(60, TimeUnit.SECONDS), "the request for 'other' reads the store, held");

            CompletableFuture<HttpResponse<String>> health = CompletableFuture.supplyAsync(() -> {
                try {
                    return ServeCommandTest.get(base, "/health");
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            CompletableFuture<HttpResponse<String>> fast = CompletableFuture.supplyAsync(() -> post(base, "fast"));
            try {
                assertEquals(200, health.get(30, TimeUnit.SECONDS).statusCode(), "/health answers meanwhile");
                assertEquals(200, fast.get(30, TimeUnit.SECONDS).statusCode(), "a loaded model answers meanwhile");
                assertFalse(other.isDone());
            } finally {
                release.countDown();
            }
            assertEquals(200, other.get(60, TimeUnit.SECONDS).statusCode());
        }
    }

    private static HttpResponse<String> post(URI base, String model) {
        try {
            return ServeCommandTest.post(base, "/v1/completions", COMPLETION.formatted(model));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
