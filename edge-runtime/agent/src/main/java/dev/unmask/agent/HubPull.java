package dev.unmask.agent;

import dev.unmask.hub.HubClient;
import dev.unmask.hub.HubDownloads;
import dev.unmask.hub.HubModelId;
import dev.unmask.hub.HubSettings;
import dev.unmask.hub.TextProgress;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.file.Path;
import java.util.function.Consumer;

/** {@code unmask pull hf:ORG/NAME}: a package repository downloaded into the Hugging Face cache, for the store to copy. */
final class HubPull {

    private HubPull() {}

    /** The snapshot folder holding the package's manifest and every file it lists, fetched or found in the cache. */
    static Path download(HubModelId id, HubSettings settings, Consumer<String> lines) {
        lines.accept("fetching " + id + " from "
                + (settings.offline()
                        ? "the cache only (HF_HUB_OFFLINE)"
                        : settings.endpoint().toString())
                + ", cached in " + settings.cacheRoot());
        // the store reports in lines, so the bar is the line form (a line at every 10 %), each handed on
        try (HubClient client =
                new HubClient(settings, new TextProgress(new PrintWriter(new LineWriter(lines)), false, ""))) {
            return HubDownloads.unmaskPackage(client, id);
        }
    }

    /** A writer that hands each complete line to a consumer. */
    private static final class LineWriter extends Writer {
        private final Consumer<String> lines;
        private final StringBuilder line = new StringBuilder();

        LineWriter(Consumer<String> lines) {
            this.lines = lines;
        }

        @Override
        public void write(char[] chars, int off, int len) {
            for (int i = off; i < off + len; i++) {
                char c = chars[i];
                if (c == '\n') {
                    lines.accept(line.toString());
                    line.setLength(0);
                } else if (c != '\r') {
                    line.append(c);
                }
            }
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
    }
}
