package dev.unmask.failure;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The exit codes of both command-line tools, {@code unmask} and {@code unmask-pack}: one table, so that a code means
 * the same thing whichever tool returned it. Each tool's {@code --help} lists it from here ({@link #helpList()}), and
 * {@code docs/errors.md} shows the same table (a test compares them). Which failure gets which code is
 * {@link Failure#exitCode()}.
 */
public enum ExitCode {
    OK(0, "success"),
    INTERNAL(1, "an unexpected internal error: a bug (please report it with the command and the trace)"),
    USAGE(
            2,
            "the command as typed cannot run: unknown option, missing argument, a value out of range or that does "
                    + "not fit the model, an unknown model name"),
    BAD_INPUT(
            3,
            "an input file cannot be used: a checkpoint that cannot be converted (unknown architecture, missing, "
                    + "mis-shaped or truncated tensor, bad header)"),
    BAD_PACKAGE(
            4,
            "the model package is missing, incomplete or corrupt: missing file, checksum mismatch, unknown "
                    + "format version, failed self-test"),
    IO(5, "a file could not be read or written (permissions, disk full, output already exists)"),
    QUALITY_GATE(
            6,
            "the package's top-1 agreement with the --against reference is below --min-top1-agreement "
                    + "(nothing written)"),
    RUNTIME(7, "ONNX Runtime or the tokenizer failed while running, or the runtime was shutting down");

    private final int code;
    private final String meaning;

    ExitCode(int code, String meaning) {
        this.code = code;
        this.meaning = meaning;
    }

    /** The process exit status. */
    public int code() {
        return code;
    }

    /** What the code means, in one line, as {@code --help} and the docs show it. */
    public String meaning() {
        return meaning;
    }

    /** The table as picocli's {@code exitCodeList} takes it: right-aligned code, then meaning. */
    public static Map<String, String> helpList() {
        Map<String, String> list = new LinkedHashMap<>();
        for (ExitCode c : values()) {
            list.put(String.format("%4d", c.code), c.meaning);
        }
        return list;
    }
}
