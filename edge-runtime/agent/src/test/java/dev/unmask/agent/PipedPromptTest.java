package dev.unmask.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.testing.ReferencePackages;
import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code echo 'def f():' | unmask generate}: the prompt from standard input when no prompt argument is given. */
class PipedPromptTest {

    final StringWriter out = new StringWriter();
    final StringWriter err = new StringWriter();

    int generate(String stdin, String... args) {
        GenerateCommand g = new GenerateCommand();
        g.in = new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8));
        CommandLine cli = new CommandLine(g).setExecutionExceptionHandler(new ExitCodes());
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        return cli.execute(args);
    }

    /** The answer's text and token counts (not its timings). */
    String json(String stdin, String... prompt) {
        out.getBuffer().setLength(0);
        String[] args = new String[prompt.length + 9];
        System.arraycopy(prompt, 0, args, 0, prompt.length);
        System.arraycopy(
                new String[] {
                    "--model",
                    ReferencePackages.tinyLlada().toString(),
                    "--gen-length",
                    "8",
                    "--steps",
                    "8",
                    "--json",
                    "-q",
                    "--no-early-exit"
                },
                0,
                args,
                prompt.length,
                9);
        assertEquals(0, generate(stdin, args), err.toString());
        try {
            com.fasterxml.jackson.databind.JsonNode answer =
                    new com.fasterxml.jackson.databind.ObjectMapper().readTree(out.toString());
            return answer.get("text").asText() + " | prompt_tokens " + answer.get("prompt_tokens")
                    + " | completion_tokens " + answer.get("completion_tokens");
        } catch (java.io.IOException e) {
            throw new AssertionError(out.toString(), e);
        }
    }

    @Test
    void a_piped_prompt_is_the_same_request_as_the_argument_without_echo_s_newline() {
        String piped = json("def add(a, b):\n");
        String argument = json("", "def add(a, b):");
        assertTrue(piped.endsWith("completion_tokens 8"), piped);
        assertEquals(argument, piped, "the same prompt tokens and the same text");
    }

    @Test
    void an_empty_pipe_is_refused_with_an_example() {
        assertEquals(
                ExitCodes.USAGE,
                generate("\n", "--model", ReferencePackages.tinyLlada().toString(), "--gen-length", "8"));
        assertTrue(
                err.toString().contains("standard input is empty")
                        && err.toString().contains("| unmask generate"),
                err.toString());
    }
}
