package dev.unmask.agent;

import dev.unmask.failure.ExitCode;
import dev.unmask.failure.Failure;
import java.io.PrintWriter;
import picocli.CommandLine;

/**
 * How {@code unmask} ends on a failure: the exit code from the shared table ({@link ExitCode}, the same as
 * {@code unmask-pack}'s) by the failure's kind ({@link Failure#of}), and a one-line message; a trace only for a bug.
 * The int constants are the codes the commands return and the tests name.
 */
public final class ExitCodes implements CommandLine.IExecutionExceptionHandler {

    public static final int OK = ExitCode.OK.code();
    /** a bug or an unexpected failure: the message asks for a report */
    public static final int INTERNAL_ERROR = ExitCode.INTERNAL.code();
    /** the command line itself is wrong (unknown option, missing argument): picocli's own code */
    public static final int USAGE = ExitCode.USAGE.code();
    /**
     * an argument is out of range or does not fit the model (gen_length, steps, prompt too long...): a usage error,
     * {@link ExitCode#USAGE} (3 before the two tools shared one table)
     */
    public static final int INVALID_INPUT = ExitCode.USAGE.code();
    /** the package is missing, incomplete or corrupt */
    public static final int BAD_PACKAGE = ExitCode.BAD_PACKAGE.code();
    /** a file could not be read or written */
    public static final int IO = ExitCode.IO.code();
    /** ONNX Runtime or the tokenizer failed while running (5 before the two tools shared one table) */
    public static final int RUNTIME_FAILURE = ExitCode.RUNTIME.code();

    @Override
    public int handleExecutionException(Exception ex, CommandLine commandLine, CommandLine.ParseResult parseResult) {
        PrintWriter err = commandLine.getErr();
        int code = codeOf(ex);
        String message = ex.getMessage() == null ? ex.getClass().getSimpleName() : ex.getMessage();
        err.println("unmask: " + message);
        if (code == INTERNAL_ERROR) {
            err.println("unmask: this is a bug; please report it with the command you ran and this trace:");
            ex.printStackTrace(err);
        }
        err.flush();
        return code;
    }

    static int codeOf(Throwable ex) {
        return Failure.of(ex).exitCode().code();
    }

    /** The shared exit-code table on {@code cl}'s {@code --help} and on every subcommand's. */
    static CommandLine listInHelp(CommandLine cl) {
        cl.getCommandSpec()
                .usageMessage()
                .exitCodeListHeading("%nExit codes:%n")
                .exitCodeList(ExitCode.helpList());
        for (CommandLine sub : cl.getSubcommands().values()) {
            listInHelp(sub);
        }
        return cl;
    }
}
