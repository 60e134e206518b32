package dev.unmask.engine.model;

import ai.onnxruntime.OrtProvider;

/** Where ONNX Runtime runs the graph. Providers other than CPU fall back to CPU, with a log line, when absent. */
public enum ExecutionProvider {
    CPU(OrtProvider.CPU),
    CUDA(OrtProvider.CUDA),
    COREML(OrtProvider.CORE_ML),
    DIRECTML(OrtProvider.DIRECT_ML);

    private final OrtProvider ortProvider;

    ExecutionProvider(OrtProvider ortProvider) {
        this.ortProvider = ortProvider;
    }

    public OrtProvider ortProvider() {
        return ortProvider;
    }

    /** Parses a user-given name case-insensitively ({@code cpu}, {@code cuda}, {@code coreml}, {@code directml}). */
    public static ExecutionProvider parse(String name) {
        for (ExecutionProvider p : values()) {
            if (p.name().equalsIgnoreCase(name.trim())) {
                return p;
            }
        }
        throw new IllegalArgumentException("Unknown execution provider '" + name
                + "'; use one of cpu, cuda, coreml, directml (e.g. --provider cpu)");
    }
}
