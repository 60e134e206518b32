package dev.unmask.packager.pack;

import dev.unmask.format.PackageManifest;
import java.nio.file.Path;

/**
 * A last check on a complete package while it is still in its hidden {@code .partial} folder, before the rename
 * that publishes it (e.g. the quality gate of {@code --against}). It returns the manifest to publish, having
 * rewritten {@code manifest.json} in {@code dir} if it changed it, or throws to leave no package behind.
 */
@FunctionalInterface
public interface PublishCheck {

    PublishCheck NONE = (dir, manifest) -> manifest;

    PackageManifest check(Path dir, PackageManifest manifest);
}
