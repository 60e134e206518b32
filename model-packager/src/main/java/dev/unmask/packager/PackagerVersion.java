package dev.unmask.packager;

/** The packager's name and version, as written into every manifest. */
public final class PackagerVersion {
    public static final String NAME = "unmask-pack";
    public static final String VERSION = "0.1.0";

    private PackagerVersion() {}
}
