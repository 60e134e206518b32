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
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
        name = "run",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Talk to a model interactively, watching the canvas denoise.",
            "Type a prompt and see the masks (" + DraftText.MASK_GLYPH + ") turn into text block by block.",
            "In the session: /chat toggles chat mode (the package's chat template, with the conversation kept),",
            "/clear forgets the conversation, /help shows this, /bye (or end of input) leaves.",
            "Examples: unmask run tiny-llada --gen-length 64 --steps 32   (a model from 'unmask pull')",
            "          unmask run --model models/tiny-llada/package"
        })
final class RunCommand implements Callable<Integer> {

    static final String PROMPT = ">>> ";

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Parameters(
            index = "0",
            arity = "0..1",
            paramLabel = "<model>",
            description = "a model installed with 'unmask pull', or a package folder (same as --model)")
    String modelName;

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
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        boolean redraw = live != null ? live : System.console() != null;
        List<ChatMessage> conversation = new ArrayList<>();
        if (modelName != null && model.model != null && !modelName.equals(model.model)) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(),
                    "Name the model once: 'unmask run " + modelName + "' or 'unmask run --model " + model.model
                            + "', not both");
        }
        try (Engine engine = model.open(model.packageDir(modelName != null ? modelName : model.model));
                BufferedReader lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            // planned once up front, so that a bad option is refused before the first prompt
            DecodingPlan shape = decoding.plan(engine, new GenerationRequest.Prompt.Continuation(""));
            err.printf(
                    "unmask: %s loaded; %d tokens per answer in %d steps. /help for commands, /bye to leave.%n",
                    engine.manifest().name(), shape.length(), shape.steps());
            err.flush();
            while (true) {
                out.print(PROMPT);
                out.flush();
                String line = lines.readLine();
                if (line == null || line.strip().equals("/bye")) {
                    out.println();
                    out.flush();
                    return ExitCodes.OK;
                }
                String input = line.strip();
                if (input.isEmpty()) {
                    continue;
                }
                switch (input) {
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
                    default -> {
                        if (input.startsWith("/")) {
                            out.println("unknown command " + input + "; try /help, /chat, /clear or /bye");
                        } else {
                            answer(engine, input, conversation, redraw, out, err);
                        }
                    }
                }
                out.flush();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Could not read the prompt from standard input", e);
        }
    }

    private void answer(
            Engine engine,
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
        LiveCanvas view = new LiveCanvas(out, engine.answerText(plan), redraw);
        DenoisingRun run = engine.start(plan, view);
        run.runToEnd(engine.model());
        Generation g = engine.finish(run);
        view.finish(g.text());
        if (chat) {
            conversation.add(ChatMessage.assistant(g.text()));
        }
        Output.summary(err, g);
    }

    /**
     * Redraws the generated region after every step, in place: the cursor goes back to where the region started
     * and the screen below it is cleared (ANSI CSI sequences), so the masks turn into text where they stand.
     */
    static final class LiveCanvas implements DenoisingListener {
        private static final String DIM = "\u001b[2m";
        private static final String RESET = "\u001b[0m";

        private final PrintWriter out;
        private final AnswerText text;
        private final boolean redraw;
        private final int columns;
        private int linesShown; // terminal lines the last draft took, 0 before the first

        LiveCanvas(PrintWriter out, AnswerText text, boolean redraw) {
            this.out = out;
            this.text = text;
            this.redraw = redraw;
            this.columns = terminalColumns();
        }

        @Override
        public void onStep(StepEvent event) {
            if (!redraw) {
                return;
            }
            DraftText draft = text.draft(event.canvas());
            show(draft.text().replace(DraftText.MASK_GLYPH, DIM + DraftText.MASK_GLYPH + RESET), draft.text());
        }

        /** Replaces the last draft with the final text, or just prints it when nothing was drawn. */
        void finish(String text) {
            show(text, text);
            out.println();
            out.flush();
            linesShown = 0;
        }

        private void show(String styled, String plain) {
            if (linesShown > 0) {
                out.print("\r");
                if (linesShown > 1) {
                    out.print("\u001b[" + (linesShown - 1) + "A");
                }
                out.print("\u001b[J");
            }
            out.print(styled);
            out.flush();
            linesShown = terminalLines(plain, columns);
        }

        /** Lines {@code text} takes on a terminal {@code columns} wide (long lines wrap). */
        static int terminalLines(String text, int columns) {
            int lines = 0;
            for (String line : text.split("\n", -1)) {
                lines += Math.max(1, (line.codePointCount(0, line.length()) + columns - 1) / columns);
            }
            return lines;
        }

        private static int terminalColumns() {
            try {
                return Math.max(20, Integer.parseInt(System.getenv().getOrDefault("COLUMNS", "80")));
            } catch (NumberFormatException e) {
                return 80;
            }
        }
    }
}
