package dev.unmask.agent;

import dev.unmask.format.PackageException;
import picocli.CommandLine;

import java.io.PrintWriter;

/**
 * The exit codes of {@code unmask}, and the one place that maps a failure to its code and a one-line message.
 */
public final class ExitCodes implements CommandLine.IExecutionExceptionHandler {

    public static final int OK = 0;
    /** a bug or an unexpected failure: the message asks for a report */
    public static final int INTERNAL_ERROR = 1;
    /** the command line itself is wrong (unknown option, missing argument): picocli's own code */
    public static final int USAGE = 2;
    /** an argument is out of range or does not fit the model (gen_length, steps, prompt too long...) */
    public static final int INVALID_INPUT = 3;
    /** the package is missing, incomplete or corrupt */
    public static final int BAD_PACKAGE = 4;
    /** ONNX Runtime or the tokenizer failed while running */
    public static final int RUNTIME_FAILURE = 5;

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
        if (ex instanceof PackageException) {
            return BAD_PACKAGE;
        }
        if (ex instanceof IllegalArgumentException) {
            return INVALID_INPUT;
        }
        if (ex instanceof IllegalStateException || ex instanceof java.io.UncheckedIOException) {
            return RUNTIME_FAILURE;
        }
        return INTERNAL_ERROR;
    }
}
