package dev.unmask.packager;

/** Receives conversion progress: one call per checkpoint tensor consumed. */
@FunctionalInterface
public interface Progress {
    void tensorDone(String tensor, long sourceBytes);

    Progress NONE = (t, b) -> {};
}
