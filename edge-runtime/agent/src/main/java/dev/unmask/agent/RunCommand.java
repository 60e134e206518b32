package dev.unmask.agent;

import dev.unmask.engine.Engine;
import dev.unmask.engine.Generation;
import dev.unmask.engine.decode.AnswerText;
import dev.unmask.engine.decode.DenoisingListener;
import dev.unmask.engine.decode.DenoisingRun;
import dev.unmask.engine.decode.DraftText;
import dev.unmask.engine.request.DecodingPlan;
import dev.unmask.engine.request.GenerationRequest;
import dev.unmask.engine.text.ChatMessage;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.jline.reader.EndOfFileException;
import org.jline.reader.LineReader;
import org.jline.reader.LineReaderBuilder;
import org.jline.reader.UserInterruptException;
import org.jline.terminal.Attributes;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;
import org.jline.utils.AttributedString;
import org.jline.utils.AttributedStringBuilder;
import org.jline.utils.AttributedStyle;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
        name = "run",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Talk to a model interactively, watching the canvas denoise; with a prompt,",
            "print one answer and exit (as 'ollama run'). The masks (" + DraftText.MASK_GLYPH + ") turn into text",
            "block by block.",
            "In a terminal the prompt is a line editor with history (kept in the store",
            "folder) and arrow keys; Ctrl-C cancels the answer being written (at the",
            "prompt: clears the line), Ctrl-D leaves.",
            "In the session: /set <param> <value> changes a diffusion parameter",
            "(/set steps 8; /set steps default resets it), /show shows them, /chat",
            "toggles chat mode (the package's chat template, with the conversation",
            "kept), /clear forgets the conversation, /help shows this, /bye leaves.",
            "Examples: unmask run tiny-llada --gen-length 64 --steps 32",
            "          unmask run tiny-llada \"def fibonacci(n):\"   (one answer)",
            "          unmask run --model models/tiny-llada/package \"import os\""
        })
final class RunCommand implements Callable<Integer> {

    static final String PROMPT = ">>> ";

    /** The line editor's history, in the store folder (a dot file: the store lists folders with a model name). */
    static final String HISTORY_FILE = ".run-history";

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Parameters(
            index = "0",
            arity = "0..1",
            paramLabel = "<model>",
            description = "a model installed with 'unmask pull', or a package folder (same as --model)")
    String modelName;

    @CommandLine.Parameters(
            index = "1",
            arity = "0..1",
            paramLabel = "<prompt>",
            description = "answer this one prompt, print the answer on stdout and exit (as 'ollama run')")
    String oneShot;

    @Option(names = "--chat", description = "start in chat mode")
    boolean chat;

    @Option(
            names = "--live",
            negatable = true,
            paramLabel = "",
            description = "redraw the canvas after every step (default: on when the output is a terminal)")
    Boolean live;

    @Mixin
    ModelOptions model;

    @Mixin
    DecodingArgs decoding;

    /** Where the prompts come from; standard input except in tests. */
    InputStream in = System.in;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        if (model.model != null && modelName != null && oneShot == null) {
            oneShot = modelName; // 'unmask run --model <dir> "<prompt>"': the one argument is the prompt
            modelName = null;
        }
        if (modelName != null && model.model != null) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(),
                    "Name the model once: 'unmask run " + modelName + "' or 'unmask run --model " + model.model
                            + "', not both");
        }
        // a terminal on both ends gets the line editor; a pipe or a test's stream is read line by line
        boolean terminal = in == System.in && System.console() != null;
        Path dir = model.packageDir(modelName != null ? modelName : model.model);
        if (oneShot != null) {
            return oneShot(dir, err);
        }
        try (Engine engine = model.open(dir);
                Session session = terminal ? TerminalSession.open(historyFile()) : new StreamSession(in, spec)) {
            // planned once up front, so that a bad option is refused before the first prompt
            DecodingPlan shape = decoding.plan(engine, new GenerationRequest.Prompt.Continuation(""));
            err.printf(
                    "unmask: %s loaded; %d tokens per answer in %d steps. /help for commands, /bye or Ctrl-D to leave.%n",
                    engine.manifest().name(), shape.length(), shape.steps());
            err.flush();
            return converse(engine, session, live != null ? live : terminal, err);
        } catch (IOException e) {
            throw new UncheckedIOException("Could not open the terminal: " + e.getMessage(), e);
        }
    }

    /** {@code unmask run <model> "<prompt>"}: the answer on stdout (live only when stdout is a terminal). */
    private int oneShot(Path dir, PrintWriter err) {
        PrintWriter out = spec.commandLine().getOut();
        try (Engine engine = model.open(dir)) {
            GenerationRequest.Prompt prompt = chat
                    ? new GenerationRequest.Prompt.Chat(List.of(ChatMessage.user(oneShot)))
                    : new GenerationRequest.Prompt.Continuation(oneShot);
            DecodingPlan plan = decoding.plan(engine, prompt);
            boolean redraw = live != null ? live : System.console() != null;
            LiveCanvas view = new LiveCanvas(out, engine.answerText(plan), redraw, ScreenSize::unknown);
            DenoisingRun run = engine.start(plan, view);
            run.runToEnd(engine.model());
            Generation g = engine.finish(run);
            view.finish(g.text());
            Output.summary(err, g);
            return ExitCodes.OK;
        }
    }

    private int converse(Engine engine, Session session, boolean redraw, PrintWriter err) {
        List<ChatMessage> conversation = new ArrayList<>();
        PrintWriter out = session.writer();
        while (true) {
            String line;
            try {
                line = session.readLine(PROMPT);
            } catch (UserInterruptException e) {
                continue; // Ctrl-C at the prompt: the line is dropped, the session goes on
            } catch (EndOfFileException e) {
                line = null;
            }
            if (line == null || line.strip().equals("/bye")) {
                out.println();
                out.flush();
                return ExitCodes.OK;
            }
            String input = line.strip();
            if (input.isEmpty()) {
                continue;
            }
            String word = input.split("\\s+", 2)[0];
            switch (word) {
                case "/help" -> spec.commandLine().usage(out);
                case "/chat" -> {
                    chat = !chat;
                    out.println(
                            chat
                                    ? "chat mode: on (the package's chat template)"
                                    : "chat mode: off (plain continuation)");
                }
                case "/clear" -> {
                    conversation.clear();
                    out.println("conversation cleared");
                }
                case "/set" -> set(engine, input, out);
                case "/show" -> show(engine, out);
                default -> {
                    if (input.startsWith("/")) {
                        out.println("unknown command " + word + "; try /help, /set, /show, /chat, /clear or /bye");
                    } else {
                        answer(engine, session, input, conversation, redraw, out, err);
                    }
                }
            }
            out.flush();
        }
    }

    /** {@code /set <param> <value>}: kept only when the planner accepts the request it makes. */
    private void set(Engine engine, String input, PrintWriter out) {
        String[] words = input.split("\\s+");
        if (words.length != 3) {
            out.println("usage: /set <param> <value>, e.g. /set steps 8 or /set steps default; params: "
                    + RunSettings.names());
            return;
        }
        try {
            RunSettings.Param p = RunSettings.param(words[1]);
            Object before = p.get().apply(decoding);
            RunSettings.set(decoding, p, words[2]);
            try {
                decoding.plan(engine, new GenerationRequest.Prompt.Continuation(""));
            } catch (IllegalArgumentException e) {
                p.set().accept(decoding, before == null ? null : String.valueOf(before));
                throw e;
            }
            out.println(p.name() + " = " + (p.get().apply(decoding) == null ? "the package's default" : words[2]));
        } catch (IllegalArgumentException e) {
            out.println("not set: " + e.getMessage());
        }
    }

    /** {@code /show}: what the next answer will be planned with. */
    private void show(Engine engine, PrintWriter out) {
        DecodingPlan plan = decoding.plan(engine, new GenerationRequest.Prompt.Continuation(""));
        out.printf(
                "model %s; chat %s; %d tokens, blocks of %d, %d steps, temperature %s, seed %d%n",
                engine.manifest().name(),
                chat ? "on" : "off",
                plan.length(),
                plan.blockLength(),
                plan.steps(),
                plan.options().temperature(),
                plan.options().seed());
        Map<String, Object> given = RunSettings.given(decoding);
        out.println(given.isEmpty() ? "set: nothing (the package's defaults)" : "set: " + given);
    }

    private void answer(
            Engine engine,
            Session session,
            String input,
            List<ChatMessage> conversation,
            boolean redraw,
            PrintWriter out,
            PrintWriter err) {
        GenerationRequest.Prompt prompt;
        if (chat) {
            conversation.add(ChatMessage.user(input));
            prompt = new GenerationRequest.Prompt.Chat(conversation);
        } else {
            prompt = new GenerationRequest.Prompt.Continuation(input);
        }
        DecodingPlan plan = decoding.plan(engine, prompt);
        LiveCanvas view = new LiveCanvas(out, engine.answerText(plan), redraw, session::size);
        DenoisingRun run = engine.start(plan, view);
        AtomicBoolean cancelled = new AtomicBoolean();
        try (Session.Answering answering = session.answering(() -> cancelled.set(true), view::resized)) {
            while (!run.finished() && !cancelled.get()) {
                engine.step(List.of(run)); // one forward pass: Ctrl-C is seen between two of them
            }
        }
        if (cancelled.get()) {
            view.cancel();
            out.println("(cancelled after " + run.steps() + " steps)");
            out.flush();
            if (chat) {
                conversation.remove(conversation.size() - 1); // the question goes with its unfinished answer
            }
            return;
        }
        Generation g = engine.finish(run);
        view.finish(g.text());
        if (chat) {
            conversation.add(ChatMessage.assistant(g.text()));
        }
        Output.summary(err, g);
    }

    private Path historyFile() {
        return model.store.open().root().resolve(HISTORY_FILE);
    }

    /** Columns and rows of the screen; rows unbounded when unknown (a pipe: nothing is redrawn off screen). */
    record ScreenSize(int columns, int rows) {
        static ScreenSize unknown() {
            return new ScreenSize(80, Integer.MAX_VALUE);
        }
    }

    /** Where prompts come from and answers go: the terminal's line editor, or a stream read line by line. */
    interface Session extends AutoCloseable {
        /**
         * The next line; null at the end of input.
         *
         * @throws UserInterruptException Ctrl-C at the prompt
         * @throws EndOfFileException     Ctrl-D
         */
        String readLine(String prompt);

        PrintWriter writer();

        ScreenSize size();

        /** While an answer is written: {@code cancel} on Ctrl-C, {@code resized} when the window changes size. */
        Answering answering(Runnable cancel, Runnable resized);

        @Override
        void close() throws IOException;

        interface Answering extends AutoCloseable {
            @Override
            void close();
        }
    }

    /** A pipe or a test's input: one prompt per line, the prompt echoed to {@code out}. */
    static final class StreamSession implements Session {
        private final BufferedReader lines;
        private final PrintWriter out;

        StreamSession(InputStream in, CommandLine.Model.CommandSpec spec) {
            this.lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            this.out = spec.commandLine().getOut();
        }

        @Override
        public String readLine(String prompt) {
            out.print(prompt);
            out.flush();
            try {
                return lines.readLine();
            } catch (IOException e) {
                throw new UncheckedIOException("Could not read the prompt from standard input", e);
            }
        }

        @Override
        public PrintWriter writer() {
            return out;
        }

        @Override
        public ScreenSize size() {
            return ScreenSize.unknown();
        }

        @Override
        public Answering answering(Runnable cancel, Runnable resized) {
            return () -> {};
        }

        @Override
        public void close() throws IOException {
            lines.close();
        }
    }

    /**
     * The real terminal through JLine: its line editor (history, arrow keys, Ctrl-C, Ctrl-D), its size as the
     * terminal reports it (not {@code COLUMNS}, which bash does not export), and its signals while an answer runs.
     */
    static final class TerminalSession implements Session {
        private final Terminal terminal;
        private final LineReader reader;

        private TerminalSession(Terminal terminal, LineReader reader) {
            this.terminal = terminal;
            this.reader = reader;
        }

        static TerminalSession open(Path history) throws IOException {
            Terminal terminal = TerminalBuilder.builder().system(true).build();
            LineReader reader = LineReaderBuilder.builder()
                    .appName("unmask")
                    .terminal(terminal)
                    .variable(LineReader.HISTORY_FILE, history)
                    // a prompt is text for the model: '!' and '\' are not history expansions or escapes
                    .option(LineReader.Option.DISABLE_EVENT_EXPANSION, true)
                    .build();
            return new TerminalSession(terminal, reader);
        }

        @Override
        public String readLine(String prompt) {
            return reader.readLine(prompt);
        }

        @Override
        public PrintWriter writer() {
            return terminal.writer();
        }

        @Override
        public ScreenSize size() {
            org.jline.terminal.Size s = terminal.getSize();
            // a terminal that cannot say (0 x 0) is drawn as the classic 80 x 24
            return new ScreenSize(s.getColumns() > 0 ? s.getColumns() : 80, s.getRows() > 0 ? s.getRows() : 24);
        }

        @Override
        public Answering answering(Runnable cancel, Runnable resized) {
            Terminal.SignalHandler previousInt = terminal.handle(Terminal.Signal.INT, s -> cancel.run());
            Terminal.SignalHandler previousWinch = terminal.handle(Terminal.Signal.WINCH, s -> resized.run());
            // keys typed while it writes are neither echoed into the canvas nor lost: the next prompt reads them
            Attributes attributes = terminal.getAttributes();
            Attributes quiet = new Attributes(attributes);
            quiet.setLocalFlag(Attributes.LocalFlag.ECHO, false);
            quiet.setLocalFlag(Attributes.LocalFlag.ICANON, false);
            terminal.setAttributes(quiet);
            return () -> {
                terminal.setAttributes(attributes);
                terminal.handle(Terminal.Signal.INT, previousInt);
                terminal.handle(Terminal.Signal.WINCH, previousWinch);
            };
        }

        @Override
        public void close() throws IOException {
            try {
                reader.getHistory().save();
            } finally {
                terminal.close();
            }
        }
    }

    /**
     * Redraws the generated region after every step, in place: the cursor goes back to where the region started and
     * the screen below it is cleared (ANSI CSI sequences), so the masks turn into text where they stand. A draft is
     * cut into rows of the screen's width and at most the screen's height less one is drawn: the cursor cannot go
     * back above the top of the screen, so a taller frame would leave its top in the scrollback, once per step.
     */
    static final class LiveCanvas implements DenoisingListener {
        private static final AttributedStyle MASK_STYLE = AttributedStyle.DEFAULT.faint();

        private final PrintWriter out;
        private final AnswerText text;
        private final boolean redraw;
        private final Supplier<ScreenSize> screen;
        private List<Integer> rowWidths = List.of(); // columns of each row the last frame drew, empty before the first
        private String lastDraft; // to draw again after a resize

        LiveCanvas(PrintWriter out, AnswerText text, boolean redraw, Supplier<ScreenSize> screen) {
            this.out = out;
            this.text = text;
            this.redraw = redraw;
            this.screen = screen;
        }

        @Override
        public synchronized void onStep(StepEvent event) {
            if (!redraw) {
                return;
            }
            lastDraft = text.draft(event.canvas()).text();
            ScreenSize size = screen.get();
            erase(size);
            draw(lastDraft, size);
        }

        /** SIGWINCH: the last draft again, cut to the new width. */
        synchronized void resized() {
            if (!redraw || lastDraft == null) {
                return;
            }
            ScreenSize size = screen.get();
            erase(size);
            draw(lastDraft, size);
        }

        /**
         * Replaces the last draft with the final text, printed whole for the terminal to wrap (it may scroll into the
         * scrollback: that is the answer, kept once), or just prints it.
         */
        synchronized void finish(String finalText) {
            erase(screen.get());
            out.print(finalText);
            out.println();
            out.flush();
            rowWidths = List.of();
            lastDraft = null;
        }

        /** Ctrl-C: the unfinished draft is taken off the screen. */
        synchronized void cancel() {
            erase(screen.get());
            out.flush();
            rowWidths = List.of();
            lastDraft = null;
        }

        /**
         * Back to the first row of the last frame, clearing to the end of the screen. After a resize the terminal has
         * re-wrapped each drawn row to the new width (tmux, VTE, iTerm and Windows Terminal do), so a row of w columns
         * now takes ceil(w / columns) rows.
         */
        private void erase(ScreenSize size) {
            if (rowWidths.isEmpty()) {
                return;
            }
            int up = -1;
            for (int w : rowWidths) {
                up += Math.max(1, (w + size.columns() - 1) / size.columns());
            }
            up = Math.min(up, size.rows() - 1);
            out.print("\r");
            if (up > 0) {
                out.print("\u001b[" + up + "A");
            }
            out.print("\u001b[J");
        }

        private void draw(String draft, ScreenSize size) {
            List<AttributedString> rows = rows(draft, size.columns());
            int window = Math.max(1, size.rows() - 1);
            int from = 0;
            if (rows.size() > window) { // from the first row still masked: the rows above it are final
                int firstMasked = 0;
                while (firstMasked < rows.size() - 1
                        && !rows.get(firstMasked).toString().contains(DraftText.MASK_GLYPH)) {
                    firstMasked++;
                }
                from = Math.min(firstMasked, rows.size() - window);
            }
            List<AttributedString> shown = rows.subList(from, Math.min(rows.size(), from + window));
            List<Integer> widths = new ArrayList<>();
            for (int i = 0; i < shown.size(); i++) {
                if (i > 0) {
                    out.print("\n");
                }
                AttributedString row = shown.get(i);
                out.print(row.toAnsi());
                widths.add(row.columnLength());
            }
            out.flush();
            rowWidths = List.copyOf(widths);
        }

        /** {@code draft} cut into screen rows: at its newlines and wherever a line reaches {@code columns}. */
        static List<AttributedString> rows(String draft, int columns) {
            AttributedStringBuilder b = new AttributedStringBuilder();
            int i = 0;
            while (i < draft.length()) {
                int mask = draft.indexOf(DraftText.MASK_GLYPH, i);
                if (mask < 0) {
                    b.append(draft.substring(i));
                    break;
                }
                b.append(draft.substring(i, mask));
                b.styled(MASK_STYLE, DraftText.MASK_GLYPH);
                i = mask + DraftText.MASK_GLYPH.length();
            }
            return b.toAttributedString().columnSplitLength(Math.max(1, columns));
        }

        /** Lines {@code text} takes on a terminal {@code columns} wide (long lines wrap). */
        static int terminalLines(String text, int columns) {
            return rows(text, columns).size();
        }
    }
}
