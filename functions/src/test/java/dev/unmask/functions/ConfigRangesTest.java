package dev.unmask.functions;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Every count in {@code unmask.*} is range-checked before a package loads, with a correct setting to copy. */
class ConfigRangesTest {

    @Test
    void a_count_out_of_range_fails_the_load_with_a_correct_setting() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> ModelHost.checkRange("unmask.batch.max-size", 0, 1, ModelHost.MAX_BATCH, 8));
        assertTrue(e.getMessage().contains("use 1 to 256, e.g. unmask.batch.max-size=8"), e.getMessage());
        assertThrows(
                IllegalArgumentException.class,
                () -> ModelHost.checkRange("unmask.batch.max-queue", 1_000_000, 0, ModelHost.MAX_QUEUE, 64));
        assertThrows(IllegalArgumentException.class, () -> ModelHost.checkRange("unmask.threads", -1, 0, 1024, 0));
        assertDoesNotThrow(() -> ModelHost.checkRange("unmask.batch.max-size", 8, 1, ModelHost.MAX_BATCH, 8));
    }
}
