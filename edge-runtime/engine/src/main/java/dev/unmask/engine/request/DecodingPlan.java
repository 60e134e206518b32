package dev.unmask.engine.request;

import dev.unmask.engine.decode.Block;
import dev.unmask.engine.decode.CanvasLayout;
import dev.unmask.engine.decode.DecodingOptions;
import dev.unmask.engine.decode.StructuredCanvas;
import java.util.List;

/**
 * A checked request, as the engine runs it: the starting canvas, its blocks with their steps, and the sampler's
 * options. Made only by the {@link DecodingPlanner}, so two surfaces that send the same fields get the same plan.
 *
 * @param layout       the canvas to denoise; its region is exactly the requested length
 * @param blocks       the region's blocks, left to right, covering it without gaps
 * @param options      the sampler's knobs and stop rules
 * @param promptTokens tokens the model was given (an infill's prefix and suffix; a text's fixed tokens)
 * @param structure    structured output: what each region position admits and the answer's rendering
 *                     ({@link JsonCanvas}); null for free text
 */
public record DecodingPlan(
        CanvasLayout layout,
        List<Block> blocks,
        DecodingOptions options,
        int promptTokens,
        StructuredCanvas structure) {

    public DecodingPlan {
        blocks = List.copyOf(blocks);
    }

    /** A plan for free text. */
    public DecodingPlan(CanvasLayout layout, List<Block> blocks, DecodingOptions options, int promptTokens) {
        this(layout, blocks, options, promptTokens, null);
    }

    /** Tokens to generate: the region's length. */
    public int length() {
        return layout.genLength();
    }

    /** The blocks' length (the last one may be shorter). */
    public int blockLength() {
        return blocks.get(0).length();
    }

    /** Steps over all blocks under LLaDA's schedule (the most a threshold or factor rule takes). */
    public int steps() {
        return blocks.stream().mapToInt(Block::steps).sum();
    }

    /** The same plan with other sampler options, e.g. a fresh seed a server draws for an unseeded request. */
    public DecodingPlan withOptions(DecodingOptions other) {
        return new DecodingPlan(layout, blocks, other, promptTokens, structure);
    }
}
