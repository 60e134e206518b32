package dev.unmask.packager.cli;

import dev.unmask.hub.DownloadProgress;
import dev.unmask.hub.HubClient;
import dev.unmask.hub.HubDownloads;
import dev.unmask.hub.HubModelId;
import dev.unmask.hub.HubSettings;
import dev.unmask.hub.TextProgress;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.function.Supplier;

/**
 * {@code convert --from hf:ORG/NAME[@revision]}: the checkpoint downloaded into the Hugging Face cache (only the
 * files a conversion reads), so that the rest of the conversion reads a local folder as for any other checkpoint.
 */
final class HubCheckpoint {

    /** Where the Hub and its cache are: the environment (HF_ENDPOINT, HF_TOKEN, HF_HUB_CACHE...); tests set their own. */
    static volatile Supplier<HubSettings> settings = HubSettings::fromEnvironment;

    /**
     * A checkpoint folder, and the package name it implies when {@code --name} is not given (null: the folder's).
     */
    record Source(Path folder, String name) {}

    private HubCheckpoint() {}

    /** {@code from} itself for a local folder; for {@code hf:...}, the snapshot folder once every file is cached. */
    static Source resolve(Path from, PrintWriter err, boolean noProgress) {
        String text = from.toString();
        if (!HubModelId.isHub(text)) {
            return new Source(from, null);
        }
        HubModelId id = HubModelId.parse(text);
        HubSettings s = settings.get();
        err.println("unmask-pack: " + id + " from " + (s.offline() ? "the cache only (HF_HUB_OFFLINE)" : s.endpoint())
                + ", cached in " + s.cacheRoot());
        err.flush();
        DownloadProgress progress =
                noProgress ? DownloadProgress.NONE : new TextProgress(err, System.console() != null, "unmask-pack: ");
        try (HubClient client = new HubClient(s, progress)) {
            Path folder = HubDownloads.checkpoint(client, id);
            return new Source(folder, id.repo().substring(id.repo().indexOf('/') + 1));
        }
    }
}
