package dev.unmask.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.engine.decode.DraftText;
import dev.unmask.testing.ReferencePackages;
import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** `unmask run`: an interactive session over standard input, on the real tiny-llada package. */
class RunCommandTest {

    final StringWriter out = new StringWriter();
    final StringWriter err = new StringWriter();

    int session(String input, String... args) {
        RunCommand run = new RunCommand();
        run.in = new ByteArrayInputStream(input.getBytes(StandardCharsets.UTF_8));
        CommandLine cli = new CommandLine(run).setExecutionExceptionHandler(new ExitCodes());
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        String[] all = new String[args.length + 2];
        all[0] = "--model";
        all[1] = ReferencePackages.tinyLlada().toString();
        System.arraycopy(args, 0, all, 2, args.length);
        return cli.execute(all);
    }

    @Test
    void answers_each_prompt_and_leaves_at_bye() {
        assertEquals(
                0,
                session(
                        "def add(a, b):\n\nimport os\n/bye\nnever read\n",
                        "--gen-length",
                        "16",
                        "--steps",
                        "8",
                        "--no-live"));
        assertEquals(2, err.toString().split("16 tokens in 8 steps", -1).length - 1, err.toString());
        assertEquals(
                4,
                out.toString().split(RunCommand.PROMPT, -1).length - 1,
                "a prompt per line read, the blank one included");
        assertFalse(out.toString().contains("\u001b["), "no terminal control codes without --live");
    }

    @Test
    void end_of_input_ends_the_session_cleanly() {
        assertEquals(0, session("import", "--gen-length", "8", "--steps", "8", "--no-live"));
        assertTrue(err.toString().contains("8 tokens in 8 steps"), err.toString());
    }

    @Test
    void live_view_redraws_the_canvas_in_place_until_no_mask_is_left() {
        assertEquals(
                0, session("class Stack:\n", "--gen-length", "16", "--steps", "16", "--block-length", "8", "--live"));
        String screen = out.toString();
        assertTrue(screen.contains(DraftText.MASK_GLYPH), "drafts show the masks still to resolve");
        assertTrue(screen.contains("\u001b[J"), "every redraw clears what the last draft showed");
        String afterLastClear = screen.substring(screen.lastIndexOf("\u001b[J"));
        assertFalse(afterLastClear.contains(DraftText.MASK_GLYPH), "the final text has no mask left");
    }

    @Test
    void slash_commands_toggle_chat_mode_and_reject_unknown_ones() {
        assertEquals(
                0, session("/chat\nhello\n/clear\n/nope\n/bye\n", "--gen-length", "8", "--steps", "8", "--no-live"));
        assertTrue(out.toString().contains("chat mode: on"));
        assertTrue(out.toString().contains("conversation cleared"));
        assertTrue(out.toString().contains("unknown command /nope"));
        assertTrue(err.toString().contains("8 tokens in 8 steps"), "the chat prompt was answered: " + err);
    }

    @Test
    void set_changes_the_next_answer_s_parameters_and_refuses_what_the_planner_refuses() {
        assertEquals(
                0,
                session(
                        "/set steps 4\n/show\nimport\n/set steps 1000\n/set steps many\n/set nope 1\n/set steps default\n"
                                + "/show\n/bye\n",
                        "--gen-length",
                        "8",
                        "--steps",
                        "8",
                        "--no-live"));
        String screen = out.toString();
        assertTrue(screen.contains("steps = 4"), screen);
        assertTrue(err.toString().contains("8 tokens in 4 steps"), "the answer used /set's steps: " + err);
        assertTrue(screen.contains("not set:"), "8 tokens cannot take 1000 steps: " + screen);
        assertTrue(screen.contains("'many' is not a number for steps: e.g. /set steps 32"), screen);
        assertTrue(screen.contains("no parameter 'nope'"), screen);
        assertTrue(screen.contains("set: {steps=4, length=8}"), "/show lists what is set: " + screen);
        assertTrue(screen.contains("set: {length=8}"), "default resets steps; --gen-length stays: " + screen);
    }

    @Test
    void a_prompt_argument_is_answered_once_without_a_session() {
        assertEquals(0, session("never read\n", "def add(a, b):", "--gen-length", "8", "--steps", "8"));
        assertFalse(out.toString().contains(RunCommand.PROMPT), "no prompt: " + out);
        assertFalse(out.toString().contains("\u001b["), "stdout is no terminal: no redraws");
        assertTrue(err.toString().contains("8 tokens in 8 steps"), err.toString());
    }

    @Test
    void counts_wrapped_lines_so_redraws_go_back_far_enough() {
        assertEquals(1, RunCommand.LiveCanvas.terminalLines("short", 80));
        assertEquals(2, RunCommand.LiveCanvas.terminalLines("x".repeat(81), 80));
        assertEquals(3, RunCommand.LiveCanvas.terminalLines("a\n\nb", 80));
    }
}
