package dev.unmask.agent;

import dev.unmask.engine.Engine;
import dev.unmask.engine.Generation;
import dev.unmask.openai.GenerationParams;
import dev.unmask.openai.Json;
import dev.unmask.openai.Logprobs;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;

/** {@code --json} and {@code -q}: how the commands that print one generation report it. */
final class OutputArgs {

    @Option(names = "--json", description = "print one JSON object: text, finish_reason, tokens, steps, timings")
    boolean json;

    @Option(
            names = {"-q", "--quiet"},
            description = "no load line, progress or timings on stderr")
    boolean quiet;

    @Option(
            names = "--logprobs",
            paramLabel = "<k>",
            description = "with --json: each token's log-probability at the step that committed it, and the k most "
                    + "likely tokens there (0 to the package's top_k, at most 20); the API's chat logprobs shape")
    Integer logprobs;

    /** Refuses {@code --logprobs} that cannot be honoured, before any generation. */
    void check(Engine engine) {
        if (logprobs == null) {
            return;
        }
        if (!json) {
            throw new IllegalArgumentException(
                    "--logprobs is part of the JSON answer: add --json, e.g. --json --logprobs 3");
        }
        int topK = Math.min(
                GenerationParams.MAX_TOP_LOGPROBS, engine.manifest().graph().topK());
        if (logprobs < 0 || logprobs > topK) {
            throw new IllegalArgumentException(
                    "--logprobs " + logprobs + " is out of range: this package's head returns " + topK
                            + " candidates per position; use 0 to " + topK + ", e.g. --logprobs " + Math.min(3, topK));
        }
    }

    /** As {@link #report(CommandSpec, Generation, String)}, with the tokens' log-probabilities under --logprobs. */
    void report(CommandSpec spec, Generation g, String text, Engine engine) {
        if (logprobs == null) {
            report(spec, g, text);
            return;
        }
        if (!quiet) {
            Output.summary(spec.commandLine().getErr(), g);
        }
        Output.print(
                spec.commandLine().getOut(),
                g,
                text,
                Json.mapper()
                        .valueToTree(Logprobs.chat(g.logprobs(), logprobs, engine.tokenizer())
                                .content()));
    }

    /** Call before the engine opens, so that a quiet run does not log the load line either. */
    void applyLogLevel() {
        if (quiet) {
            ModelOptions.quietLogs();
        }
    }

    /** Timings on stderr unless quiet; {@code text} (or the JSON object) on stdout. */
    void report(CommandSpec spec, Generation g, String text) {
        if (!quiet) {
            Output.summary(spec.commandLine().getErr(), g);
        }
        Output.print(spec.commandLine().getOut(), g, text, json);
    }
}
