package dev.unmask.packager.onnx;

/**
 * The one place that turns a checkpoint's {@code nn.Linear} weight into graph nodes and initializers: every
 * projection of the model (Q, K, V, attention output, gate, up, down, output head) goes through it. The default,
 * {@link FloatLinear}, writes {@code MatMul(x, Wᵀ)} with {@code Wᵀ [in, out]} stored in fp32 or fp16. A quantizer
 * replaces it with {@code com.microsoft::MatMulNBits} (B packed from {@code W [out, in]} row by row, no transpose)
 * by passing its own implementation to the graph builder.
 */
public interface LinearWeightSink {

    /**
     * Emits {@code y[…, out] = x[…, in] · Wᵀ}.
     *
     * @param graph  the graph to add nodes and initializers to
     * @param name   a path-like base name for nodes and initializers, e.g. {@code /layers.3/attn/q_proj}
     * @param input  the activation {@code x}, float32 {@code [batch, sequence, in]} (or any leading dims)
     * @param weight the checkpoint weight, {@code [out, in]}
     * @return the name of {@code y}, float32 {@code […, out]}
     */
    String linear(OnnxGraph graph, String name, String input, LinearWeight weight);

    /** The manifest's {@code precision.quantization} for packages this sink writes ({@code none} for float). */
    String quantization();
}
