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

    PackageManifest manifest();

    @Override
    void close(); // no checked exception
}
