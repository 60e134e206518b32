package dev.unmask.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Keep-alive durations as requests and {@code --keep-alive} write them, bounded so that no sum overflows. */
class KeepAliveTest {

    @Test
    void ollama_forms_parse() {
        assertEquals(Duration.ofMinutes(5), KeepAlive.parse("5m"));
        assertEquals(Duration.ofSeconds(30), KeepAlive.parse("30"));
        assertEquals(Duration.ofMillis(500), KeepAlive.parse("500ms"));
        assertEquals(Duration.ZERO, KeepAlive.parse("0"));
        assertEquals(KeepAlive.MAX, KeepAlive.parse("8760h"));
    }

    @Test
    void a_duration_beyond_a_year_is_refused_with_a_correct_example() {
        for (String huge : new String[] {"999999999999h", "8761h", "99999999999999999s"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KeepAlive.parse(huge));
            assertTrue(e.getMessage().contains("8760h") && e.getMessage().contains("-1"), e.getMessage());
        }
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> KeepAlive.parse("1000000000000000000000000000h"));
        assertTrue(e.getMessage().contains("not a duration"), e.getMessage());
    }

    @Test
    void any_negative_duration_is_the_one_forever_and_never_expires() {
        assertEquals(KeepAlive.FOREVER, KeepAlive.parse("-999999999999h"));
        assertTrue(KeepAlive.forever(KeepAlive.parse("-1")));
        assertFalse(KeepAlive.expired(KeepAlive.FOREVER, Long.MAX_VALUE));
        assertTrue(KeepAlive.expired(KeepAlive.MAX, Long.MAX_VALUE), "no overflow at the longest keep-alive");
        assertFalse(KeepAlive.expired(Duration.ofSeconds(1), 999_999_999));
    }
}
