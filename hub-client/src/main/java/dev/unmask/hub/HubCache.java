package dev.unmask.hub;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;

/**
 * One repository's folder in the cache of huggingface_hub ({@code file_download.py}, {@code hf_hub_download} and
 * {@code _create_symlink}; {@code _snapshot_download.py} for {@code refs/}):
 *
 * <pre>
 * models--ORG--NAME/
 *   blobs/&lt;etag&gt;                  the content, named by the LFS SHA-256 or the git blob id
 *   blobs/&lt;etag&gt;.incomplete       a download in progress, resumed with an HTTP Range
 *   snapshots/&lt;commit&gt;/&lt;path&gt;     a relative symbolic link to ../../blobs/&lt;etag&gt; (one more ../ per folder)
 *   refs/&lt;revision&gt;              the commit the branch or tag pointed to, no newline
 * </pre>
 *
 * So a model downloaded by Python tools is found here without a download, and one downloaded here is found by them.
 */
public final class HubCache {

    private final Path repoDir;

    public HubCache(Path cacheRoot, HubModelId id) {
        this.repoDir = cacheRoot.resolve(id.cacheFolderName());
    }

    public Path repoDir() {
        return repoDir;
    }

    public Path blob(String blobName) {
        return repoDir.resolve("blobs").resolve(checkBlobName(blobName));
    }

    public Path incomplete(String blobName) {
        return repoDir.resolve("blobs").resolve(checkBlobName(blobName) + ".incomplete");
    }

    public Path snapshot(String commit) {
        if (!HubModelId.COMMIT.matcher(commit).matches()) {
            throw new HubException(
                    HubException.Reason.BAD_RESPONSE,
                    "the Hub named the commit '" + RepoPaths.shorten(commit) + "', which is not 40 hex digits");
        }
        return repoDir.resolve("snapshots").resolve(commit);
    }

    /** The file {@code path} of {@code commit}'s snapshot (which may not exist yet). */
    public Path file(String commit, String path) {
        return snapshot(commit).resolve(RepoPaths.check(path, "a file of " + repoDir.getFileName()));
    }

    /** The commit {@code revision} stands for in this cache: itself if it is one, else {@code refs/<revision>}. */
    public Optional<String> commitOf(String revision) {
        if (HubModelId.COMMIT.matcher(revision).matches()) {
            return Optional.of(revision);
        }
        Path ref = repoDir.resolve("refs").resolve(revision);
        try {
            if (!Files.isRegularFile(ref) || Files.size(ref) > 256) {
                return Optional.empty();
            }
            String commit = Files.readString(ref, StandardCharsets.UTF_8).strip();
            return HubModelId.COMMIT.matcher(commit).matches() ? Optional.of(commit) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Records that {@code revision} is {@code commit}, written as huggingface_hub writes it (no newline). */
    public void writeRef(String revision, String commit) {
        if (revision.equals(commit)) {
            return;
        }
        Path ref = repoDir.resolve("refs").resolve(revision);
        try {
            Files.createDirectories(ref.getParent());
            if (commitOf(revision).filter(commit::equals).isPresent()) {
                return; // unchanged: a read-only cache stays usable, as in huggingface_hub (its issue 1216)
            }
            Path tmp = ref.resolveSibling(
                    ref.getFileName() + ".tmp-" + ProcessHandle.current().pid());
            Files.writeString(tmp, commit, StandardCharsets.UTF_8);
            moveReplacing(tmp, ref);
        } catch (IOException e) {
            throw new UncheckedIOException("Could not write " + ref + " (" + e.getMessage() + ")", e);
        }
    }

    /**
     * Whether the snapshot holds {@code file} with its content: the link leads to a blob of the listed size (when the
     * listing gives one). The content is not hashed again: it was when its blob was written.
     */
    public boolean holds(String commit, RepoFile file) {
        Path p = file(commit, file.path());
        try {
            return Files.isRegularFile(p) && (file.bytes() < 0 || Files.size(p) == file.bytes());
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Points {@code snapshots/<commit>/<path>} at {@code blobs/<blobName>} with a relative link, as huggingface_hub's
     * {@code _create_symlink} does ({@code os.path.relpath(blob, dirname(pointer))}); where links cannot be made
     * (Windows without developer mode) the blob is copied, as huggingface_hub falls back to.
     */
    public Path link(String commit, String path, String blobName) {
        Path pointer = file(commit, path);
        Path blob = blob(blobName);
        try {
            Files.createDirectories(pointer.getParent());
            Files.deleteIfExists(pointer);
            Path relative = pointer.getParent().relativize(blob);
            try {
                Files.createSymbolicLink(pointer, relative);
            } catch (UnsupportedOperationException | IOException e) {
                Files.copy(blob, pointer, StandardCopyOption.REPLACE_EXISTING);
            }
            return pointer;
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "Could not link " + pointer + " to " + blob + " (" + e.getMessage() + ")", e);
        }
    }

    static void moveReplacing(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static String checkBlobName(String blobName) {
        if (blobName == null || !blobName.matches("[0-9a-f]{40}|[0-9a-f]{64}")) {
            throw new HubException(
                    HubException.Reason.BAD_RESPONSE,
                    "the Hub named a blob '" + RepoPaths.shorten(blobName)
                            + "', which is neither a git blob id (40 hex digits) nor a SHA-256 (64)");
        }
        return blobName;
    }
}
