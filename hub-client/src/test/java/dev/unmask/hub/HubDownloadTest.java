package dev.unmask.hub;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.testing.FakeHub;
import dev.unmask.testing.Repo;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A checkpoint downloaded from a loopback Hub into huggingface_hub's cache layout, and every way that can fail. */
class HubDownloadTest {

    static final String REPO = "unmask/tiny-llada";
    static final HubModelId ID = HubModelId.parse("hf:" + REPO);

    @TempDir
    Path tmp;

    FakeHub hub;
    FakeHub.HubRepo published;

    @BeforeEach
    void publish() {
        hub = FakeHub.start();
        published = hub.publish(REPO, Repo.checkpoint()); // with train.py, fixtures/, heldout/: not to be fetched
    }

    @AfterEach
    void stop() {
        hub.close();
    }

    HubSettings settings() {
        return new HubSettings(hub.endpoint(), null, tmp.resolve("hub"), false, Duration.ofSeconds(30));
    }

    Path download(HubSettings settings) {
        try (HubClient client = new HubClient(settings, DownloadProgress.NONE)) {
            return HubDownloads.checkpoint(client, ID);
        }
    }

    @Test
    void fetchesOnlyTheCheckpointFilesIntoTheCacheLayoutOfHuggingfaceHub() throws IOException {
        StringWriter log = new StringWriter();
        Path snapshot;
        try (HubClient client = new HubClient(settings(), new TextProgress(new PrintWriter(log), false, "unmask: "))) {
            snapshot = HubDownloads.checkpoint(client, ID);
        }
        Path repoDir = tmp.resolve("hub/models--unmask--tiny-llada");
        assertEquals(repoDir.resolve("snapshots").resolve(published.commit()), snapshot);
        assertEquals(published.commit(), Files.readString(repoDir.resolve("refs/main")), "no newline, as Python");
        assertEquals(
                Set.of(
                        "config.json",
                        "generation_config.json",
                        "model.safetensors",
                        "special_tokens_map.json",
                        "tokenizer.json",
                        "tokenizer_config.json"),
                namesIn(snapshot));
        for (String name : namesIn(snapshot)) {
            Path link = snapshot.resolve(name);
            FakeHub.HubFile file = published.files().get(name);
            String blob = file.lfs() ? file.sha256() : file.blobId(); // the etag huggingface_hub names blobs by
            assertTrue(Files.isSymbolicLink(link), name + " is a link into blobs/");
            assertEquals(Path.of("../../blobs/" + blob), Files.readSymbolicLink(link), "relative, as Python makes it");
            assertArrayEquals(file.content(), Files.readAllBytes(link), name);
        }
        assertTrue(hub.requests().stream().noneMatch(r -> r.contains("train.py") || r.contains("fixtures/")));
        assertTrue(log.toString().contains("100%"), log.toString());
        assertTrue(log.toString().contains("/s  "), "a rate: " + log);
        try (Stream<Path> blobs = Files.list(repoDir.resolve("blobs"))) {
            assertTrue(blobs.noneMatch(p -> p.toString().endsWith(".incomplete")));
        }
    }

    @Test
    void sendsTheTokenToTheHubButNotToTheCdnItRedirectsTo() {
        hub.gate(REPO, "hf_granted");
        download(settings().withToken("hf_granted"));
        List<String> requests = hub.requests();
        assertTrue(
                requests.stream().filter(r -> r.startsWith("hub ")).allMatch(r -> r.endsWith(" auth")),
                requests.toString());
        assertTrue(requests.stream().anyMatch(r -> r.startsWith("cdn GET /cdn/")), requests.toString());
        assertTrue(
                requests.stream().filter(r -> r.startsWith("cdn ")).noneMatch(r -> r.endsWith(" auth")),
                requests.toString());
    }

    @Test
    void resumesADownloadCutMidFileWithARangeRequest() throws IOException {
        hub.cutOnce("model.safetensors", 3_000_000);
        Path snapshot = download(settings());
        assertArrayEquals(
                published.files().get("model.safetensors").content(),
                Files.readAllBytes(snapshot.resolve("model.safetensors")));
        assertTrue(resumedWithin(hub.requests(), 3_000_000), hub.requests().toString());
    }

    @Test
    void aDownloadCutInAnEarlierRunIsResumedFromItsIncompleteFile() throws IOException {
        FakeHub.HubFile weights = published.files().get("model.safetensors");
        Path incomplete = tmp.resolve("hub/models--unmask--tiny-llada/blobs/" + weights.sha256() + ".incomplete");
        Files.createDirectories(incomplete.getParent());
        Files.write(incomplete, java.util.Arrays.copyOf(weights.content(), 1_234_567)); // what a killed run leaves
        Path snapshot = download(settings());
        assertArrayEquals(weights.content(), Files.readAllBytes(snapshot.resolve("model.safetensors")));
        assertTrue(
                hub.requests().stream().anyMatch(r -> r.contains("Range=bytes=1234567-")),
                hub.requests().toString());
        assertFalse(Files.exists(incomplete));
    }

    @Test
    void aFileThatDoesNotMatchItsSha256IsDeletedAndTheDownloadFails() throws IOException {
        hub.corrupt("model.safetensors");
        HubException e = assertThrows(HubException.class, () -> download(settings()));
        assertEquals(HubException.Reason.CHECKSUM_MISMATCH, e.reason());
        assertTrue(
                e.getMessage()
                        .contains("SHA-256 "
                                + published.files().get("model.safetensors").sha256()),
                e.getMessage());
        Path blobs = tmp.resolve("hub/models--unmask--tiny-llada/blobs");
        assertFalse(Files.exists(
                blobs.resolve(published.files().get("model.safetensors").sha256())));
        assertFalse(Files.exists(
                blobs.resolve(published.files().get("model.safetensors").sha256() + ".incomplete")));
        assertFalse(Files.exists(tmp.resolve("hub/models--unmask--tiny-llada/snapshots")
                .resolve(published.commit())
                .resolve("model.safetensors")));
    }

    @Test
    void aFileStoredInGitIsCheckedAgainstItsGitBlobId() {
        hub.corrupt("config.json");
        HubException e = assertThrows(HubException.class, () -> download(settings()));
        assertEquals(HubException.Reason.CHECKSUM_MISMATCH, e.reason());
        assertTrue(e.getMessage().contains("git blob id"), e.getMessage());
    }

    @Test
    void aGatedRepositoryNamesHowToGetAccessWithoutAndWithAWrongToken() {
        hub.gate(REPO, "hf_granted");
        HubException none = assertThrows(HubException.class, () -> download(settings()));
        assertEquals(HubException.Reason.GATED, none.reason());
        assertTrue(none.getMessage().contains("HTTP 401"), none.getMessage());
        assertTrue(none.getMessage().contains("HF_TOKEN"), none.getMessage());
        assertTrue(none.getMessage().contains(hub.endpoint() + "/" + REPO), none.getMessage());
        HubException wrong =
                assertThrows(HubException.class, () -> download(settings().withToken("hf_other")));
        assertEquals(HubException.Reason.GATED, wrong.reason());
        assertTrue(wrong.getMessage().contains("HTTP 403"), wrong.getMessage());
        assertFalse(wrong.getMessage().contains("hf_other"), "the token is never printed");
        assertTrue(Files.isDirectory(download(settings().withToken("hf_granted"))));
    }

    @Test
    void aMissingRepositoryIsRepoNotFoundWithOrWithoutAToken() {
        HubModelId missing = HubModelId.parse("hf:unmask/no-such-model");
        for (HubSettings s : List.of(settings(), settings().withToken("hf_any"))) {
            try (HubClient client = new HubClient(s, DownloadProgress.NONE)) {
                HubException e = assertThrows(HubException.class, () -> HubDownloads.checkpoint(client, missing));
                assertEquals(HubException.Reason.REPO_NOT_FOUND, e.reason());
                assertTrue(e.getMessage().contains("hf:unmask/no-such-model"), e.getMessage());
            }
        }
    }

    @Test
    void aMissingRevisionIsRevisionNotFoundAndShowsACorrectOne() {
        try (HubClient client = new HubClient(settings(), DownloadProgress.NONE)) {
            HubException e = assertThrows(
                    HubException.class, () -> HubDownloads.checkpoint(client, HubModelId.parse("hf:" + REPO + "@v9")));
            assertEquals(HubException.Reason.REVISION_NOT_FOUND, e.reason());
            assertTrue(e.getMessage().contains("hf:" + REPO + "@main"), e.getMessage());
        }
    }

    @Test
    void aCommitRevisionDownloadsThatCommitAndWritesNoRef() {
        try (HubClient client = new HubClient(settings(), DownloadProgress.NONE)) {
            Path snapshot = HubDownloads.checkpoint(client, HubModelId.parse("hf:" + REPO + "@" + published.commit()));
            assertTrue(Files.isRegularFile(snapshot.resolve("config.json")));
        }
        assertFalse(
                Files.exists(tmp.resolve("hub/models--unmask--tiny-llada/refs").resolve(published.commit())));
    }

    @Test
    void aFileTheRevisionDoesNotHaveIsEntryNotFound() {
        try (HubClient client = new HubClient(settings(), DownloadProgress.NONE)) {
            HubSnapshot snapshot = client.open(ID);
            HubException e = assertThrows(HubException.class, () -> snapshot.fetch("pytorch_model.bin"));
            assertEquals(HubException.Reason.ENTRY_NOT_FOUND, e.reason());
            assertTrue(e.getMessage().contains("config.json"), "lists what it has: " + e.getMessage());
        }
    }

    @Test
    void aSecondDownloadAsksOnlyForTheRevisionAndOfflineAsksNothing() {
        Path first = download(settings());
        hub.clearRequests();
        assertEquals(first, download(settings()));
        assertEquals(List.of("hub GET /api/models/" + REPO + "/revision/main"), hub.requests());
        hub.clearRequests();
        assertEquals(first, download(settings().withOffline(true)));
        assertEquals(List.of(), hub.requests());
    }

    @Test
    void offlineWithoutTheModelInTheCacheSaysHowToGetIt() {
        HubException e =
                assertThrows(HubException.class, () -> download(settings().withOffline(true)));
        assertEquals(HubException.Reason.NOT_CACHED, e.reason());
        assertTrue(e.getMessage().contains("HF_HUB_OFFLINE"), e.getMessage());
        assertEquals(List.of(), hub.requests());
    }

    @Test
    void aCacheWrittenByPythonToolsIsUsedWithoutDownloadingABlob() throws IOException {
        // the layout hf_hub_download leaves: blobs named by etag, relative links, refs/main without a newline
        Path repoDir = tmp.resolve("hub/models--unmask--tiny-llada");
        Path snapshot = repoDir.resolve("snapshots").resolve(published.commit());
        Files.createDirectories(snapshot);
        Files.createDirectories(repoDir.resolve("blobs"));
        Files.createDirectories(repoDir.resolve("refs"));
        Files.writeString(repoDir.resolve("refs/main"), published.commit());
        for (FakeHub.HubFile f : published.files().values()) {
            String blob = f.lfs() ? f.sha256() : f.blobId();
            Files.write(repoDir.resolve("blobs").resolve(blob), f.content());
            Path link = snapshot.resolve(f.path());
            Files.createDirectories(link.getParent());
            Files.createSymbolicLink(
                    link, link.getParent().relativize(repoDir.resolve("blobs").resolve(blob)));
        }
        assertEquals(snapshot, download(settings()));
        assertEquals(List.of("hub GET /api/models/" + REPO + "/revision/main"), hub.requests());
    }

    @Test
    void aListedFileNameThatLeavesTheRepositoryIsRefusedAndNothingIsWritten() {
        hub.listExtraFile(REPO, "../../../evil.json");
        HubException e = assertThrows(HubException.class, () -> download(settings()));
        assertEquals(HubException.Reason.BAD_RESPONSE, e.reason());
        assertFalse(Files.exists(tmp.resolve("evil.json")));
        assertFalse(Files.exists(tmp.resolve("hub/models--unmask--tiny-llada/snapshots")));
    }

    @Test
    void aListingOfTooManyFilesOrTooManyBytesIsRefused() {
        hub.listManyFiles(REPO, HubClient.MAX_FILES);
        assertEquals(
                HubException.Reason.BAD_RESPONSE,
                assertThrows(HubException.class, () -> download(settings())).reason());
        hub.listManyFiles(REPO, 0);
        hub.padListing(REPO, HubClient.MAX_LISTING_BYTES + (1 << 20));
        HubException huge = assertThrows(HubException.class, () -> download(settings()));
        assertEquals(HubException.Reason.BAD_RESPONSE, huge.reason());
        assertTrue(huge.getMessage().contains("larger than"), huge.getMessage());
    }

    @Test
    void aDownloadThatStallsIsAbandonedAfterTheStallTimeoutAndResumed() throws IOException {
        hub.stallOnce("model.safetensors", 2_000_000, 8_000);
        Path snapshot = download(settings().withStallTimeout(Duration.ofSeconds(2)));
        assertArrayEquals(
                published.files().get("model.safetensors").content(),
                Files.readAllBytes(snapshot.resolve("model.safetensors")));
        assertTrue(resumedWithin(hub.requests(), 2_000_000), hub.requests().toString());
    }

    @Test
    void aBodyLongerThanItsListedSizeIsCutOffAndDeleted() throws IOException {
        hub.endless("model.safetensors");
        HubException e = assertThrows(HubException.class, () -> download(settings()));
        assertEquals(HubException.Reason.BAD_RESPONSE, e.reason());
        try (Stream<Path> blobs = Files.list(tmp.resolve("hub/models--unmask--tiny-llada/blobs"))) {
            assertTrue(blobs.noneMatch(p -> p.getFileName()
                    .toString()
                    .startsWith(published.files().get("model.safetensors").sha256())));
        }
    }

    @Test
    void aShardedCheckpointFetchesTheShardsItsIndexNamesAndNoOtherWeights() throws IOException {
        String index = "{\"metadata\": {\"total_size\": 8}, \"weight_map\": {"
                + "\"a.weight\": \"model-00001-of-00002.safetensors\", \"b.weight\": \"model-00002-of-00002.safetensors\","
                + "\"c.weight\": \"model-00001-of-00002.safetensors\"}}";
        java.util.Map<String, FakeHub.HubFile> files = new java.util.LinkedHashMap<>();
        for (String[] f : new String[][] {
            {"config.json", "{}"},
            {"model.safetensors.index.json", index},
            {"model-00001-of-00002.safetensors", "shard one"},
            {"model-00002-of-00002.safetensors", "shard two"},
            {"old/model.safetensors", "an older export, not in the index"},
            {"pytorch_model.bin", "not read"}
        }) {
            files.put(
                    f[0],
                    new FakeHub.HubFile(
                            f[0], f[1].getBytes(java.nio.charset.StandardCharsets.UTF_8), FakeHub.isLfs(f[0])));
        }
        hub.publish("unmask/sharded", files);
        Path snapshot;
        try (HubClient client = new HubClient(settings(), DownloadProgress.NONE)) {
            snapshot = HubDownloads.checkpoint(client, HubModelId.parse("hf:unmask/sharded"));
        }
        assertEquals(
                Set.of(
                        "config.json",
                        "model.safetensors.index.json",
                        "model-00001-of-00002.safetensors",
                        "model-00002-of-00002.safetensors"),
                namesIn(snapshot));
        assertTrue(hub.requests().stream().noneMatch(r -> r.contains("old/") || r.contains("pytorch_model.bin")));

        files.put(
                "model.safetensors.index.json",
                new FakeHub.HubFile(
                        "model.safetensors.index.json",
                        "{\"weight_map\": {\"a\": \"../../../../etc/passwd\"}}"
                                .getBytes(java.nio.charset.StandardCharsets.UTF_8),
                        false));
        hub.publish("unmask/traversal", files);
        try (HubClient client = new HubClient(settings(), DownloadProgress.NONE)) {
            HubException e = assertThrows(
                    HubException.class, () -> HubDownloads.checkpoint(client, HubModelId.parse("hf:unmask/traversal")));
            assertEquals(HubException.Reason.BAD_RESPONSE, e.reason());
        }
        files.put(
                "model.safetensors.index.json",
                new FakeHub.HubFile(
                        "model.safetensors.index.json",
                        "{\"weight_map\": {\"a\": \"model-00009-of-00009.safetensors\"}}"
                                .getBytes(java.nio.charset.StandardCharsets.UTF_8),
                        false));
        hub.publish("unmask/incomplete", files);
        try (HubClient client = new HubClient(settings(), DownloadProgress.NONE)) {
            HubException e = assertThrows(
                    HubException.class,
                    () -> HubDownloads.checkpoint(client, HubModelId.parse("hf:unmask/incomplete")));
            assertEquals(HubException.Reason.ENTRY_NOT_FOUND, e.reason());
            assertTrue(e.getMessage().contains("model-00009-of-00009.safetensors"), e.getMessage());
        }
    }

    /**
     * Whether a CDN request resumed from a byte in (0, sent]: how many of the bytes sent before a cut arrive depends
     * on the sockets' buffers, not on the test.
     */
    static boolean resumedWithin(List<String> requests, long sent) {
        return requests.stream()
                .filter(r -> r.startsWith("cdn GET /cdn/") && r.contains("Range=bytes="))
                .map(r -> Long.parseLong(
                        r.substring(r.indexOf("Range=bytes=") + 12, r.indexOf('-', r.indexOf("Range=bytes=")))))
                .anyMatch(start -> start > 0 && start <= sent);
    }

    static Set<String> namesIn(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).collect(java.util.stream.Collectors.toSet());
        }
    }
}
