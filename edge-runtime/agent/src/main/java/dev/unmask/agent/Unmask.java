package dev.unmask.agent;

import dev.unmask.console.ConsoleLogs;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code unmask}: run a masked-diffusion LM package on this machine. */
@Command(
        name = "unmask",
        mixinStandardHelpOptions = true,
        version = "unmask 0.1.0",
        description = "Run a masked-diffusion language model package (LLaDA family) with ONNX Runtime.%n"
                + "With no --model, commands use the bundled models/tiny-llada/package; 'unmask pull' installs others.",
        subcommands = {
            GenerateCommand.class,
            InfillCommand.class,
            RunCommand.class,
            BenchCommand.class,
            ServeCommand.class,
            StoreCommands.Pull.class,
            StoreCommands.Copy.class,
            StoreCommands.ListModels.class,
            StoreCommands.Show.class,
            StoreCommands.Remove.class,
            AgentCommands.Ps.class,
            AgentCommands.Stop.class,
            CommandLine.HelpCommand.class
        },
        exitCodeListHeading = "%nExit codes:%n") // the list itself: the shared table, see commandLine()
public final class Unmask {

    public static CommandLine commandLine() {
        return ExitCodes.listInHelp(new CommandLine(new Unmask()).setExecutionExceptionHandler(new ExitCodes()));
    }

    public static void main(String[] args) {
        ConsoleLogs.install("unmask");
        System.exit(commandLine().execute(args));
    }
}
