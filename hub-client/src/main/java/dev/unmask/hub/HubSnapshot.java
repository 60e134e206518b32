package dev.unmask.hub;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One revision of a repository, resolved to its commit: its file list, and its snapshot folder in the cache, which
 * {@link #fetch} fills with only the files asked for. A file already in the snapshot (downloaded before, by Unmask or
 * by Python tools) costs no request; offline, only such files can be had.
 */
public final class HubSnapshot {

    private final HubClient client;
    private final HubModelId id;
    private final HubCache cache;
    private final String commit;
    private final Map<String, RepoFile> files;
    private final boolean offline;

    HubSnapshot(
            HubClient client,
            HubModelId id,
            HubCache cache,
            String commit,
            Map<String, RepoFile> files,
            boolean offline) {
        this.client = client;
        this.id = id;
        this.cache = cache;
        this.commit = commit;
        this.files = Map.copyOf(files);
        this.offline = offline;
    }

    public HubModelId id() {
        return id;
    }

    /** The commit the revision stands for (40 hex digits). */
    public String commit() {
        return commit;
    }

    /** {@code <cache>/models--ORG--NAME/snapshots/<commit>}: what a converter or a pull reads. */
    public Path folder() {
        return cache.snapshot(commit);
    }

    /** The repository's files at this commit (offline: the files the cached snapshot holds). */
    public Map<String, RepoFile> files() {
        return files;
    }

    public boolean has(String path) {
        return files.containsKey(path);
    }

    public Optional<RepoFile> file(String path) {
        return Optional.ofNullable(files.get(path));
    }

    /** {@link #fetchAll} of one file; its path in the snapshot. */
    public Path fetch(String path) {
        fetchAll(List.of(path));
        return cache.file(commit, path);
    }

    /**
     * Makes every file of {@code paths} present in the snapshot folder: linked from a blob already in the cache, or
     * downloaded and checked. Returns the folder.
     *
     * @throws HubException {@code ENTRY_NOT_FOUND} for a path the revision does not have (nothing is fetched then),
     *                      and the download failures of {@link HubClient}
     */
    public Path fetchAll(Collection<String> paths) {
        List<RepoFile> wanted = new ArrayList<>();
        for (String path : paths) {
            RepoFile f = files.get(path);
            if (f == null) {
                throw missing(path);
            }
            wanted.add(f);
        }
        List<RepoFile> toFetch = new ArrayList<>();
        long bytes = 0;
        long cached = 0;
        for (RepoFile f : wanted) {
            long size = Math.max(0, f.bytes());
            bytes += size;
            if (cache.holds(commit, f)) {
                cached += size;
            } else if (f.blobName() != null && blobComplete(f)) {
                cache.link(commit, f.path(), f.blobName()); // the same content in another snapshot
                cached += size;
            } else {
                toFetch.add(f);
            }
        }
        if (toFetch.isEmpty()) {
            return folder();
        }
        if (offline) {
            throw new HubException(
                    HubException.Reason.NOT_CACHED,
                    "HF_HUB_OFFLINE is set and the cached snapshot " + folder() + " lacks '"
                            + toFetch.get(0).path()
                            + "'" + (toFetch.size() > 1 ? " and " + (toFetch.size() - 1) + " more" : "")
                            + ": download " + id + " once online (unset HF_HUB_OFFLINE)");
        }
        client.progress().plan(wanted.size(), bytes, cached);
        for (RepoFile f : toFetch) {
            String blob = client.download(id, cache, commit, f);
            cache.link(commit, f.path(), blob);
        }
        return folder();
    }

    /** The content of a small file (an index, a manifest), fetched first; refused beyond {@code limit} bytes. */
    public byte[] read(String path, long limit) {
        Path p = fetch(path);
        try (InputStream in = Files.newInputStream(p)) {
            return HubClient.readAtMost(in, Math.min(limit, HubClient.MAX_SMALL_FILE_BYTES), "'" + path + "' of " + id);
        } catch (IOException e) {
            throw new UncheckedIOException("Could not read " + p, e);
        }
    }

    private boolean blobComplete(RepoFile f) {
        Path blob = cache.blob(f.blobName());
        return Files.isRegularFile(blob) && (f.bytes() < 0 || HubClient.sizeOf(blob) == f.bytes());
    }

    private HubException missing(String path) {
        List<String> some = files.keySet().stream().sorted().limit(12).toList();
        return new HubException(
                HubException.Reason.ENTRY_NOT_FOUND,
                id + " (commit " + commit + ") has no file '" + path + "'"
                        + (offline ? " in the cached snapshot " + folder() : "") + "; it has " + files.size()
                        + " file(s): " + String.join(", ", some) + (files.size() > some.size() ? ", ..." : ""));
    }
}
