package dev.unmask.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.testing.FakeHub;
import dev.unmask.testing.Repo;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cache is shared with the real huggingface_hub (Python), both ways: what Unmask downloads, Python finds offline;
 * what Python downloads from the same (fake) Hub, Unmask converts from without fetching a blob. Skipped where
 * {@code python3 -c "import huggingface_hub"} fails.
 */
class PythonCacheInteropTest {

    static final String REPO = "unmask/tiny-llada";

    @TempDir
    Path tmp;

    FakeHub hub;
    FakeHub.HubRepo published;

    @BeforeEach
    void start() {
        Assumptions.assumeTrue(
                python("import huggingface_hub", Map.of()).exitCode == 0, "no huggingface_hub in python3");
        hub = FakeHub.start();
        published = hub.publish(REPO, Repo.checkpoint());
    }

    @AfterEach
    void stop() {
        if (hub != null) {
            hub.close();
        }
    }

    HubSettings settings() {
        return new HubSettings(hub.endpoint(), null, tmp.resolve("hub"), false, Duration.ofSeconds(30));
    }

    @Test
    void whatUnmaskDownloadsHuggingfaceHubFindsOffline() {
        Path snapshot;
        try (HubClient client = new HubClient(settings(), DownloadProgress.NONE)) {
            snapshot = HubDownloads.checkpoint(client, HubModelId.parse("hf:" + REPO));
        }
        Result r = python(
                "from huggingface_hub import hf_hub_download, scan_cache_dir\n"
                        + "p = hf_hub_download('" + REPO + "', 'model.safetensors')\n"
                        + "print(p)\n"
                        + "info = scan_cache_dir()\n"
                        + "repo = [r for r in info.repos if r.repo_id == '" + REPO + "'][0]\n"
                        + "rev = list(repo.revisions)[0]\n"
                        + "print(rev.commit_hash, sorted(rev.refs), sorted(f.file_name for f in rev.files))\n",
                Map.of("HF_HUB_OFFLINE", "1"));
        assertEquals(0, r.exitCode, r.output);
        assertTrue(r.output.contains(snapshot.resolve("model.safetensors").toString()), r.output);
        assertTrue(r.output.contains(published.commit() + " ['main']"), r.output);
        assertTrue(r.output.contains("'config.json'") && r.output.contains("'tokenizer.json'"), r.output);
    }

    @Test
    void whatHuggingfaceHubDownloadsUnmaskConvertsFromWithoutFetchingABlob() {
        StringBuilder script = new StringBuilder("from huggingface_hub import hf_hub_download\n");
        for (String f : List.of(
                "config.json",
                "generation_config.json",
                "model.safetensors",
                "special_tokens_map.json",
                "tokenizer.json",
                "tokenizer_config.json")) {
            script.append("print(hf_hub_download('" + REPO + "', '" + f + "'))\n");
        }
        Result r =
                python(script.toString(), Map.of("HF_ENDPOINT", hub.endpoint().toString()));
        assertEquals(0, r.exitCode, r.output);
        hub.clearRequests();
        try (HubClient client = new HubClient(settings(), DownloadProgress.NONE)) {
            Path snapshot = HubDownloads.checkpoint(client, HubModelId.parse("hf:" + REPO));
            assertEquals(tmp.resolve("hub/models--unmask--tiny-llada/snapshots").resolve(published.commit()), snapshot);
        }
        assertEquals(List.of("hub GET /api/models/" + REPO + "/revision/main"), hub.requests());
    }

    record Result(int exitCode, String output) {}

    Result python(String script, Map<String, String> env) {
        try {
            ProcessBuilder pb = new ProcessBuilder("python3", "-c", script).redirectErrorStream(true);
            pb.environment().keySet().removeIf(k -> k.startsWith("HF_") || k.equals("HUGGINGFACE_HUB_CACHE"));
            if (tmp != null) {
                pb.environment().put("HF_HUB_CACHE", tmp.resolve("hub").toString());
                pb.environment().put("HF_HOME", tmp.resolve("hf-home").toString());
            }
            pb.environment().put("HF_HUB_DISABLE_TELEMETRY", "1");
            pb.environment().put("HF_HUB_DISABLE_XET", "1");
            pb.environment().putAll(env);
            Process p = pb.start();
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Result(-1, "timed out: " + output);
            }
            return new Result(p.exitValue(), output);
        } catch (IOException e) {
            return new Result(-1, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(-1, e.toString());
        }
    }
}
