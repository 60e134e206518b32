package dev.unmask.hub;

/** What a download tells its user: called from the downloading thread, one file at a time. */
public interface DownloadProgress {

    DownloadProgress NONE = new DownloadProgress() {};

    /** All that will be fetched: {@code files} files of {@code bytes} bytes in all, {@code cachedBytes} of them at hand. */
    default void plan(int files, long bytes, long cachedBytes) {}

    /** {@code file} starts, with {@code resumedBytes} of its {@code bytes} already on disk from a cut download. */
    default void fileStarted(String file, long bytes, long resumedBytes) {}

    /** {@code bytes} more bytes arrived. */
    default void transferred(long bytes) {}

    /** {@code file} is complete and verified. */
    default void fileDone(String file) {}

    /** A line for the user: the revision resolved, a file found in the cache. */
    default void note(String line) {}
}
