package dev.unmask.agent;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.jline.terminal.spi.SystemStream;
import org.jline.terminal.spi.TerminalProvider;
import picocli.CommandLine;

/** A prompt read from standard input, for commands whose prompt argument is left out ({@code cat f.py | unmask ...}). */
final class PipedPrompt {

    /** A piped prompt larger than this is refused: the longest context of a package is far below it. */
    static final int MAX_BYTES = 16 << 20;

    private PipedPrompt() {}

    /**
     * Whether standard input is a terminal (then nothing is piped), asked of JLine's JNI provider ({@code isatty}),
     * else its exec provider ({@code test -t 0}); {@code System.console()} cannot say, as it is null as soon as
     * stdout is redirected ({@code unmask generate > out.txt}).
     */
    static boolean stdinIsTerminal() {
        for (String provider : List.of("jni", "exec")) {
            try {
                return TerminalProvider.load(provider).isSystemStream(SystemStream.Input);
            } catch (IOException | RuntimeException | LinkageError e) {
                // this provider is not available here: the next
            }
        }
        return false;
    }

    /**
     * All of {@code in}, as UTF-8, without its trailing newlines (as a shell's {@code $(...)} drops them: the newline
     * {@code echo} adds is not part of the prompt).
     *
     * @param terminal standard input is the terminal: nothing is piped, so the prompt is missing (reading would wait
     *                 for the user to type it and press Ctrl-D, which nobody expects)
     */
    static String read(InputStream in, boolean terminal, CommandLine.Model.CommandSpec spec) {
        String name = spec.name();
        if (terminal) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(),
                    "Missing the prompt: unmask " + name + " \"def fibonacci(n):\", or pipe it: "
                            + "echo 'def fibonacci(n):' | unmask " + name);
        }
        byte[] bytes;
        try {
            bytes = in.readNBytes(MAX_BYTES + 1);
        } catch (IOException e) {
            throw new UncheckedIOException("Could not read the prompt from standard input", e);
        }
        if (bytes.length > MAX_BYTES) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(),
                    "The prompt on standard input is over " + (MAX_BYTES >> 20) + " MiB: pipe a shorter text");
        }
        String text = new String(bytes, StandardCharsets.UTF_8).replaceAll("[\\r\\n]+\\z", "");
        if (text.isEmpty()) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(),
                    "The prompt on standard input is empty: unmask " + name + " \"def fibonacci(n):\", or "
                            + "echo 'def fibonacci(n):' | unmask " + name);
        }
        return text;
    }
}
