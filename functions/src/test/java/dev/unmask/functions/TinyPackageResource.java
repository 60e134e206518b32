package dev.unmask.functions;

import dev.unmask.testing.ReferencePackages;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.util.Map;

/** Serves the real tiny package in tests: converted from {@code models/tiny-llada} on first use, then cached. */
public class TinyPackageResource implements QuarkusTestResourceLifecycleManager {

    @Override
    public Map<String, String> start() {
        return Map.of(
                "unmask.models.tiny-llada.path", ReferencePackages.tinyLlada().toString());
    }

    @Override
    public void stop() {}
}
