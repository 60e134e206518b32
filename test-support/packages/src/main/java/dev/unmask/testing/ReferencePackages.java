package dev.unmask.testing;

import dev.unmask.format.Manifests;
import dev.unmask.format.PackageException;
import dev.unmask.format.PackageManifest;
import dev.unmask.format.Sha256;
import dev.unmask.packager.Progress;
import dev.unmask.packager.arch.GraphOptions;
import dev.unmask.packager.onnx.WeightFormat;
import dev.unmask.packager.pack.ConvertRequest;
import dev.unmask.packager.pack.PackageWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;

/**
 * Packages of the reference checkpoints bundled in {@code models/}, converted on first use and cached, so that the
 * tests of every module downstream of the packager (the engine's end-to-end tests, openai, agent, functions) run on the
 * real model from a clean clone. Test code: it lives in its own module, consumed with test scope, never in a jar
 * that ships. (The packager's own tests convert for themselves: this module depends on the packager.)
 *
 * <p>A cached package is reused only while the checkpoint files it was made from are unchanged (their SHA-256 in the
 * manifest's {@code source.files}) and it has the current format version; otherwise it is converted again. Conversion holds a file lock, so two JVMs never
 * write the same package.
 */
public final class ReferencePackages {

    private ReferencePackages() {}

    /** The fp32 package of {@code models/tiny-llada}, with the default top-k and no full logits. */
    public static Path tinyLlada() {
        return tinyLlada("fp32", GraphOptions.of(WeightFormat.FP32));
    }

    /** The fp32 package of {@code models/tiny-llada} with the optional full {@code logits} output (for CFG). */
    public static Path tinyLladaWithLogits() {
        return tinyLlada("fp32-logits", GraphOptions.of(WeightFormat.FP32).withFullLogits(true));
    }

    /**
     * A package of {@code models/tiny-llada} built with {@code options}, cached under
     * {@code target/reference-packages/tiny-llada-<variant>} at the repository root.
     */
    public static Path tinyLlada(String variant, GraphOptions options) {
        return convertOnce(Repo.checkpoint(), "tiny-llada", variant, options);
    }

    /** The fp32 package of {@code models/tiny-dream} (family {@code dream}, shifted logits), default top-k. */
    public static Path tinyDream() {
        return tinyDream("fp32", GraphOptions.of(WeightFormat.FP32));
    }

    /** The fp32 package of {@code models/tiny-dream} with the optional full {@code logits} output. */
    public static Path tinyDreamWithLogits() {
        return tinyDream("fp32-logits", GraphOptions.of(WeightFormat.FP32).withFullLogits(true));
    }

    /** A package of {@code models/tiny-dream}, cached under {@code target/reference-packages/tiny-dream-<variant>}. */
    public static Path tinyDream(String variant, GraphOptions options) {
        return convertOnce(Repo.tinyDreamCheckpoint(), "tiny-dream", variant, options);
    }

    /**
     * The fp32 package of {@code models/tiny-sdar} (family {@code sdar}: block-causal attention, block 4, exact
     * key/value cache), default top-k.
     */
    public static Path tinySdar() {
        return tinySdar("fp32", GraphOptions.of(WeightFormat.FP32));
    }

    /** A package of {@code models/tiny-sdar}, cached under {@code target/reference-packages/tiny-sdar-<variant>}. */
    public static Path tinySdar(String variant, GraphOptions options) {
        return convertOnce(Repo.tinySdarCheckpoint(), "tiny-sdar", variant, options);
    }

    private static synchronized Path convertOnce(Path checkpoint, String name, String variant, GraphOptions options) {
        Path out = Repo.root().resolve("target/reference-packages/" + name + "-" + variant);
        try {
            Files.createDirectories(out.getParent());
            try (FileChannel channel = FileChannel.open(
                            out.getParent().resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                    FileLock ignored = channel.lock()) {
                if (!isCurrent(out, checkpoint)) {
                    new PackageWriter(line -> System.err.println("[reference package] " + line), Progress.NONE)
                            .convert(ConvertRequest.of(checkpoint, out, options)
                                    .withName(name)
                                    .withReplace(true));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Could not prepare the reference package in " + out, e);
        }
        return out;
    }

    private static boolean isCurrent(Path pkg, Path checkpoint) {
        if (!Files.isRegularFile(pkg.resolve(PackageManifest.FILE_NAME))) {
            return false;
        }
        try {
            PackageManifest manifest = Manifests.read(pkg);
            if (manifest.formatVersion() != PackageManifest.CURRENT_FORMAT_VERSION // made by an older packager
                    || manifest.source() == null
                    || manifest.source().files() == null
                    || manifest.source().files().isEmpty()) {
                return false;
            }
            for (Map.Entry<String, String> file : manifest.source().files().entrySet()) {
                Path source = checkpoint.resolve(file.getKey());
                if (!Files.isRegularFile(source) || !Sha256.ofFile(source).equals(file.getValue())) {
                    return false;
                }
            }
            return true;
        } catch (PackageException | UncheckedIOException e) {
            return false;
        }
    }
}
