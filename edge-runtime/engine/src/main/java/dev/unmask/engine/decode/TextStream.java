package dev.unmask.engine.decode;

/**
 * What of a run's text is final while it is still being denoised: the one rule every surface that streams text uses
 * (both servers' server-sent events, the command line's {@code generate}). After each step, {@link #next} gives the
 * text that became final with it: the growth of {@link AnswerText#settled}, the committed prefix of the region up to
 * its first still-masked position (across blocks), less a tail that may still change. Once the run has finished,
 * {@link #rest} gives what the answer still owes.
 *
 * <p>The contract: the deltas and the rest, concatenated, are the plain answer of the same request. It holds because
 * every settled text is a prefix of the final text and of every later settled text: the positions before the first
 * mask never change again, and what the decoder may still change at their end is held back.
 *
 * <pre>{@code
 * TextStream stream = new TextStream(engine.answerText(plan));
 * DenoisingRun run = engine.start(plan, new DenoisingListener() {
 *     public void onStep(StepEvent e) { send(stream.next(e.canvas())); } // "" when nothing became final
 * });
 * run.runToEnd(engine.model());
 * send(stream.rest(engine.finish(run).text()));
 * }</pre>
 *
 * <p>Not thread-safe: called on the thread that steps the run (from a listener), then once with the answer.
 */
public final class TextStream {

    private final AnswerText text;
    private String sent = "";
    private int resolvedTo = -1; // the first masked position at the last call: the settled text only grows past it

    public TextStream(AnswerText text) {
        this.text = text;
    }

    /**
     * The text that became final with {@code canvas}, {@code ""} when none did.
     *
     * @param canvas [sequence] the canvas after a step ({@link DenoisingListener.StepEvent#canvas})
     */
    public String next(long[] canvas) {
        int end = text.firstMasked(canvas);
        if (end == resolvedTo) {
            return ""; // no position left of the first mask was resolved: nothing before it can have changed
        }
        resolvedTo = end;
        String settled = text.settled(canvas, end);
        if (settled.length() <= sent.length() || !settled.startsWith(sent)) {
            return "";
        }
        String delta = settled.substring(sent.length());
        sent = settled;
        return delta;
    }

    /**
     * What the stream still owes once the run finished with {@code answer} (its {@code Generation.text()}): the text
     * after what {@link #next} gave. Should a decoder ever break the prefix rule, the tail after the longest common
     * prefix is given rather than nothing, so that no text of the answer is lost.
     */
    public String rest(String answer) {
        String tail = tail(answer, sent);
        sent = answer;
        return tail;
    }

    /** Everything given so far. */
    public String sent() {
        return sent;
    }

    /** The part of {@code text} after {@code sent}; after their longest common prefix when {@code sent} is not one. */
    public static String tail(String text, String sent) {
        if (text.startsWith(sent)) {
            return text.substring(sent.length());
        }
        int common = 0;
        while (common < Math.min(text.length(), sent.length()) && text.charAt(common) == sent.charAt(common)) {
            common++;
        }
        return text.substring(common);
    }
}
