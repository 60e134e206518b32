package dev.unmask.packager;

/**
 * The packager's names for the shared exit codes of {@link dev.unmask.failure.ExitCode} (the one table of both
 * tools, listed by {@code --help} and docs/errors.md). Kept so that a throw site reads in the packager's terms:
 * a checkpoint that cannot be converted is {@link #BAD_CHECKPOINT}, which is the shared
 * {@link dev.unmask.failure.ExitCode#BAD_INPUT}.
 */
public final class ExitCode {
    public static final dev.unmask.failure.ExitCode OK = dev.unmask.failure.ExitCode.OK;
    public static final dev.unmask.failure.ExitCode INTERNAL = dev.unmask.failure.ExitCode.INTERNAL;
    public static final dev.unmask.failure.ExitCode USAGE = dev.unmask.failure.ExitCode.USAGE;
    public static final dev.unmask.failure.ExitCode BAD_CHECKPOINT = dev.unmask.failure.ExitCode.BAD_INPUT;
    public static final dev.unmask.failure.ExitCode BAD_PACKAGE = dev.unmask.failure.ExitCode.BAD_PACKAGE;
    public static final dev.unmask.failure.ExitCode IO = dev.unmask.failure.ExitCode.IO;
    public static final dev.unmask.failure.ExitCode QUALITY_GATE = dev.unmask.failure.ExitCode.QUALITY_GATE;

    private ExitCode() {}
}
