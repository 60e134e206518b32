package dev.unmask.engine;

import dev.unmask.engine.decode.DecodingOptions;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

/** Infill and placeholder regions get options sized to them. */
class OptionsFitTest {

    static final DecodingOptions BASE = DecodingOptions.defaults().toBuilder().genLength(64).blockLength(32).steps(64)
            .maxTokens(48).build();

    @Test
    void options_that_fit_are_kept() {
        assertSame(BASE, Engine.fit(BASE, 64));
    }

    @Test
    void a_region_the_block_length_divides_keeps_its_blocks_and_scales_the_steps() {
        DecodingOptions o = Engine.fit(BASE, 96);
        assertEquals(96, o.genLength());
        assertEquals(32, o.blockLength());
        assertEquals(96, o.steps());
    }

    @Test
    void any_other_region_becomes_one_block_with_at_least_one_step() {
        DecodingOptions o = Engine.fit(BASE, 3);
        assertEquals(3, o.genLength());
        assertEquals(3, o.blockLength());
        assertEquals(3, o.steps());
        assertEquals(3, o.maxTokens());
        DecodingOptions half = Engine.fit(BASE.toBuilder().steps(32).build(), 7);
        assertEquals(4, half.steps(), "half as many steps as tokens, rounded");
    }
}
