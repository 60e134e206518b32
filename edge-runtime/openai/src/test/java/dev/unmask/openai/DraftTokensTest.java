package dev.unmask.openai;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The draft's per-position view on the wire: {@code "tokens": [{"text", "committed_at_step"}, ...]}. */
class DraftTokensTest {

    @Test
    void aDraftListsEveryPositionWithTheStepThatCommittedItAndNullsForMasks() {
        Draft d = new Draft(
                0, 2, "def\u2591", 1, List.of(new DraftToken("def", 0), new DraftToken("", 2), DraftToken.MASKED));
        assertEquals(
                "{\"block\":0,\"step\":2,\"text\":\"def\u2591\",\"masked\":1,\"tokens\":[{\"text\":\"def\","
                        + "\"committed_at_step\":0},{\"text\":\"\",\"committed_at_step\":2},"
                        + "{\"text\":null,\"committed_at_step\":null}]}",
                Json.write(d));
    }

    @Test
    void aDraftMadeWithoutTheViewIsWrittenAsBefore() {
        assertEquals("{\"block\":1,\"step\":2,\"text\":\"a\",\"masked\":0}", Json.write(new Draft(1, 2, "a", 0)));
    }

    @Test
    void aTokenIsCommittedOrMaskedNeverHalfOfEach() {
        assertThrows(IllegalArgumentException.class, () -> new DraftToken("x", null));
        assertThrows(IllegalArgumentException.class, () -> new DraftToken(null, 3));
    }
}
