package dev.unmask.engine.testing;

import java.util.Arrays;
import java.util.random.RandomGenerator;

/**
 * A random generator that returns recorded uniforms from {@link #nextDouble()} in order, and fails loudly when asked
 * for more than it holds, for anything but a double, or (at {@link #assertAllUsed()}) for fewer: a test of the
 * randomness contract then fails on the first draw the engine makes that the reference did not.
 */
public final class ReplayedUniforms implements RandomGenerator {

    private final double[] uniforms;
    private int next;

    public ReplayedUniforms(double... uniforms) {
        this.uniforms = uniforms.clone();
    }

    @Override
    public double nextDouble() {
        if (next == uniforms.length) {
            throw new AssertionError("draw " + (next + 1) + " asked for, but only " + uniforms.length
                    + " uniforms were recorded: " + Arrays.toString(uniforms));
        }
        return uniforms[next++];
    }

    @Override
    public long nextLong() {
        throw new AssertionError("the contract draws doubles only (nextDouble), but nextLong was asked for");
    }

    /** How many uniforms were drawn. */
    public int used() {
        return next;
    }

    public void assertAllUsed() {
        if (next != uniforms.length) {
            throw new AssertionError("only " + next + " of the " + uniforms.length + " recorded uniforms were drawn: "
                    + Arrays.toString(uniforms));
        }
    }
}
