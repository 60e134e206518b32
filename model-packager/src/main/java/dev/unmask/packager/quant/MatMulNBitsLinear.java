package dev.unmask.packager.quant;

import ai.onnx.proto.OnnxMl.AttributeProto;
import dev.unmask.packager.ExitCode;
import dev.unmask.packager.PackagerException;
import dev.unmask.packager.checkpoint.TensorData;
import dev.unmask.packager.onnx.FloatLinear;
import dev.unmask.packager.onnx.LinearRole;
import dev.unmask.packager.onnx.LinearWeight;
import dev.unmask.packager.onnx.LinearWeightSink;
import dev.unmask.packager.onnx.OnnxGraph;
import dev.unmask.packager.onnx.WeightFormat;
import java.util.Objects;

/**
 * The quantizing {@link LinearWeightSink}: every projection becomes {@code com.microsoft::MatMulNBits} (or, for
 * {@code int8:block=channel}, {@code DynamicQuantizeMatMul}: {@link ChannelInt8Weights}), B packed
 * from the checkpoint's {@code W [out, in]} row by row and streamed straight into the package's external data
 * (one row of floats in the heap, plus the tensor's scales and zero points), through the same
 * {@link QuantizedWeights} as {@code unmask-pack quantize}. The output head (the weight whose role is
 * {@link LinearRole#SAMPLING_HEAD}) follows {@link HeadPrecision}. Activations stay float32, so scales are float32.
 *
 * <p>Plug in with {@code GraphOptions.of(format).withLinear(new MatMulNBitsLinear(scheme, head, format))}.
 */
public final class MatMulNBitsLinear implements LinearWeightSink {

    /** Appended to a linear's name for its node, e.g. {@code /layers.0/attn/q_proj/MatMulNBits}. */
    static final String NODE_SUFFIX = "/" + MatMulNBits.OP_TYPE;

    private final QuantScheme scheme;
    private final HeadPrecision head;
    private final FloatLinear floatHead;

    public MatMulNBitsLinear(QuantScheme scheme, HeadPrecision head, WeightFormat format) {
        this.scheme = Objects.requireNonNull(scheme, "quantization scheme");
        this.head = Objects.requireNonNull(head, "head precision");
        this.floatHead = new FloatLinear(Objects.requireNonNull(format, "weight format"));
    }

    public MatMulNBitsLinear(QuantScheme scheme, WeightFormat format) {
        this(scheme, HeadPrecision.SAME, format);
    }

    /**
     * The sink for the CLI's {@code --quant} and {@code --quant-head}: {@link FloatLinear} for {@code none} (or
     * null), otherwise this quantizer.
     *
     * @throws IllegalArgumentException for a bad scheme or head precision, with correct examples
     */
    public static LinearWeightSink fromOptions(String quant, String head, WeightFormat format) {
        if (quant == null || quant.isBlank() || quant.trim().equalsIgnoreCase("none")) {
            if (head != null && !head.isBlank() && HeadPrecision.parse(head) != HeadPrecision.SAME) {
                throw new IllegalArgumentException(
                        "--quant-head " + head + " needs --quant, e.g. --quant int4 --quant-head int8");
            }
            return new FloatLinear(format);
        }
        HeadPrecision headPrecision = head == null || head.isBlank() ? HeadPrecision.SAME : HeadPrecision.parse(head);
        return new MatMulNBitsLinear(QuantScheme.parse(quant), headPrecision, format);
    }

    public QuantScheme scheme() {
        return scheme;
    }

    public HeadPrecision head() {
        return head;
    }

    @Override
    public String linear(OnnxGraph graph, String name, String input, LinearWeight weight) {
        QuantScheme chosen = head.schemeFor(scheme, weight.role());
        if (chosen == null) {
            return floatHead.linear(graph, name, input, weight);
        }
        int n = weight.outFeatures();
        int k = weight.inFeatures();
        if (chosen.perChannel()) {
            try (TensorData data = weight.map()) {
                return ChannelInt8Weights.linear(
                        graph, name, input, weight.name(), n, k, (row, dst) -> data.readRow(row, 0, k, dst, 0));
            } catch (IllegalArgumentException e) {
                throw new PackagerException(
                        ExitCode.BAD_CHECKPOINT, weight.entry().file() + ": " + e.getMessage(), e);
            }
        }
        if (chosen.integerGemm()) {
            try (TensorData data = weight.map()) {
                QuantizedLinear q = QuantizedWeights.writeSignedInt4(
                        graph.data(),
                        graph::addInitializer,
                        weight.name(),
                        n,
                        k,
                        (row, dst) -> data.readRow(row, 0, k, dst, 0),
                        chosen);
                return ChannelInt8Weights.linearFromSignedInt4(graph, name, input, q);
            } catch (IllegalArgumentException e) {
                throw new PackagerException(
                        ExitCode.BAD_CHECKPOINT, weight.entry().file() + ": " + e.getMessage(), e);
            }
        }
        QuantizedLinear q;
        try (TensorData data = weight.map()) {
            q = QuantizedWeights.write(
                    graph.data(),
                    graph::addInitializer,
                    weight.name(),
                    n,
                    k,
                    (row, dst) -> data.readRow(row, 0, k, dst, 0),
                    chosen,
                    ScaleType.FLOAT32);
        } catch (IllegalArgumentException e) {
            // shapes come from the checked config, so what is left is a bad weight (NaN, infinity)
            throw new PackagerException(ExitCode.BAD_CHECKPOINT, weight.entry().file() + ": " + e.getMessage(), e);
        }
        return graph.msOp(
                MatMulNBits.OP_TYPE,
                name + NODE_SUFFIX,
                MatMulNBits.inputs(q, input),
                MatMulNBits.attributes(q).toArray(new AttributeProto[0]));
    }

    /** The manifest's {@code precision.quantization}: {@link HeadPrecision#describe}. */
    @Override
    public String quantization() {
        return head.describe(scheme);
    }
}
