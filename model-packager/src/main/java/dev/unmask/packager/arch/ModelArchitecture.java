package dev.unmask.packager.arch;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unmask.format.PackageManifest;
import java.util.List;

/**
 * One model family the packager converts: how its {@code config.json} reads, what its checkpoint's tensors are
 * called, and how its transformer body is built. Everything else (graph inputs, the sampling head, quantization,
 * external data, the manifest, the self-test) is shared, so adding a family means adding one implementation and
 * registering it in {@link dev.unmask.packager.pack.Architectures#SUPPORTED}; see docs/architecture.md, "Adding a model architecture".
 */
public interface ModelArchitecture {

    /** The manifest's {@code architecture.family} and the graph's name, e.g. {@code llada}. */
    String family();

    /** {@code config.json} {@code model_type} values this family converts, e.g. {@code [llada]}. */
    List<String> modelTypes();

    /**
     * {@code config.json} {@code architectures} entries (Hugging Face model classes) that identify this family when a
     * checkpoint has no {@code model_type}, e.g. {@code [LLaDAModelLM]}.
     */
    List<String> modelClasses();

    /**
     * Reads and checks the hyper-parameters, refusing features the graph does not build.
     *
     * @throws dev.unmask.packager.PackagerException {@code BAD_CHECKPOINT}, naming the key and a correct value
     * @throws IllegalArgumentException from {@link TransformerConfig}'s own checks (reported with the file's name)
     */
    TransformerConfig readConfig(ConfigJson config);

    /**
     * Every checkpoint tensor the graph reads, with the shape it must have; the package writer checks them all
     * before anything is written. {@link #body} and {@link #head} must read only tensors listed here.
     */
    List<ExpectedTensor> tensors(TransformerConfig config);

    /**
     * Adds the transformer body to the graph: from {@code input_ids} (and {@code attention_mask}) to the last
     * hidden state, before the final norm.
     *
     * @return the name of the hidden state, float32 {@code [batch, sequence, d_model]}
     */
    String body(TransformerOps ops);

    /** The tensors of the head: the final norm and the projection to the vocabulary (the embedding when tied). */
    SamplingHead.Weights head(TransformerConfig config);

    /**
     * The manifest's {@code generation_defaults} from the checkpoint's {@code generation_config.json}: each family
     * names its decoding in its own reference code's vocabulary (LLaDA's {@code generate.py} arguments, Dream's
     * {@code diffusion_generate} keys), so the mapping lives with the family that knows it.
     *
     * @param generationConfig the parsed {@code generation_config.json}, or null when the checkpoint has none (then
     *                         the family's reference defaults, scaled to {@code config.maxSequenceLength()})
     */
    PackageManifest.GenerationDefaults generationDefaults(JsonNode generationConfig, TransformerConfig config);

    /** A checkpoint tensor and its shape. */
    record ExpectedTensor(String name, long... shape) {}
}
