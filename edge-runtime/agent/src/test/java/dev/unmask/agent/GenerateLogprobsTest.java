package dev.unmask.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unmask.testing.ReferencePackages;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code unmask generate --json --logprobs k}: the API's per-token log-probabilities on the command line. */
class GenerateLogprobsTest {

    final StringWriter out = new StringWriter();
    final StringWriter err = new StringWriter();

    int unmask(String... args) {
        CommandLine cli = Unmask.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        return cli.execute(args);
    }

    @Test
    void jsonWithLogprobsHasOneEntryPerTokenEachTheTopCandidateUnderGreedy() throws Exception {
        int exit = unmask(
                "generate",
                "def add(a, b):",
                "--model",
                ReferencePackages.tinyLlada().toString(),
                "--gen-length",
                "16",
                "--block-length",
                "8",
                "--threads",
                "1",
                "-q",
                "--json",
                "--logprobs",
                "2");
        assertEquals(ExitCodes.OK, exit, err.toString());
        JsonNode answer = new ObjectMapper().readTree(out.toString());
        JsonNode logprobs = answer.get("logprobs");
        assertEquals(answer.get("completion_tokens").asInt(), logprobs.size(), answer.toString());
        StringBuilder tokens = new StringBuilder();
        for (JsonNode t : logprobs) {
            double lp = t.get("logprob").asDouble();
            assertTrue(Double.isFinite(lp) && lp <= 0, t.toString());
            assertEquals(2, t.get("top_logprobs").size(), t.toString());
            assertEquals(t.get("token"), t.at("/top_logprobs/0/token"), "greedy commits the most likely token");
            tokens.append(t.get("token").asText());
        }
        assertEquals(answer.get("text").asText(), tokens.toString());
    }

    @Test
    void logprobsWithoutJsonOrBeyondTheHeadAreRefusedSayingWhatToSend() {
        String tiny = ReferencePackages.tinyLlada().toString();
        assertNotEquals(ExitCodes.OK, unmask("generate", "x", "--model", tiny, "--logprobs", "2"));
        assertTrue(err.toString().contains("add --json"), err.toString());
        err.getBuffer().setLength(0);
        assertNotEquals(ExitCodes.OK, unmask("generate", "x", "--model", tiny, "--json", "--logprobs", "99"));
        assertTrue(err.toString().contains("use 0 to"), err.toString());
    }
}
