package dev.unmask.packager.arch;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Which operator a layer's attention is (docs/package-format.md, "The graph"). Both compute the same bidirectional
 * (or block-causal) attention over {@code past ‖ fresh} keys, so the choice moves speed only; the package's signature
 * is the same either way.
 */
public enum AttentionKernel {
    /**
     * The standard ONNX {@code Attention} (opset 23) on K and V with their own {@code Hkv} heads: no per-layer repeat of
     * K/V to every query head, 0.34–0.83× the time of {@link #MULTI_HEAD} on CPU (docs/benchmarks.md, "Where a batched
     * cached step goes"). ONNX Runtime 1.23's CUDA provider has no kernel for it and places the node on the CPU
     * (microsoft/onnxruntime#28025), so a package for the GPU build wants {@link #MULTI_HEAD}.
     */
    ONNX("onnx"),
    /**
     * {@code com.microsoft.MultiHeadAttention} with K and V repeated to every query head ({@code Expand}): what format 3
     * packages held before, and the one with a CUDA kernel in ONNX Runtime 1.23.
     */
    MULTI_HEAD("mha");

    private final String cliName;

    AttentionKernel(String cliName) {
        this.cliName = cliName;
    }

    /** The spelling {@code unmask-pack convert --attention} takes. */
    public String cliName() {
        return cliName;
    }

    /** Parses {@code --attention}: {@code onnx} or {@code mha}, any case. */
    public static AttentionKernel parse(String text) {
        String wanted = text.trim().toLowerCase(Locale.ROOT);
        for (AttentionKernel kernel : values()) {
            if (kernel.cliName.equals(wanted)) {
                return kernel;
            }
        }
        throw new IllegalArgumentException("Unknown attention kernel '" + text + "': use one of "
                + Arrays.stream(values()).map(AttentionKernel::cliName).collect(Collectors.joining(", "))
                + " (e.g. --attention mha for a package the CUDA build serves)");
    }
}
