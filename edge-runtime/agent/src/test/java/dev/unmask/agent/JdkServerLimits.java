package dev.unmask.agent;

import org.junit.jupiter.api.extension.Extension;

/**
 * The JDK server takes its limits once per JVM, from system properties, when its first instance is made; a test that
 * makes one of its own (ModelStoreTest's file server) before any {@link AgentServer} would leave the agent's tests
 * without them. Registered for every test (META-INF/services, autodetection on), this sets them before any test runs,
 * as {@code unmask serve} does before it listens.
 */
public final class JdkServerLimits implements Extension {
    static {
        AgentServer.limitJdkHttpServer();
    }
}
