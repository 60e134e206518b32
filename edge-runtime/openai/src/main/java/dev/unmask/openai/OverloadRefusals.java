package dev.unmask.openai;

import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The 429 a server answers under overload before it reads a request's body ({@link OpenAiService#refuseAsOverloaded}),
 * and when it sends it. Both HTTP layers (the functions' {@code Admission}, the agent's {@code AgentServer}) refuse
 * through this one rule.
 *
 * <p>A client that sends again on the same connection before the {@code Retry-After} it was given gets its next 429
 * when that time is up, not at once ({@link #holdMillis}): the server holds the answer with a timer (no thread
 * waits), so a client that ignores {@code Retry-After} costs it no more than one that honours it. Issue 12: 200
 * clients retrying at once sent 950 requests a second to the functions and 2 200 to the agent, and those refusals,
 * however cheap, and the generator's own CPU took the two cores from the stepping thread. A fresh connection is never
 * held: the pacing is per connection, which is what a client that ignores {@code Retry-After} reuses.
 *
 * <pre>{@code
 * long wait = refusals.holdMillis(connection, System.nanoTime());
 * if (wait == 0) answer(connection); else timer(wait, () -> answer(connection));
 * // answer: refusals.refused(connection, System.nanoTime()); then write OverloadRefusals.answer()
 * }</pre>
 */
public final class OverloadRefusals {

    /**
     * The seconds a refused client is told to wait. One: with refusals this cheap a longer one only risks an idle
     * batch.
     */
    public static final int RETRY_AFTER_SECONDS = 1;

    private static final ApiException ANSWER = Errors.overloaded(RETRY_AFTER_SECONDS);

    private final boolean holdEarlyRetries;

    /** When each connection that got a 429 may send again (System.nanoTime); weak: gone with the connection. */
    private final Map<Object, Long> retryNotBefore = Collections.synchronizedMap(new WeakHashMap<>());

    /** @param holdEarlyRetries false: every refusal is answered at once (the servers' setting, default on) */
    public OverloadRefusals(boolean holdEarlyRetries) {
        this.holdEarlyRetries = holdEarlyRetries;
    }

    /** The refusal: 429, {@code Retry-After: 1}, code {@code queue_full}. One instance: serialize it once. */
    public static ApiException answer() {
        return ANSWER;
    }

    public boolean holdsEarlyRetries() {
        return holdEarlyRetries;
    }

    /**
     * How long to hold the refusal of a request that came on {@code connection} at {@code nowNanos}: 0 to answer
     * now; else the milliseconds until the {@code Retry-After} it was last given is up (at least 1).
     *
     * @param connection the HTTP layer's connection object (compared by identity, held weakly); null: not held
     */
    public long holdMillis(Object connection, long nowNanos) {
        if (!holdEarlyRetries || connection == null) {
            return 0;
        }
        Long notBefore = retryNotBefore.get(connection);
        long waitNanos = notBefore == null ? 0 : notBefore - nowNanos;
        return waitNanos <= 0 ? 0 : Math.max(1, TimeUnit.NANOSECONDS.toMillis(waitNanos));
    }

    /** The refusal goes out now on {@code connection}: a request on it before {@code Retry-After} is up is early. */
    public void refused(Object connection, long nowNanos) {
        if (holdEarlyRetries && connection != null) {
            retryNotBefore.put(connection, nowNanos + TimeUnit.SECONDS.toNanos(RETRY_AFTER_SECONDS));
        }
    }
}
