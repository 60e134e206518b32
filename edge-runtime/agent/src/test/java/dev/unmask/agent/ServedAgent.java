package dev.unmask.agent;

import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.openai.ServingLimits;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A real {@code unmask serve} on a loopback port for tests: one package under one name, loaded on first use, one ONNX
 * Runtime thread, batch 2, queue 16, the default limits and no API key. Closing it stops the server, then its models.
 */
record ServedAgent(LocalModels models, AgentServer server, URI base) implements AutoCloseable {

    static ServedAgent serving(String name, Path pkg) {
        LocalModels models = new LocalModels(
                () -> Map.of(name, pkg),
                RuntimeOptions.defaults().withIntraOpThreads(1),
                java.time.Duration.ofMinutes(5),
                2,
                16,
                line -> {});
        AgentServer server = new AgentServer(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                models,
                ServingLimits.defaults(),
                List.of());
        return new ServedAgent(models, server, URI.create("http://127.0.0.1:" + server.port()));
    }

    @Override
    public void close() {
        server.close();
        models.close();
    }
}
