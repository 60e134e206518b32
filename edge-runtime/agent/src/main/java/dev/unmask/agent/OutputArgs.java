package dev.unmask.agent;

import dev.unmask.engine.Generation;
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
