package dev.unmask.hub;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The Hub's HTTP API as huggingface_hub uses it, over the JDK's {@link HttpClient}: one request for the revision
 * and its file list, then one {@code resolve} request per file that is not in the cache yet.
 *
 * <ul>
 *   <li>{@code GET {endpoint}/api/models/{repo}/revision/{revision}?blobs=true}: {@code sha} (the commit) and
 *       {@code siblings} ({@code rfilename}, {@code size}, {@code blobId}, {@code lfs.sha256}); {@code hf_api.py}
 *       {@code model_info(files_metadata=True)}.
 *   <li>{@code GET {endpoint}/{repo}/resolve/{commit}/{path}}: the content, or a 302 to a CDN ({@code Location}),
 *       with {@code X-Repo-Commit}, {@code X-Linked-Etag}, {@code X-Linked-Size}; a cut download is resumed with
 *       {@code Range: bytes=N-} on {@code blobs/<etag>.incomplete}, as {@code file_download.py}'s {@code http_get}.
 *   <li>Errors by {@code X-Error-Code} ({@code RepoNotFound}, {@code RevisionNotFound}, {@code EntryNotFound},
 *       {@code GatedRepo}) and the status, as {@code utils/_http.py}'s {@code hf_raise_for_status}.
 * </ul>
 *
 * Everything an endpoint sends is bounded: the listing's bytes and file count, each file's bytes (its listed size),
 * the redirects, the time to the headers and any stall in a body. The token goes to the endpoint's host only, never
 * to a CDN a redirect leads to, and is never printed.
 */
public final class HubClient implements AutoCloseable {

    /** A model info of a repository with thousands of files is a few MiB. */
    static final long MAX_LISTING_BYTES = 32L << 20;
    /** More files than any model repository holds. */
    static final int MAX_FILES = 20_000;
    /** huggingface_hub's MAX_HTTP_DOWNLOAD_SIZE: larger files need Xet, not plain HTTP. */
    static final long MAX_FILE_BYTES = 50L * 1000 * 1000 * 1000;
    /** A JSON file read into memory (an index, a manifest, a config). */
    static final long MAX_SMALL_FILE_BYTES = 64L << 20;

    private static final int MAX_REDIRECTS = 10;
    /** Resumes within one call after a cut connection before giving up (the next run resumes again). */
    private static final int RESUMES = 3;

    private static final ObjectMapper JSON = new ObjectMapper();

    private final HubSettings settings;
    private final DownloadProgress progress;
    private final HttpClient http;
    private final ScheduledExecutorService watchdog;

    public HubClient(HubSettings settings, DownloadProgress progress) {
        this.settings = settings;
        this.progress = progress;
        this.http = HttpClient.newBuilder()
                .followRedirects(HttpClient.Redirect.NEVER) // followed here, dropping the token off the Hub's host
                .connectTimeout(Duration.ofSeconds(30))
                .build();
        this.watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "hub-download-watchdog");
            t.setDaemon(true);
            return t;
        });
    }

    public HubSettings settings() {
        return settings;
    }

    /**
     * The revision {@code id} names and its files: from the Hub (one metadata request), or, offline, from the cache
     * alone.
     *
     * @throws HubException for a missing or gated repository, a missing revision, an endpoint that misbehaves, or an
     *                      offline cache that does not hold the revision
     */
    public HubSnapshot open(HubModelId id) {
        HubCache cache = new HubCache(settings.cacheRoot(), id);
        if (settings.offline()) {
            return offline(id, cache);
        }
        URI uri = URI.create(settings.endpoint() + "/api/models/" + id.repo() + "/revision/"
                + encode(id.revision(), false) + "?blobs=true");
        JsonNode info;
        try {
            HttpResponse<InputStream> response = send(uri, null);
            try (InputStream body = response.body()) {
                if (response.statusCode() != 200) {
                    throw failure(response, id, null);
                }
                byte[] json = readAtMost(body, MAX_LISTING_BYTES, "the model info of " + id);
                try {
                    info = JSON.readTree(json);
                } catch (JsonProcessingException e) {
                    throw new HubException(
                            HubException.Reason.BAD_RESPONSE,
                            settings.endpoint() + " answered the model info of " + id + " with no JSON ("
                                    + e.getOriginalMessage() + "): is HF_ENDPOINT a Hub or a mirror of one?",
                            e);
                }
            }
        } catch (IOException e) {
            throw unreachable(id, e);
        }
        String commit = info.path("sha").asText("");
        if (!HubModelId.COMMIT.matcher(commit).matches()) {
            throw new HubException(
                    HubException.Reason.BAD_RESPONSE,
                    settings.endpoint() + " answered the model info of " + id + " without a commit ('sha' of 40 hex "
                            + "digits): is HF_ENDPOINT a Hub or a mirror of one?");
        }
        JsonNode siblings = info.path("siblings");
        if (!siblings.isArray() || siblings.size() > MAX_FILES) {
            throw new HubException(
                    HubException.Reason.BAD_RESPONSE,
                    settings.endpoint() + " lists "
                            + (siblings.isArray() ? siblings.size() + " files" : "no 'siblings'") + " for " + id
                            + "; a model repository has at most " + MAX_FILES);
        }
        Map<String, RepoFile> files = new LinkedHashMap<>();
        for (JsonNode s : siblings) {
            String path = RepoPaths.check(s.path("rfilename").asText(null), "the file list of " + id);
            JsonNode lfs = s.path("lfs");
            String sha256 = lfs.isObject() ? hex(lfs.path("sha256").asText(null), 64, id) : null;
            long bytes = lfs.isObject()
                    ? lfs.path("size").asLong(-1)
                    : s.path("size").asLong(-1);
            if (bytes > MAX_FILE_BYTES) {
                throw new HubException(
                        HubException.Reason.BAD_RESPONSE,
                        id + " lists '" + path + "' of " + bytes + " bytes, more than the " + MAX_FILE_BYTES
                                + " a plain HTTP download takes");
            }
            files.put(path, new RepoFile(path, bytes, hex(s.path("blobId").asText(null), 40, id), sha256));
        }
        cache.writeRef(id.revision(), commit);
        return new HubSnapshot(this, id, cache, commit, files, false);
    }

    private HubSnapshot offline(HubModelId id, HubCache cache) {
        String commit = cache.commitOf(id.revision())
                .orElseThrow(() -> new HubException(
                        HubException.Reason.NOT_CACHED,
                        "HF_HUB_OFFLINE is set and the cache " + settings.cacheRoot() + " has no " + id
                                + " (no refs/" + id.revision() + "): download it once online (unset "
                                + "HF_HUB_OFFLINE), or point HF_HUB_CACHE at a cache that holds it"));
        Path folder = cache.snapshot(commit);
        if (!Files.isDirectory(folder)) {
            throw new HubException(
                    HubException.Reason.NOT_CACHED,
                    "HF_HUB_OFFLINE is set and the cache has no snapshot " + commit + " of " + id + " (" + folder
                            + "): download it once online");
        }
        Map<String, RepoFile> files = new LinkedHashMap<>();
        try (Stream<Path> walk = Files.walk(folder)) {
            for (Path p : (Iterable<Path>) walk.limit(MAX_FILES + 1L)::iterator) {
                if (Files.isRegularFile(p)) {
                    String path = folder.relativize(p).toString().replace('\\', '/');
                    files.put(path, new RepoFile(path, Files.size(p), null, null));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Could not read the cached snapshot " + folder, e);
        }
        progress.note("offline (HF_HUB_OFFLINE): " + id + " is commit " + commit + " in " + settings.cacheRoot());
        return new HubSnapshot(this, id, cache, commit, files, true);
    }

    /**
     * Downloads {@code file} of {@code commit} into {@code cache}'s blobs, resuming a cut download, and checks it
     * against the listing's SHA-256 (LFS) or git blob id; returns the blob's name.
     */
    String download(HubModelId id, HubCache cache, String commit, RepoFile file) {
        String name = file.blobName();
        if (name == null) {
            throw new HubException(
                    HubException.Reason.BAD_RESPONSE,
                    settings.endpoint() + " lists '" + file.path() + "' of " + id + " without a blob id or LFS "
                            + "SHA-256 (the listing's ?blobs=true): it cannot be checked, so it is not downloaded");
        }
        Path incomplete = cache.incomplete(name);
        URI uri = URI.create(
                settings.endpoint() + "/" + id.repo() + "/resolve/" + commit + "/" + encode(file.path(), true));
        long expected = file.bytes() >= 0 ? file.bytes() : MAX_FILE_BYTES;
        try {
            Files.createDirectories(incomplete.getParent());
        } catch (IOException e) {
            throw new UncheckedIOException("Could not create " + incomplete.getParent(), e);
        }
        boolean announced = false;
        for (int attempt = 0; ; attempt++) {
            long resume = sizeOf(incomplete);
            if (resume > expected) {
                deleteQuietly(incomplete);
                resume = 0;
            }
            if (!announced) {
                progress.fileStarted(file.path(), file.bytes(), resume);
                announced = true;
            }
            try {
                fetchInto(id, file, uri, incomplete, resume, expected);
                break;
            } catch (IOException e) {
                if (attempt >= RESUMES) {
                    throw new HubException(
                            HubException.Reason.NETWORK,
                            "The download of '" + file.path() + "' of " + id + " was cut at " + sizeOf(incomplete)
                                    + " of " + file.bytes() + " bytes (" + e.getMessage() + "); run the same command "
                                    + "again to resume it from " + incomplete,
                            e);
                }
                progress.note("connection lost in '" + file.path() + "' at " + sizeOf(incomplete) + " bytes; resuming ("
                        + (attempt + 1) + "/" + RESUMES + ")");
            }
        }
        verify(id, file, incomplete);
        try {
            HubCache.moveReplacing(incomplete, cache.blob(name));
        } catch (IOException e) {
            throw new UncheckedIOException("Could not move " + incomplete + " into place", e);
        }
        progress.fileDone(file.path());
        return name;
    }

    /** One GET (and its redirects) appending to {@code incomplete} from byte {@code resume}. */
    private void fetchInto(HubModelId id, RepoFile file, URI uri, Path incomplete, long resume, long expected)
            throws IOException {
        HttpResponse<InputStream> response = send(uri, resume > 0 ? "bytes=" + resume + "-" : null);
        try (InputStream body = response.body()) {
            int status = response.statusCode();
            boolean append;
            if (status == 206 && resume > 0 && contentRangeStartsAt(response, resume)) {
                append = true;
            } else if (status == 200) {
                append = false; // the server ignored the Range: start over, as huggingface_hub does
            } else if (status == 416 && resume > 0) {
                deleteQuietly(incomplete); // the partial file is no prefix of this one
                throw new IOException("the server refused the range from " + resume);
            } else {
                throw failure(response, id, file.path());
            }
            long start = append ? resume : 0;
            if (!append && resume > 0) {
                progress.transferred(-resume);
            }
            copy(body, incomplete, append, expected - start, id, file);
        }
    }

    private void copy(InputStream body, Path target, boolean append, long limit, HubModelId id, RepoFile file)
            throws IOException {
        long[] lastProgress = {System.nanoTime()};
        boolean[] stalled = {false};
        long stallNanos = settings.stallTimeout().toNanos();
        // a read of the JDK's response stream is not interruptible (JDK 17), but closing the stream from another
        // thread ends it with an IOException: that is how a stalled body is abandoned
        ScheduledFuture<?> guard = watchdog.scheduleAtFixedRate(
                () -> {
                    if (System.nanoTime() - lastProgress[0] > stallNanos) {
                        stalled[0] = true;
                        try {
                            body.close();
                        } catch (IOException e) {
                            // closed already
                        }
                    }
                },
                Math.max(10, stallNanos / 4_000_000),
                Math.max(10, stallNanos / 4_000_000),
                TimeUnit.MILLISECONDS);
        long written = 0;
        boolean tooLong = false;
        try (OutputStream out = Files.newOutputStream(
                target,
                StandardOpenOption.CREATE,
                StandardOpenOption.WRITE,
                append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING)) {
            byte[] buffer = new byte[1 << 16];
            for (int n; (n = body.read(buffer)) >= 0; ) {
                lastProgress[0] = System.nanoTime();
                if (written + n > limit) {
                    tooLong = true; // an endless body: no more is read, and the file goes
                    break;
                }
                out.write(buffer, 0, n);
                written += n;
                progress.transferred(n);
            }
        } catch (IOException e) {
            if (stalled[0]) {
                throw new IOException("no data for " + settings.stallTimeout().toSeconds() + " s", e);
            }
            throw e;
        } finally {
            guard.cancel(false);
        }
        if (tooLong) {
            deleteQuietly(target);
            throw new HubException(
                    HubException.Reason.BAD_RESPONSE,
                    settings.endpoint() + " sent more of '" + file.path() + "' of " + id + " than the " + file.bytes()
                            + " bytes its listing gives; the partial file was deleted");
        }
        if (file.bytes() >= 0 && Files.size(target) < file.bytes()) {
            throw new IOException("the body ended early");
        }
    }

    private void verify(HubModelId id, RepoFile file, Path downloaded) {
        try {
            long size = Files.size(downloaded);
            String actual;
            if (file.isLfs()) {
                MessageDigest sha = digest("SHA-256");
                hashFile(downloaded, sha);
                actual = HexFormat.of().formatHex(sha.digest());
            } else {
                MessageDigest sha1 = digest("SHA-1"); // git's blob id: sha1("blob <size>\0" + content)
                sha1.update(("blob " + size + "\0").getBytes(StandardCharsets.US_ASCII));
                hashFile(downloaded, sha1);
                actual = HexFormat.of().formatHex(sha1.digest());
            }
            String wanted = file.blobName();
            if (!actual.equals(wanted) || file.bytes() >= 0 && size != file.bytes()) {
                deleteQuietly(downloaded);
                throw new HubException(
                        HubException.Reason.CHECKSUM_MISMATCH,
                        "'" + file.path() + "' of " + id + " does not match the Hub's metadata: "
                                + (file.isLfs() ? "SHA-256 " : "git blob id ") + wanted + " and " + file.bytes()
                                + " bytes expected, the download has " + actual + " and " + size
                                + " bytes. The download was deleted; run again to fetch it afresh, and if it "
                                + "repeats, the endpoint (" + settings.endpoint() + ") serves a damaged file");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Could not read " + downloaded, e);
        }
    }

    /** A GET that follows up to {@value #MAX_REDIRECTS} redirects, sending the token to the endpoint's host only. */
    private HttpResponse<InputStream> send(URI uri, String range) throws IOException {
        URI current = uri;
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            HttpRequest.Builder request = HttpRequest.newBuilder(current)
                    .GET()
                    .timeout(settings.stallTimeout())
                    .header("User-Agent", "unmask/0.1 (huggingface_hub-compatible)")
                    .header("Accept-Encoding", "identity"); // the real size, as huggingface_hub asks
            if (settings.token() != null && sameHost(current, settings.endpoint())) {
                request.header("Authorization", "Bearer " + settings.token());
            }
            if (range != null) {
                request.header("Range", range);
            }
            HttpResponse<InputStream> response;
            try {
                response = http.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            }
            int status = response.statusCode();
            Optional<String> location = response.headers().firstValue("Location");
            if (status >= 300 && status < 400 && location.isPresent()) {
                response.body().close();
                current = redirectTarget(current, location.get());
                continue;
            }
            return response;
        }
        throw new HubException(
                HubException.Reason.BAD_RESPONSE, uri + " redirects more than " + MAX_REDIRECTS + " times");
    }

    private static URI redirectTarget(URI from, String location) {
        URI target;
        try {
            target = from.resolve(location.strip());
        } catch (IllegalArgumentException e) {
            throw new HubException(
                    HubException.Reason.BAD_RESPONSE,
                    from + " redirects to '" + RepoPaths.shorten(location) + "', which is no URL");
        }
        String host = target.getHost() == null ? "" : target.getHost();
        boolean loopback = host.equals("localhost") || host.startsWith("127.");
        if (!("https".equals(target.getScheme()) || "http".equals(target.getScheme()) && loopback)) {
            throw new HubException(
                    HubException.Reason.BAD_RESPONSE,
                    from + " redirects to " + RepoPaths.shorten(target.toString()) + ": only https is followed");
        }
        return target;
    }

    /** The failure a non-success response means, by its {@code X-Error-Code} first, then its status. */
    private HubException failure(HttpResponse<InputStream> response, HubModelId id, String path) {
        int status = response.statusCode();
        String code = response.headers().firstValue("X-Error-Code").orElse("");
        String message = RepoPaths.shorten(
                response.headers().firstValue("X-Error-Message").orElse(""));
        String said = message.isEmpty() ? "HTTP " + status : "HTTP " + status + ": " + message;
        String page = settings.endpoint() + "/" + id.repo();
        if (code.equals("RepoNotFound") || status == 404 && code.isEmpty() && path == null) {
            return new HubException(
                    HubException.Reason.REPO_NOT_FOUND,
                    id + " is not on " + settings.endpoint() + " (" + said + "). Check the name at " + page
                            + " (e.g. " + HubModelId.EXAMPLE + "); a private repository needs HF_TOKEN set to a "
                            + "token that can read it" + (settings.token() == null ? " (none is set)" : ""));
        }
        if (code.equals("GatedRepo") || status == 401 || status == 403) {
            return new HubException(
                    HubException.Reason.GATED,
                    id + " is gated or private (" + said + "). Accept its conditions on " + page + " with your "
                            + "account, create a read token at " + settings.endpoint() + "/settings/tokens and "
                            + "set HF_TOKEN=hf_... before running again"
                            + (settings.token() == null
                                    ? " (no token is set now)"
                                    : " (the token set now has no access)"));
        }
        if (code.equals("RevisionNotFound")) {
            return new HubException(
                    HubException.Reason.REVISION_NOT_FOUND,
                    id.repo() + " has no revision '" + id.revision() + "' (" + said + "): give a branch, tag or commit "
                            + "that exists (see " + page + "/tree/main), e.g. hf:" + id.repo() + "@main");
        }
        if (code.equals("EntryNotFound") || status == 404) {
            return new HubException(
                    HubException.Reason.ENTRY_NOT_FOUND, id + " has no file '" + path + "' (" + said + ")");
        }
        return new HubException(
                HubException.Reason.NETWORK,
                settings.endpoint() + " answered " + said + " for " + id + (path == null ? "" : " '" + path + "'")
                        + "; try again later");
    }

    private HubException unreachable(HubModelId id, IOException e) {
        return new HubException(
                HubException.Reason.NETWORK,
                "Could not reach " + settings.endpoint() + " for " + id + " (" + e + "). Check the network, or set "
                        + "HF_ENDPOINT to a mirror; set HF_HUB_OFFLINE=1 to use only what the cache ("
                        + settings.cacheRoot() + ") holds",
                e);
    }

    static byte[] readAtMost(InputStream in, long limit, String what) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buffer = new byte[1 << 16];
        for (int n; (n = in.read(buffer)) >= 0; ) {
            if (out.size() + (long) n > limit) {
                throw new HubException(
                        HubException.Reason.BAD_RESPONSE,
                        what + " is larger than " + limit + " bytes; no Hub sends that much, nothing was kept");
            }
            out.write(buffer, 0, n);
        }
        return out.toByteArray();
    }

    private static boolean contentRangeStartsAt(HttpResponse<?> response, long start) {
        return response.headers()
                .firstValue("Content-Range")
                .map(v -> v.strip().startsWith("bytes " + start + "-"))
                .orElse(false);
    }

    private static boolean sameHost(URI a, URI b) {
        return a.getHost() != null
                && a.getHost().equalsIgnoreCase(b.getHost())
                && a.getPort() == b.getPort()
                && a.getScheme().equals(b.getScheme());
    }

    private static String hex(String value, int length, HubModelId id) {
        if (value == null) {
            return null;
        }
        if (value.length() != length || !value.chars().allMatch(c -> c >= '0' && c <= '9' || c >= 'a' && c <= 'f')) {
            throw new HubException(
                    HubException.Reason.BAD_RESPONSE,
                    "the file list of " + id + " has the id '" + RepoPaths.shorten(value) + "' where " + length
                            + " hex digits belong");
        }
        return value;
    }

    /** Percent-encodes as Python's {@code quote}: unreserved characters kept, and '/' kept in a path. */
    static String encode(String s, boolean keepSlash) {
        StringBuilder out = new StringBuilder();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if (c >= 'a' && c <= 'z'
                    || c >= 'A' && c <= 'Z'
                    || c >= '0' && c <= '9'
                    || c == '-'
                    || c == '_'
                    || c == '.'
                    || c == '~'
                    || keepSlash && c == '/') {
                out.append((char) c);
            } else {
                out.append('%').append(String.format("%02X", c));
            }
        }
        return out.toString();
    }

    private static void hashFile(Path file, MessageDigest digest) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buffer = new byte[1 << 16];
            for (int n; (n = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, n);
            }
        }
    }

    private static MessageDigest digest(String algorithm) {
        try {
            return MessageDigest.getInstance(algorithm);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(algorithm + " is part of every JDK", e);
        }
    }

    static long sizeOf(Path p) {
        try {
            return Files.isRegularFile(p) ? Files.size(p) : 0;
        } catch (IOException e) {
            return 0;
        }
    }

    static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            // best effort: an .incomplete left behind is resumed or replaced by the next run
        }
    }

    DownloadProgress progress() {
        return progress;
    }

    @Override
    public void close() {
        watchdog.shutdownNow();
    }
}
