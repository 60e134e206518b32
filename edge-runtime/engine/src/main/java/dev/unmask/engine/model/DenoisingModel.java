package dev.unmask.engine.model;

import dev.unmask.format.PackageManifest;

/**
 * One forward pass of a masked-diffusion LM over a batch of canvases, returning the fused sampling head
 * at the requested positions only (see docs/package-format.md, "The graph's inputs and outputs").
 *
 * <p>Implementations own native resources: close them with try-with-resources.
 */
public interface DenoisingModel extends AutoCloseable {

    /**
     * @param inputIds      [batch][sequence] canvas token ids (mask id where still masked); all rows the same length
     * @param attentionMask [batch][sequence] 1 for a real token, 0 for padding
     * @param headPositions [batch][positions] indices into the sequence that get the output head; all rows the same length
     */
    HeadOutput forward(long[][] inputIds, long[][] attentionMask, long[][] headPositions);

    /**
     * A forward over windows with cached keys and values (format 3 graphs; docs/engine.md, "Key/value caches"): each
     * row's past is read from its {@link KvBuffers}, and the presents a row asks to keep are written into them before
     * this returns. The head's rows are the forward's rows, its positions each row's head positions (padded).
     *
     * @throws UnsupportedOperationException when the model's graph has no cache ({@link #supportsCache()} false)
     */
    default HeadOutput forward(CachedForward forward) {
        throw new UnsupportedOperationException("Package '" + manifest().name()
                + "' has no key/value cache in its graph (package format 1 or 2): re-convert it with this "
                + "unmask-pack (format 3), or decode with cache none");
    }

    /** Whether {@link #forward(CachedForward)} runs: the graph takes past keys and values. */
    default boolean supportsCache() {
        return false;
    }

    PackageManifest manifest();

    @Override
    void close(); // no checked exception
}
