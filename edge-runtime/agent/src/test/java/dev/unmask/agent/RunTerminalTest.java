package dev.unmask.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.unmask.engine.decode.DraftText;
import dev.unmask.testing.ReferencePackages;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code unmask run} in a real pseudo-terminal: a tmux pane 110 columns wide (wider than the 80 the old view assumed),
 * driven by keys as a person types them, its screen and scrollback read back with {@code capture-pane}. The agent is
 * its own JVM on the test's class path, on the real tiny-llada package. Every wait polls the screen for what must
 * appear, with a generous bound: nothing here depends on how fast the machine is.
 */
class RunTerminalTest {

    private static final Duration WAIT = Duration.ofMinutes(3);
    private static final String SESSION = "unmask-run";

    /** A tmux server of this test's own (-L), so that no other tmux session is touched. */
    private final String socket = "unmask-test-" + ProcessHandle.current().pid();

    @TempDir
    Path tmp;

    @AfterEach
    void stopTmux() throws Exception {
        tmux(List.of("kill-server"));
    }

    @Test
    void the_line_editor_and_the_live_view_work_in_a_110_column_terminal() throws Exception {
        assumeTrue(onPath("tmux"), "tmux is not installed (apt-get install tmux)");
        Path store = tmp.resolve("store");
        Path exit = tmp.resolve("exit-code");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String command = String.join(
                " ",
                quote(java),
                "-Xmx512m",
                "-cp",
                quote(classPath()),
                "dev.unmask.agent.Unmask",
                "run",
                "--model",
                quote(ReferencePackages.tinyLlada().toString()),
                "--store",
                quote(store.toString()),
                "--threads",
                "1",
                "--gen-length",
                "128",
                "--block-length",
                "32",
                "--steps",
                "128");
        // the pane stays after the program ends, so that its exit code and last screen can be read
        tmux(List.of(
                "new-session",
                "-d",
                "-s",
                SESSION,
                "-x",
                "110",
                "-y",
                "30",
                "bash --norc --noprofile -c "
                        + quote(command + "; echo $? > " + quote(exit.toString()) + "; sleep 600")));
        awaitScreen(s -> s.contains("loaded;") && s.endsWith(RunCommand.PROMPT.strip()), "the first prompt");

        // arrow keys move in the line instead of reaching the model as ^[[D: "import sys" becomes "import osys";
        // /set is honoured; the live view redraws in place at the pane's real 110 columns (no COLUMNS exported)
        keys("/set steps 8", "Enter");
        awaitScreen(s -> s.contains("steps = 8"), "/set's answer");
        keys("import sys", "Left", "Left", "Left", "o");
        keys("Enter");
        String answered = awaitScreen(s -> s.contains("128 tokens in 8 steps"), "an answer in the 8 steps set");
        String scrollback = capture(true);
        assertFalse(
                scrollback.contains(DraftText.MASK_GLYPH),
                "no draft is left on the screen or in the scrollback:\n" + scrollback);
        assertEquals(
                1,
                scrollback
                        .lines()
                        .filter(l -> l.equals(RunCommand.PROMPT + "import osys"))
                        .count(),
                "the prompt line is kept once, not erased or repeated:\n" + scrollback);
        assertFalse(scrollback.contains("^["), "no raw escape sequence was echoed:\n" + scrollback);
        assertTrue(answered.contains("\n" + RunCommand.PROMPT.strip()), "the prompt comes back after the answer");

        // a resize while it denoises: drawn again at the new width; Ctrl-C then cancels the answer, not the program.
        // (Not asserted here: a frame drawn in the instant the terminal reflows may leave rows above the new one.)
        keys("/set steps 128", "Enter");
        awaitScreen(s -> s.contains("steps = 128"), "/set's answer");
        keys("class Stack:", "Enter");
        awaitScreen(s -> s.contains("class Stack:") && s.contains(DraftText.MASK_GLYPH), "a first draft");
        tmux(List.of("resize-window", "-t", SESSION, "-x", "70", "-y", "30"));
        awaitScreen(s -> lastLines(s, 12).contains(DraftText.MASK_GLYPH), "a draft after the resize");
        keys("C-c");
        awaitScreen(s -> s.contains("(cancelled after") && s.endsWith(RunCommand.PROMPT.strip()), "the prompt back");

        keys("C-d");
        awaitFile(exit);
        assertEquals("0", Files.readString(exit).strip(), "Ctrl-D leaves with exit code 0");
        List<String> history = Files.readAllLines(store.resolve(RunCommand.HISTORY_FILE));
        assertTrue(
                history.stream().anyMatch(l -> l.endsWith("import osys")),
                "the edited line is in the history, in the store folder: " + history);
    }

    private void keys(String... keys) throws Exception {
        List<String> args = new ArrayList<>(List.of("send-keys", "-t", SESSION));
        args.addAll(List.of(keys));
        tmux(args);
    }

    private String awaitScreen(Predicate<String> shows, String what) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        String screen = "";
        while (System.nanoTime() < deadline) {
            screen = capture(false).strip();
            if (shows.test(screen)) {
                return screen;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("the terminal never showed " + what + "; it shows:\n" + screen);
    }

    private static void awaitFile(Path file) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!(Files.exists(file) && !Files.readString(file).isBlank())) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("unmask run did not end after Ctrl-D");
            }
            Thread.sleep(100);
        }
    }

    private static String lastLines(String screen, int n) {
        List<String> lines = screen.lines().toList();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - n), lines.size()));
    }

    /** The pane's text: the visible screen, or all of its scrollback too. */
    private String capture(boolean scrollback) throws Exception {
        List<String> args = new ArrayList<>(List.of("capture-pane", "-p", "-t", SESSION));
        if (scrollback) {
            args.addAll(List.of("-S", "-"));
        }
        return tmux(args);
    }

    private String tmux(List<String> args) throws Exception {
        List<String> command = new ArrayList<>(List.of("tmux", "-L", socket));
        command.addAll(args);
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
        }
        return output;
    }

    /** The test's own class path (surefire names it apart when it runs the tests from a manifest-only jar). */
    private static String classPath() {
        String surefire = System.getProperty("surefire.test.class.path");
        return surefire != null && !surefire.isBlank() ? surefire : System.getProperty("java.class.path");
    }

    private static boolean onPath(String program) {
        try {
            return new ProcessBuilder(program, "-V").start().waitFor(10, TimeUnit.SECONDS);
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    private static String quote(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }
}
