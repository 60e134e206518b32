package dev.unmask.openai;

/**
 * How large a request body the API needs to read for a model: the longest prompt the model can take, written as
 * JSON, plus room for the rest of a request. A server refuses a larger body with 413 before it reads a byte of it,
 * so that no body a prompt of this model could never use is buffered, parsed into a tree and held as a string
 * (8 bodies of 9 MB cost the functions over 300 MiB of heap that way, issue 12).
 *
 * <p>The bound: a prompt of {@code c} characters fits only if {@code c <= context * charsPerToken} (see the engine's
 * {@code CharsPerToken}); each of its UTF-16 characters takes at most {@link #MAX_BYTES_PER_CHAR} bytes in the body;
 * and a chat that fits has at most one message per token of context (every message renders at least its role's
 * header), each with at most {@link #MESSAGE_OVERHEAD_BYTES} bytes of JSON around its content. For the tiny package
 * (context 512, at most 49 characters per token) that is 150 528 + 65 536 + 65 536 bytes: about 275 KiB.
 */
public final class RequestBodies {

    /** The most bytes one UTF-16 character of text takes in a JSON body: the escape {@code \}{@code uXXXX}. */
    static final int MAX_BYTES_PER_CHAR = 6;

    /** Room for everything of a request but its text: model id, sampling fields, stop strings, whitespace. */
    static final int FIXED_OVERHEAD_BYTES = 64 * 1024;

    /** Per token of context, one chat message's JSON around its content, indented. */
    static final int MESSAGE_OVERHEAD_BYTES = 128;

    /** No bound: the model's tokenizer cannot vouch for a characters-per-token bound. */
    public static final long UNBOUNDED = Long.MAX_VALUE;

    private RequestBodies() {}

    /**
     * @param maxPromptChars the most characters a prompt may have and still fit ({@link Long#MAX_VALUE}: no bound)
     * @param contextTokens  the longest canvas in tokens
     * @return the largest body worth reading, in bytes; {@link #UNBOUNDED} when the prompt has no bound
     */
    public static long maxBytes(long maxPromptChars, int contextTokens) {
        if (maxPromptChars == Long.MAX_VALUE) {
            return UNBOUNDED;
        }
        try {
            long text = Math.multiplyExact(maxPromptChars, MAX_BYTES_PER_CHAR);
            long messages = Math.multiplyExact((long) contextTokens, MESSAGE_OVERHEAD_BYTES);
            return Math.addExact(Math.addExact(text, messages), FIXED_OVERHEAD_BYTES);
        } catch (ArithmeticException overflow) {
            return UNBOUNDED;
        }
    }
}
