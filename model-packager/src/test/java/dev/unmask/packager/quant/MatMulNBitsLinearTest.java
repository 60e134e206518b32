package dev.unmask.packager.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.packager.onnx.FloatLinear;
import dev.unmask.packager.onnx.LinearWeightSink;
import dev.unmask.packager.onnx.WeightFormat;
import org.junit.jupiter.api.Test;

/** How the CLI's {@code --quant} / {@code --quant-head} choose the graph builder's linear sink. */
class MatMulNBitsLinearTest {

    @Test
    void noneKeepsFloatMatMuls() {
        LinearWeightSink sink = MatMulNBitsLinear.fromOptions("none", "same", WeightFormat.FP16);
        assertInstanceOf(FloatLinear.class, sink);
        assertEquals("none", sink.quantization());
    }

    @Test
    void aSchemeGivesTheQuantizerAndItsCanonicalName() {
        LinearWeightSink sink = MatMulNBitsLinear.fromOptions("int4:block=128", "same", WeightFormat.FP32);
        assertEquals("int4:block=128:sym:acc=4", sink.quantization());
    }

    @Test
    void aWiderHeadIsRecordedInTheManifestName() {
        assertEquals(
                "int4:block=32:sym:acc=4;head=int8:block=32:sym:acc=4",
                MatMulNBitsLinear.fromOptions("int4", "int8", WeightFormat.FP32).quantization());
        assertEquals(
                "int4:block=32:sym:acc=4;head=float",
                MatMulNBitsLinear.fromOptions("int4", "float", WeightFormat.FP32)
                        .quantization());
        assertEquals(
                "int8:block=32:sym:acc=4",
                MatMulNBitsLinear.fromOptions("int8", "int8", WeightFormat.FP32).quantization(),
                "int8 head under int8 is the same");
    }

    @Test
    void badOptionsFailWithExamples() {
        IllegalArgumentException scheme = assertThrows(
                IllegalArgumentException.class, () -> MatMulNBitsLinear.fromOptions("int2", "same", WeightFormat.FP32));
        assertTrue(scheme.getMessage().contains("int4:block=128"), scheme.getMessage());
        IllegalArgumentException head = assertThrows(
                IllegalArgumentException.class, () -> MatMulNBitsLinear.fromOptions("int4", "int2", WeightFormat.FP32));
        assertTrue(head.getMessage().contains("--quant-head int8"), head.getMessage());
        IllegalArgumentException headWithoutQuant = assertThrows(
                IllegalArgumentException.class,
                () -> MatMulNBitsLinear.fromOptions("none", "float", WeightFormat.FP32));
        assertTrue(headWithoutQuant.getMessage().contains("--quant int4"), headWithoutQuant.getMessage());
    }
}
