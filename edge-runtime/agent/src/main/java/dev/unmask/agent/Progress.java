package dev.unmask.agent;

import dev.unmask.engine.decode.DenoisingListener;
import java.io.PrintWriter;

/** One status line on stderr, rewritten after every step: block, step, tokens resolved. */
final class Progress implements DenoisingListener {

    private final PrintWriter err;
    private final long maskId;
    private final int genStart;
    private final int genLength;
    private boolean printed;

    Progress(PrintWriter err, long maskId, int genStart, int genLength) {
        this.err = err;
        this.maskId = maskId;
        this.genStart = genStart;
        this.genLength = genLength;
    }

    @Override
    public void onStep(StepEvent event) {
        int resolved = 0;
        for (int i = genStart; i < genStart + genLength; i++) {
            if (event.canvas()[i] != maskId) {
                resolved++;
            }
        }
        err.printf(
                "\runmask: block %d, step %d: %d/%d tokens resolved ",
                event.block() + 1, event.step() + 1, resolved, genLength);
        err.flush();
        printed = true;
    }

    void done() {
        if (printed) {
            err.println();
            err.flush();
        }
    }
}
