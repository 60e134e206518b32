package dev.unmask.openai;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * The draft's per-position view on the wire: {@code "committed_at_step"} and {@code "tokens"}, one entry per position
 * of the region each, {@code null} for a mask.
 */
class DraftTokensTest {

    @Test
    void aDraftListsEveryPositionsTokenAndTheStepThatCommittedItWithNullsForMasks() {
        Draft d = new Draft(0, 1, "def\u2591", 1, Arrays.asList(1, 2, null), Arrays.asList("def", "", null));
        assertEquals(
                "{\"block\":0,\"step\":1,\"text\":\"def\u2591\",\"masked\":1,\"committed_at_step\":[1,2,null],"
                        + "\"tokens\":[\"def\",\"\",null]}",
                Json.write(d));
    }

    @Test
    void aDraftMadeWithoutTheViewIsWrittenAsBefore() {
        assertEquals("{\"block\":1,\"step\":2,\"text\":\"a\",\"masked\":0}", Json.write(new Draft(1, 2, "a", 0)));
    }

    @Test
    void theTwoListsCoverTheSamePositions() {
        assertThrows(
                IllegalArgumentException.class, () -> new Draft(0, 0, "a", 0, Arrays.asList(1, 1), Arrays.asList("a")));
    }
}
