package dev.unmask.engine.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.unmask.format.ModelPackage;
import dev.unmask.testing.ReferencePackages;
import org.junit.jupiter.api.Test;

/**
 * ONNX Runtime's contract: a session's {@code SessionOptions} must stay open until the session is closed. The
 * denoiser owns both and closes the options last. (A closed {@code SessionOptions} refuses every setter with
 * {@link IllegalStateException}, which is how the test sees whether it is open.)
 */
class OnnxDenoiserLifetimeTest {

    @Test
    void theSessionOptionsStayOpenWhileTheSessionRunsAndCloseWithIt() throws Exception {
        OnnxDenoiser model = OnnxDenoiser.load(
                ModelPackage.open(ReferencePackages.tinyLlada()),
                RuntimeOptions.defaults().withIntraOpThreads(1));
        model.sessionOptions().setIntraOpNumThreads(1); // open: a setter is taken (and, after creation, has no effect)
        HeadOutput out = model.forward(new long[][] {{1, 2, 3}}, new long[][] {{1, 1, 1}}, new long[][] {{2}});
        assertEquals(1, out.batch());

        model.close();
        assertThrows(
                IllegalStateException.class,
                () -> model.sessionOptions().setIntraOpNumThreads(1),
                "closed together with the session");
        model.close(); // idempotent
    }
}
