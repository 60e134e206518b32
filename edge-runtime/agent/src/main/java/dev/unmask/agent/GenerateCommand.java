package dev.unmask.agent;

import dev.unmask.engine.Engine;
import dev.unmask.engine.Generation;
import dev.unmask.engine.decode.CanvasLayout;
import dev.unmask.engine.decode.DenoisingListener;
import dev.unmask.engine.decode.DenoisingRun;
import dev.unmask.engine.decode.TextStream;
import dev.unmask.engine.request.DecodingPlan;
import dev.unmask.engine.request.GenerationRequest;
import dev.unmask.engine.text.ChatMessage;
import java.io.InputStream;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
        name = "generate",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Continue a prompt, or answer it as a chat message with --chat.",
            "The text goes to stdout; progress and timings to stderr.",
            "Example: unmask generate \"def fibonacci(n):\" --gen-length 64 --steps 64"
        })
final class GenerateCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(
            index = "0",
            arity = "0..1",
            paramLabel = "<prompt>",
            description = "the text to continue (or the user's message with --chat); without it, standard input "
                    + "when it is piped (echo 'def f():' | unmask generate), trailing newlines dropped")
    String prompt;

    /** Where a piped prompt comes from; standard input except in tests. */
    InputStream in = System.in;

    @Option(names = "--chat", description = "render the prompt as a user message with the package's chat template")
    boolean chat;

    @Option(
            names = "--system",
            paramLabel = "<text>",
            description = "a system message before the user's (implies --chat)")
    String system;

    @Option(
            names = "--allow-special-tokens",
            description = "with --chat: read control tokens written in the messages (e.g. <|eot_id|>) as those tokens; "
                    + "by default a message's text is plain text, so it cannot open a turn of another role")
    boolean allowSpecialTokens;

    @Option(
            names = "--stream",
            negatable = true,
            defaultValue = "true",
            fallbackValue = "true",
            description = "write the text as it becomes final, step by step (default; not with --json); "
                    + "--no-stream writes it once at the end")
    boolean stream;

    @Mixin
    OutputArgs output;

    @Mixin
    ModelOptions model;

    @Mixin
    DecodingArgs decoding;

    @Override
    public Integer call() {
        output.applyLogLevel();
        if (prompt == null) {
            prompt = PipedPrompt.read(in, in == System.in && PipedPrompt.stdinIsTerminal(), spec);
        }
        try (Engine engine = model.open()) {
            output.check(engine);
            GenerationRequest.Prompt input;
            if (chat || system != null) {
                List<ChatMessage> messages = new ArrayList<>();
                if (system != null) {
                    messages.add(ChatMessage.system(system));
                }
                messages.add(ChatMessage.user(prompt));
                input = new GenerationRequest.Prompt.Chat(messages, allowSpecialTokens);
            } else {
                input = new GenerationRequest.Prompt.Continuation(prompt);
            }
            DecodingPlan plan = decoding.plan(engine, input);
            CanvasLayout layout = plan.layout();
            boolean streaming = stream && !output.json;
            PrintWriter out = spec.commandLine().getOut();
            TextStream text = new TextStream(engine.answerText(plan));
            DenoisingListener listener;
            if (streaming) {
                // the text itself shows the progress: a status line on stderr would break into it on a terminal
                listener = new DenoisingListener() {
                    @Override
                    public void onStep(StepEvent event) {
                        write(out, text.next(event.canvas()));
                    }
                };
            } else if (!output.quiet && System.console() != null) {
                listener = new Progress(
                        spec.commandLine().getErr(), engine.traits().maskId(), layout.genStart(), layout.genLength());
            } else {
                listener = DenoisingListener.NONE;
            }
            DenoisingRun run = engine.start(plan, listener);
            run.runToEnd(engine.model());
            if (listener instanceof Progress progress) {
                progress.done();
            }
            Generation g = engine.finish(run);
            if (streaming) {
                // the same bytes as without streaming: the answer, then a newline
                write(out, text.rest(g.text()));
                out.println();
                out.flush();
                if (!output.quiet) {
                    Output.summary(spec.commandLine().getErr(), g);
                }
            } else {
                output.report(spec, g, g.text(), engine);
            }
            return ExitCodes.OK;
        }
    }

    private static void write(PrintWriter out, String delta) {
        if (!delta.isEmpty()) {
            out.print(delta);
            out.flush();
        }
    }
}
