package dev.unmask.hub;

import dev.unmask.failure.Failure;
import dev.unmask.failure.UnmaskException;
import java.util.regex.Pattern;

/**
 * A model repository on the Hub and a revision of it, as the command lines name it: {@code hf:ORG/NAME[@revision]}.
 *
 * @param repo     {@code ORG/NAME}, e.g. {@code GSAI-ML/LLaDA-8B-Instruct}
 * @param revision a branch, a tag or a 40-hex commit; {@value #DEFAULT_REVISION} when none is given
 */
public record HubModelId(String repo, String revision) {

    public static final String PREFIX = "hf:";
    public static final String DEFAULT_REVISION = "main";
    public static final String EXAMPLE = "hf:GSAI-ML/LLaDA-8B-Instruct@main";

    /**
     * The Hub's repository names: an owner and a name of letters, digits, '-', '_', '.', at most 96 characters in all
     * (huggingface_hub's {@code validate_repo_id}: {@code REPO_ID_REGEX}, no "--" or ".." inside, no leading or
     * trailing '-' or '.').
     */
    private static final Pattern PART = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,95}");

    /** Branch and tag names as git allows them, without the forms that could climb out of {@code refs/}. */
    private static final Pattern REVISION = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._/-]{0,254}");

    public static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");

    public HubModelId {
        checkRepo(repo);
        checkRevision(revision);
    }

    /** Whether {@code source} names a Hub repository ({@value #PREFIX}...), not a local path or an https URL. */
    public static boolean isHub(String source) {
        return source != null && source.startsWith(PREFIX);
    }

    /** Parses {@code hf:ORG/NAME[@revision]}; the message of a refusal shows a correct one. */
    public static HubModelId parse(String source) {
        if (!isHub(source)) {
            throw bad("'" + source + "' is not a Hub model: write " + EXAMPLE);
        }
        String rest = source.substring(PREFIX.length());
        int at = rest.indexOf('@');
        String repo = at < 0 ? rest : rest.substring(0, at);
        String revision = at < 0 ? DEFAULT_REVISION : rest.substring(at + 1);
        return new HubModelId(repo, revision);
    }

    /** Whether the revision is a commit, which never moves: no request is needed to know what it holds. */
    public boolean isCommit() {
        return COMMIT.matcher(revision).matches();
    }

    /** {@code models--ORG--NAME}: the repository's folder in the cache, as huggingface_hub's repo_folder_name. */
    public String cacheFolderName() {
        return "models--" + repo.replace("/", "--");
    }

    @Override
    public String toString() {
        return PREFIX + repo + (revision.equals(DEFAULT_REVISION) ? "" : "@" + revision);
    }

    private static void checkRepo(String repo) {
        String[] parts = repo == null ? new String[0] : repo.split("/", -1);
        if (parts.length != 2
                || repo.length() > 96
                || repo.contains("--")
                || repo.contains("..")
                || !PART.matcher(parts[0]).matches()
                || !PART.matcher(parts[1]).matches()
                || parts[1].endsWith(".")
                || parts[1].endsWith("-")) {
            throw bad("'" + repo + "' is not a Hub repository: give ORG/NAME of letters, digits, '-', '_' or '.', e.g. "
                    + EXAMPLE);
        }
    }

    private static void checkRevision(String revision) {
        if (revision == null
                || !REVISION.matcher(revision).matches()
                || revision.contains("..")
                || revision.contains("//")
                || revision.endsWith("/")
                || revision.endsWith(".lock")) {
            throw bad("'" + revision + "' is not a revision: give a branch, a tag or a commit after '@', e.g. "
                    + EXAMPLE + " or hf:ORG/NAME@v1.0");
        }
    }

    private static UnmaskException bad(String message) {
        return new UnmaskException(Failure.BAD_REQUEST, message);
    }
}
