package dev.unmask.engine.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.engine.model.RuntimeOptions.Spinning;
import org.junit.jupiter.api.Test;

/** ONNX Runtime's thread waiting: the servers sleep unless told to spin; one-shot commands keep its default. */
class RuntimeOptionsTest {

    @Test
    void a_server_turns_the_automatic_choice_into_sleeping_threads() {
        assertEquals(Spinning.AUTO, RuntimeOptions.defaults().spinning(), "a one-shot command keeps ONNX Runtime's");
        assertEquals(Spinning.SLEEP, RuntimeOptions.defaults().forServing().spinning());
        assertEquals(
                Spinning.SPIN,
                RuntimeOptions.defaults()
                        .withSpinning(Spinning.SPIN)
                        .forServing()
                        .spinning(),
                "an explicit spin is kept");
        assertEquals(
                4, RuntimeOptions.defaults().withIntraOpThreads(4).forServing().intraOpThreads());
    }

    @Test
    void the_settings_spell_it_auto_spin_or_sleep_and_a_typo_shows_a_correct_example() {
        assertEquals(Spinning.AUTO, Spinning.parse("auto"));
        assertEquals(Spinning.SPIN, Spinning.parse(" Spin "));
        assertEquals(Spinning.SLEEP, Spinning.parse("sleep"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Spinning.parse("nap"));
        assertTrue(e.getMessage().contains("e.g. 'sleep'"), e.getMessage());
    }
}
