package dev.unmask.engine.decode;

/**
 * A canvas whose region is a fixed skeleton with constrained slots (structured output): which tokens each position
 * admits, and the one rendering of the region's text, which replaces {@link AnswerText}'s plain decoding so that
 * the answer always has the skeleton's shape. Made by the request layer
 * ({@code dev.unmask.engine.request.JsonCanvas}); the samplers only ask it which tokens fit.
 */
public interface StructuredCanvas {

    /** Which tokens one canvas position admits. */
    interface Admissible {
        boolean admits(long token);

        /**
         * The token written when none of the head's candidates is admitted: deterministic, always admitted, and one
         * the rendering reads as "nothing here" where the slot allows it (the pad).
         */
        long fallback();
    }

    /** What canvas position {@code position} admits; null where any token does (outside the slots). */
    Admissible admissible(int position);

    /** The final answer of a resolved canvas: it parses, and it validates against the schema. */
    AnswerText.Answer answer(long[] canvas);

    /**
     * The longest prefix of the final text that the positions before {@code end} already decide: every fixed piece
     * and every slot resolved in full, left to right, up to the first one that is not. A prefix of {@link #answer}.
     */
    String settled(long[] canvas, int end);
}
