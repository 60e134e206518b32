package dev.unmask.packager.quant;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class QuantSchemeTest {

    @Test
    void bareBitWidthsTakeOnnxruntimeGenaiDefaults() {
        QuantScheme int4 = QuantScheme.parse("int4");
        assertAll(
                () -> assertEquals(QuantBits.INT4, int4.bits()),
                () -> assertEquals(32, int4.blockSize()),
                () -> assertEquals(Symmetry.SYMMETRIC, int4.symmetry()),
                () -> assertEquals(AccuracyLevel.INT8, int4.accuracyLevel()),
                () -> assertEquals(QuantScheme.INT4, int4),
                () -> assertEquals(QuantScheme.INT8, QuantScheme.parse("int8")));
    }

    @Test
    void optionsComeInAnyOrderAndAnyCase() {
        QuantScheme expected = new QuantScheme(QuantBits.INT4, 128, Symmetry.ASYMMETRIC, AccuracyLevel.FP32);
        assertEquals(expected, QuantScheme.parse("int4:block=128:asym:acc=fp32"));
        assertEquals(expected, QuantScheme.parse("INT4:acc=1:asym:block=128"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"int4", "int8:block=64", "int4:block=128:asym", "int8:asym:acc=0", "int4:acc=bf16"})
    void canonicalSpellingParsesBackToTheSameScheme(String text) {
        QuantScheme scheme = QuantScheme.parse(text);
        assertEquals(scheme, QuantScheme.parse(scheme.toString()));
    }

    @Test
    void canonicalSpellingNamesEveryOption() {
        assertEquals("int4:block=32:sym:acc=4", QuantScheme.INT4.toString());
        assertEquals(
                "int8:block=128:asym:acc=0",
                QuantScheme.parse("int8:block=128:asym:acc=unset").toString());
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "",
                "int3",
                "fp16",
                "int4:block=48",
                "int4:block=256",
                "int4:block=big",
                "int4:fast",
                "int4:sym:asym",
                "int4:block=32:block=64",
                "int4:acc=5",
                "int4:acc=fp8"
            })
    void badSchemesFailWithAMessageThatShowsCorrectExamples(String text) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> QuantScheme.parse(text));
        assertTrue(e.getMessage().contains("'" + text + "'"), e.getMessage());
        assertTrue(e.getMessage().contains("int4:block=128"), e.getMessage());
    }

    @Test
    void blockSizeOutsideThePublishedSetIsRejectedAtConstruction() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> new QuantScheme(QuantBits.INT8, 16, Symmetry.SYMMETRIC, AccuracyLevel.UNSET));
        assertTrue(e.getMessage().contains("32, 64 or 128"), e.getMessage());
    }

    @Test
    void kBlocksRoundsUp() {
        QuantScheme scheme = QuantScheme.parse("int4:block=64");
        assertAll(
                () -> assertEquals(1, scheme.kBlocks(1)),
                () -> assertEquals(1, scheme.kBlocks(64)),
                () -> assertEquals(4, scheme.kBlocks(200)),
                () -> assertEquals(4, scheme.kBlocks(256)));
    }
}
