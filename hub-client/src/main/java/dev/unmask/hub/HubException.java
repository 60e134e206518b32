package dev.unmask.hub;

import dev.unmask.failure.Failure;
import dev.unmask.failure.UnmaskException;

/**
 * A download from the Hub that cannot go on, with why ({@link #reason()}): tests and callers decide by the reason,
 * exit codes and HTTP statuses by its {@link Failure}. The message says what to do.
 */
public final class HubException extends UnmaskException {

    private static final long serialVersionUID = 1L;

    /** Why a download failed; each maps to one failure kind. */
    public enum Reason {
        /** 401/403 on a gated or private repository: accept its terms on the Hub and set HF_TOKEN */
        GATED(Failure.BAD_REQUEST),
        /** the repository does not exist (X-Error-Code: RepoNotFound) */
        REPO_NOT_FOUND(Failure.BAD_REQUEST),
        /** the branch, tag or commit does not exist (X-Error-Code: RevisionNotFound) */
        REVISION_NOT_FOUND(Failure.BAD_REQUEST),
        /** a file the model needs is not in the repository (X-Error-Code: EntryNotFound, or absent from its list) */
        ENTRY_NOT_FOUND(Failure.BAD_INPUT),
        /** a downloaded file does not match its SHA-256 (or git blob id) from the Hub's metadata: it was deleted */
        CHECKSUM_MISMATCH(Failure.BAD_INPUT),
        /** the endpoint answered something no Hub sends: too large, too many files, a file name outside the repo */
        BAD_RESPONSE(Failure.BAD_INPUT),
        /** HF_HUB_OFFLINE is set and the cache does not hold what is needed */
        NOT_CACHED(Failure.IO),
        /** the endpoint could not be reached, stalled, or cut the connection (a retry resumes) */
        NETWORK(Failure.IO);

        private final Failure failure;

        Reason(Failure failure) {
            this.failure = failure;
        }

        public Failure failure() {
            return failure;
        }
    }

    private final Reason reason;

    public HubException(Reason reason, String message) {
        this(reason, message, null);
    }

    public HubException(Reason reason, String message, Throwable cause) {
        super(reason.failure(), message, cause);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
