package dev.unmask.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.engine.decode.DenoisingListener;
import dev.unmask.engine.decode.TokenLogprob;
import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.engine.request.GenerationRequest;
import dev.unmask.testing.ReferencePackages;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Each answer token's log-probability at the step that committed it ({@link Generation#logprobs()}), on the real
 * reference packages: one entry per token, finite and at most 0, the committed token first among the candidates
 * under greedy decoding, and read from the full logits when sampling took a token outside the head's top-k.
 */
class TokenLogprobTest {

    static List<Path> packages() {
        return List.of(ReferencePackages.tinyLlada(), ReferencePackages.tinyDream());
    }

    static Generation generate(Path pkg, GenerationRequest request) {
        try (Engine engine = Engine.open(pkg, RuntimeOptions.defaults().withIntraOpThreads(1))) {
            return engine.generate(request, DenoisingListener.NONE);
        }
    }

    static GenerationRequest.Builder request() {
        return GenerationRequest.builder(new GenerationRequest.Prompt.Continuation("def add(a, b):"))
                .length(24)
                .blockLength(8);
    }

    @ParameterizedTest
    @MethodSource("packages")
    void underGreedyEachTokenIsTheTopCandidateOfTheStepThatCommittedIt(Path pkg) {
        Generation g = generate(pkg, request().temperature(0.0).build());
        assertTrue(g.tokens().length > 0);
        assertEquals(g.tokens().length, g.logprobs().size(), "one entry per answer token");
        for (int i = 0; i < g.tokens().length; i++) {
            TokenLogprob t = g.logprobs().get(i);
            assertEquals(g.tokens()[i], t.token());
            assertTrue(Double.isFinite(t.logprob()) && t.logprob() <= 0, t.toString());
            assertFalse(t.top().isEmpty());
            assertEquals(t.token(), t.top().get(0).token(), "greedy commits the most likely token: " + t);
            assertEquals(t.top().get(0).logprob(), t.logprob());
            double mass = 0;
            for (int r = 0; r < t.top().size(); r++) {
                mass += Math.exp(t.top().get(r).logprob());
                if (r > 0) {
                    assertTrue(t.top().get(r).logprob() <= t.top().get(r - 1).logprob(), "best first: " + t);
                }
            }
            assertTrue(mass <= 1 + 1e-4, "candidates of one distribution: " + mass);
        }
    }

    @ParameterizedTest
    @MethodSource("packages")
    void sampledOverTheFullLogitsATokenOutsideTheTopKReadsItsOwnLowerLogprob(Path ignored) {
        Path pkg = ignored.toString().contains("dream")
                ? ReferencePackages.tinyDreamWithLogits()
                : ReferencePackages.tinyLladaWithLogits();
        List<TokenLogprob> outside = new ArrayList<>();
        for (long seed = 0; seed < 4 && outside.isEmpty(); seed++) {
            Generation g = generate(pkg, request().temperature(2.0).seed(seed).build());
            for (TokenLogprob t : g.logprobs()) {
                assertTrue(Double.isFinite(t.logprob()) && t.logprob() <= 0, t.toString());
                assertTrue(t.logprob() > TokenLogprob.UNLIKELY, "read from the logits, never the placeholder");
                if (t.top().stream().noneMatch(a -> a.token() == t.token())) {
                    outside.add(t);
                }
            }
        }
        assertFalse(outside.isEmpty(), "temperature 2 over the whole vocabulary leaves the top-k now and then");
        for (TokenLogprob t : outside) {
            double last = t.top().get(t.top().size() - 1).logprob();
            assertTrue(t.logprob() <= last + 1e-6, "below every candidate of the head: " + t);
        }
    }
}
