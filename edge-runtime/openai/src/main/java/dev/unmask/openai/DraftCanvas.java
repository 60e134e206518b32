package dev.unmask.openai;

import dev.unmask.engine.decode.AnswerText;
import dev.unmask.engine.decode.DenoisingListener;
import dev.unmask.engine.decode.DraftText;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Turns one run's steps into {@link Draft}s with the per-position view: remembers, for every position of the region,
 * the step of the whole run that committed it. One per streamed request, called on the scheduler's thread in step
 * order.
 */
final class DraftCanvas {

    private final AnswerText text;
    private Integer[] committedAtStep; // [region] the run's 1-based step that committed each position; null: masked
    private int steps; // steps seen so far

    DraftCanvas(AnswerText text) {
        this.text = text;
    }

    /** The draft after step {@code e}; call once per step, in order. */
    Draft after(DenoisingListener.StepEvent e) {
        steps++;
        List<String> tokens = text.tokenTexts(e.canvas());
        if (committedAtStep == null) {
            // before the first step only the fixed tokens (none in a plain region) were there: 0, as "from the start"
            committedAtStep = new Integer[tokens.size()];
            Set<Integer> now = new HashSet<>();
            e.committed().forEach(c -> now.add(c.position() - text.regionStart()));
            for (int i = 0; i < tokens.size(); i++) {
                committedAtStep[i] = tokens.get(i) != null && !now.contains(i) ? 0 : null;
            }
        }
        for (DenoisingListener.Commit c : e.committed()) {
            int at = c.position() - text.regionStart();
            if (at >= 0 && at < committedAtStep.length) {
                committedAtStep[at] = steps;
            }
        }
        DraftText d = text.draft(e.canvas());
        return new Draft(e.block(), e.step(), d.text(), d.masked(), Arrays.asList(committedAtStep.clone()), tokens);
    }
}
