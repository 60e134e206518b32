package dev.unmask.functions;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.engine.Engine;
import dev.unmask.engine.model.ExecutionProvider;
import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.testing.ReferencePackages;
import org.junit.jupiter.api.Test;

/**
 * The warm-up before ready runs the first request's whole path (wire-format parse, the prompt bound, the chat
 * template, a scheduler's step loop, the SSE writer) on the real tiny package, so that the first real request after
 * ready pays none of its first-use cost (docs/benchmarks.md, "Cold start").
 */
class WarmUpTest {

    @Test
    void aPackageWithAChatTemplateIsWarmedWithAStreamedChatCompletionThroughTheApi() {
        try (Engine engine = Engine.open(ReferencePackages.tinyLlada(), new RuntimeOptions(ExecutionProvider.CPU, 1))) {
            ModelHost.WarmUp w = ModelHost.warmUp("tiny-llada", engine);
            assertTrue(w.chat(), "the tiny package has a chat template: the warm-up renders it: " + w);
            assertTrue(
                    w.completionTokens() > 0 && w.completionTokens() <= ModelHost.WARM_UP_MAX_TOKENS,
                    "the stream ended with its usage chunk, at most max_tokens: " + w);
        }
    }
}
