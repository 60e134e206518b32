package dev.unmask.hub;

/**
 * One file of a repository revision, as the Hub's model info lists it with {@code ?blobs=true}:
 * {@code {"rfilename": ..., "blobId": ..., "size": ..., "lfs": {"sha256": ..., "size": ..., "pointerSize": ...}}}.
 *
 * @param path   the file's path in the repository, checked by {@link RepoPaths#check}
 * @param bytes  its size (the LFS object's size for an LFS file); -1 when the listing did not say
 * @param blobId the git blob id (SHA-1 of {@code "blob <size>\0" + content}) for a file stored in git; may be null
 * @param sha256 the SHA-256 of the content for an LFS file; null for a file stored in git
 */
public record RepoFile(String path, long bytes, String blobId, String sha256) {

    public boolean isLfs() {
        return sha256 != null;
    }

    /**
     * The name of its blob in the cache: huggingface_hub names a blob by the normalized ETag of the resolve
     * response, which the Hub sets to the LFS SHA-256 ({@code X-Linked-Etag}) for an LFS file and to the git blob id
     * ({@code ETag}) otherwise; both are in the listing, so the name is known before any download.
     */
    public String blobName() {
        return sha256 != null ? sha256 : blobId;
    }
}
