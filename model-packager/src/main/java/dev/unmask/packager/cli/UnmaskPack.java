package dev.unmask.packager.cli;

import dev.unmask.console.ConsoleLogs;
import dev.unmask.failure.ExitCode;
import dev.unmask.failure.Failure;
import dev.unmask.packager.PackagerVersion;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code unmask-pack}: the packager's command line. Exit codes are mapped from exceptions here and only here. */
@Command(
        name = "unmask-pack",
        mixinStandardHelpOptions = true,
        versionProvider = UnmaskPack.Version.class,
        description =
                "Converts a Hugging Face masked-diffusion LM checkpoint (LLaDA, Dream, DiffuCoder) into an Unmask ONNX model package, in pure Java.",
        subcommands = {
            ConvertCommand.class,
            QuantizeCommand.class,
            InspectCommand.class,
            VerifyCommand.class,
            CommandLine.HelpCommand.class
        },
        exitCodeListHeading = "%nExit codes:%n")
public final class UnmaskPack implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(
                spec.commandLine(), "Missing command: use convert, quantize, inspect or verify (see --help)");
    }

    public static void main(String[] args) {
        ConsoleLogs.install("unmask-pack");
        System.exit(newCommandLine().execute(args));
    }

    /** The command line with exit-code mapping installed on every subcommand; tests call {@code execute} on it. */
    public static CommandLine newCommandLine() {
        CommandLine cl = new CommandLine(new UnmaskPack());
        cl.setExitCodeExceptionMapper(UnmaskPack::exitCodeOf);
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            commandLine.getErr().println("unmask-pack: error: " + messageOf(ex));
            if (exitCodeOf(ex) == ExitCode.INTERNAL.code()) {
                ex.printStackTrace(commandLine.getErr());
            }
            commandLine.getErr().flush();
            return exitCodeOf(ex);
        });
        applyExitCodeHelp(cl);
        return cl;
    }

    /** The shared table of both tools, on every subcommand's {@code --help}. */
    private static void applyExitCodeHelp(CommandLine cl) {
        cl.getCommandSpec()
                .usageMessage()
                .exitCodeListHeading("%nExit codes:%n")
                .exitCodeList(ExitCode.helpList());
        for (CommandLine sub : cl.getSubcommands().values()) {
            applyExitCodeHelp(sub);
        }
    }

    /** A failure's exit code: picocli's usage errors are {@link ExitCode#USAGE}, the rest as {@link Failure} maps them. */
    static int exitCodeOf(Throwable t) {
        if (t instanceof CommandLine.ParameterException) {
            return ExitCode.USAGE.code();
        }
        return Failure.of(t).exitCode().code();
    }

    private static String messageOf(Throwable t) {
        return t.getMessage() != null ? t.getMessage() : t.toString();
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {PackagerVersion.NAME + " " + PackagerVersion.VERSION};
        }
    }
}
