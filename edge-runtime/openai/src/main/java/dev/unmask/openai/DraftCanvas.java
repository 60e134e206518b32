package dev.unmask.openai;

import dev.unmask.engine.decode.AnswerText;
import dev.unmask.engine.decode.DenoisingListener;
import dev.unmask.engine.decode.DraftText;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Turns one run's steps into {@link Draft}s with the per-position view: remembers, for every position of the region,
 * the step of the whole run that committed it. One per streamed request, called on the scheduler's thread in step
 * order.
 */
final class DraftCanvas {

    private static final int MASKED = -1;

    private final AnswerText text;
    private int[] committedAtStep; // [region] the run's step that committed each position, MASKED until then
    private int steps; // steps seen so far: the next step's number in the whole run

    DraftCanvas(AnswerText text) {
        this.text = text;
    }

    /** The draft after step {@code e}; call once per step, in order. */
    Draft after(DenoisingListener.StepEvent e) {
        int step = steps++;
        List<String> texts = text.tokenTexts(e.canvas());
        if (committedAtStep == null) {
            committedAtStep = new int[texts.size()];
            Arrays.fill(committedAtStep, MASKED);
        }
        for (DenoisingListener.Commit c : e.committed()) {
            int at = c.position() - text.regionStart();
            if (at >= 0 && at < committedAtStep.length && committedAtStep[at] == MASKED) {
                committedAtStep[at] = step;
            }
        }
        List<DraftToken> tokens = new ArrayList<>(texts.size());
        for (int i = 0; i < texts.size(); i++) {
            String t = texts.get(i);
            if (t == null) {
                tokens.add(DraftToken.MASKED);
            } else {
                if (committedAtStep[i] == MASKED) {
                    committedAtStep[i] = step; // filled without a commit event (none today): from this step on
                }
                tokens.add(new DraftToken(t, committedAtStep[i]));
            }
        }
        DraftText d = text.draft(e.canvas());
        return new Draft(e.block(), e.step(), d.text(), d.masked(), tokens);
    }
}
