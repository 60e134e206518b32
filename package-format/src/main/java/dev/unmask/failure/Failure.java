package dev.unmask.failure;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * The kinds of failure the tools and the servers tell apart. A failure's kind is its type: an
 * {@link UnmaskException} carries one, and {@link #of(Throwable)} classifies the JDK's own exceptions, so that
 * nothing anywhere decides by matching message text. Exit codes map from a kind here ({@link #exitCode()}), HTTP
 * statuses in {@code dev.unmask.openai.Errors}.
 */
public enum Failure {
    /** the request or command line as sent cannot work: a value out of range, one that does not fit the model */
    BAD_REQUEST(ExitCode.USAGE),
    /** the model asked for is not installed or not served */
    MODEL_NOT_FOUND(ExitCode.USAGE),
    /** an input file (a checkpoint) that cannot be converted */
    BAD_INPUT(ExitCode.BAD_INPUT),
    /** a package that is missing, incomplete or corrupt */
    BAD_PACKAGE(ExitCode.BAD_PACKAGE),
    /** a file that could not be read or written */
    IO(ExitCode.IO),
    /** a quantized package that is not close enough to its reference */
    QUALITY_GATE(ExitCode.QUALITY_GATE),
    /** ONNX Runtime or the tokenizer failed while running */
    RUNTIME(ExitCode.RUNTIME),
    /** too much work waits already: retry later */
    OVERLOADED(ExitCode.RUNTIME),
    /** the server or runtime is stopping and takes no more work: retry elsewhere */
    SHUTTING_DOWN(ExitCode.RUNTIME),
    /** anything else: a bug */
    INTERNAL(ExitCode.INTERNAL);

    private final ExitCode exitCode;

    Failure(ExitCode exitCode) {
        this.exitCode = exitCode;
    }

    /** The exit code a command-line tool returns for this kind of failure. */
    public ExitCode exitCode() {
        return exitCode;
    }

    /**
     * The kind of {@code t}, looking through {@link CompletionException} and {@link ExecutionException}: the kind an
     * {@link UnmaskException} carries; {@link #BAD_REQUEST} for {@link IllegalArgumentException} (the engine's own
     * checks); {@link #IO} for {@link UncheckedIOException} and {@link IOException}; else {@link #INTERNAL}, which
     * includes {@link IllegalStateException}: the JDK's (and ONNX Runtime's) signal of an object used out of its
     * lifecycle, a bug. A runtime that fails while running says so with {@code UnmaskException(RUNTIME, ...)}.
     */
    public static Failure of(Throwable t) {
        Throwable e = unwrap(t);
        if (e instanceof UnmaskException u) {
            return u.failure();
        }
        if (e instanceof IllegalArgumentException) {
            return BAD_REQUEST;
        }
        if (e instanceof UncheckedIOException || e instanceof IOException) {
            return IO;
        }
        return INTERNAL;
    }

    /** The failure itself under the wrappers a future adds ({@link CompletionException}, {@link ExecutionException}). */
    public static Throwable unwrap(Throwable t) {
        Throwable e = t;
        while ((e instanceof CompletionException || e instanceof ExecutionException) && e.getCause() != null) {
            e = e.getCause();
        }
        return e;
    }

    /**
     * The kind a tool reports with {@code code}: the first of this enum that maps to it (so {@link ExitCode#USAGE}
     * is {@link #BAD_REQUEST}). For code written against exit codes, e.g. the packager's exceptions.
     *
     * @throws IllegalArgumentException for {@link ExitCode#OK}, which is no failure
     */
    public static Failure reportedAs(ExitCode code) {
        for (Failure f : values()) {
            if (f.exitCode == code) {
                return f;
            }
        }
        throw new IllegalArgumentException(code + " is not a failure; pass the exit code of one, e.g. ExitCode.IO");
    }
}
