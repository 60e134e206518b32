package dev.unmask.hub;

import java.util.regex.Pattern;

/** File names from a Hub listing or an index, checked before they become paths: none may leave the snapshot. */
final class RepoPaths {

    static final int MAX_LENGTH = 1024;
    private static final Pattern BAD_CHARS = Pattern.compile("[\\x00-\\x1f\\\\:*?\"<>|]");

    private RepoPaths() {}

    /** Whether {@code path} is a relative path of plain segments: no '..', '.', empty segment, drive or control char. */
    static boolean isSafe(String path) {
        if (path == null || path.isEmpty() || path.length() > MAX_LENGTH || path.startsWith("/")) {
            return false;
        }
        if (BAD_CHARS.matcher(path).find()) {
            return false;
        }
        for (String segment : path.split("/", -1)) {
            if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
                return false;
            }
        }
        return true;
    }

    static String check(String path, String where) {
        if (!isSafe(path)) {
            throw new HubException(
                    HubException.Reason.BAD_RESPONSE,
                    where + " names the file '" + shorten(path) + "', which is not a plain relative path inside the "
                            + "repository (e.g. config.json or weights/model-00001-of-00002.safetensors); "
                            + "nothing was written for it");
        }
        return path;
    }

    static String shorten(String s) {
        if (s == null) {
            return "null";
        }
        String clean = s.replaceAll("[\\x00-\\x1f]", "?");
        return clean.length() > 120 ? clean.substring(0, 120) + "..." : clean;
    }
}
