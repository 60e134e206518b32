package dev.unmask.openai;

import com.fasterxml.jackson.databind.node.NullNode;
import dev.unmask.engine.Generation;
import dev.unmask.engine.decode.AnswerText;
import dev.unmask.engine.decode.DenoisingListener;
import dev.unmask.engine.decode.DraftText;
import dev.unmask.engine.request.DecodingPlan;
import java.io.IOException;
import java.io.OutputStream;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * A request accepted and queued: checked, planned and in the scheduler. The HTTP layer either {@link #await()}s the
 * whole answer or {@link #streamTo streams} it; both happen after every check, so a bad request is an HTTP error
 * status, never a broken stream.
 */
public final class PendingGeneration {

    /** How the two endpoints shape their chunks. */
    enum Kind {
        CHAT,
        COMPLETION
    }

    private static final long POLL_MILLIS = 200;

    private final Kind kind;
    private final String id;
    private final long created;
    private final String model;
    private final DecodingPlan plan;
    private final GenerationParams params;
    private final BlockingQueue<Object> events =
            new LinkedBlockingQueue<>(); // String deltas, Drafts, Generation, Throwable
    private BatchScheduler.Ticket ticket;

    PendingGeneration(Kind kind, String id, long created, String model, DecodingPlan plan, GenerationParams params) {
        this.kind = kind;
        this.id = id;
        this.created = created;
        this.model = model;
        this.plan = plan;
        this.params = params;
    }

    /**
     * The listener that turns finalised blocks (and, when diffusing, every step) into stream events. A delta is only
     * ever the growth of {@link AnswerText#settled}, which is a prefix of the final text.
     */
    DenoisingListener listener(AnswerText text) {
        if (!params.stream()) {
            return DenoisingListener.NONE;
        }
        return new DenoisingListener() {
            private String planned = ""; // the settled text already queued, on the scheduler's thread

            @Override
            public void onStep(StepEvent e) {
                if (params.diffusion().diffusing()) {
                    DraftText d = text.draft(e.canvas());
                    events.add(new Draft(e.block(), e.step(), d.text(), d.masked()));
                }
            }

            @Override
            public void onBlock(BlockEvent e) {
                String settled = text.settled(e.canvas(), e.end());
                if (settled.length() > planned.length() && settled.startsWith(planned)) {
                    events.add(settled.substring(planned.length()));
                    planned = settled;
                }
            }
        };
    }

    void submitted(BatchScheduler.Ticket ticket) {
        this.ticket = ticket;
        ticket.result().whenComplete((g, e) -> events.add(e != null ? e : g));
    }

    public boolean streaming() {
        return params.stream();
    }

    public String id() {
        return id;
    }

    public DecodingPlan plan() {
        return plan;
    }

    /**
     * The engine's answer itself, when it is ready: its text, tokens, finish reason and timings, for a wire format
     * that reports more than OpenAI's (Ollama's durations). Completes exceptionally as {@link #answer()} does.
     */
    public CompletableFuture<Generation> generation() {
        return ticket.result();
    }

    /** Drops the request (its client went away). */
    public void cancel() {
        ticket.cancel();
    }

    /**
     * The whole answer, when it is ready: a {@link ChatCompletion} or a {@link Completion}; completes exceptionally
     * with an {@link ApiException}. Cancelling the returned stage does not stop generation: call {@link #cancel()}.
     */
    public CompletableFuture<Object> answer() {
        return ticket.result().handle((g, e) -> {
            if (e != null) {
                throw Errors.toApi(e);
            }
            return response(g);
        });
    }

    /**
     * Waits for the whole answer: a {@link ChatCompletion} or a {@link Completion}.
     *
     * @throws ApiException when generation failed
     */
    public Object await() {
        Generation g;
        try {
            g = ticket.result().get();
        } catch (InterruptedException e) {
            ticket.cancel();
            Thread.currentThread().interrupt();
            throw Errors.toApi(e);
        } catch (ExecutionException e) {
            throw Errors.toApi(e.getCause());
        } catch (CancellationException e) {
            throw Errors.toApi(e);
        }
        return response(g);
    }

    private Object response(Generation g) {
        Usage usage = Usage.of(plan.promptTokens(), g.tokens().length);
        String reason = g.reason().openAiName();
        return kind == Kind.CHAT
                ? ChatCompletion.of(id, created, model, g.text(), reason, usage)
                : Completion.of(id, created, model, g.text(), reason, usage);
    }

    /**
     * Writes the answer as server-sent events, flushing each: blocks as they are finalised, drafts when diffusing,
     * the finish chunk, the usage chunk when asked for, {@code [DONE]}. A failure after the stream began is sent as
     * an error event. When writing fails (the client went away) the request is cancelled and the exception rethrown.
     */
    public void streamTo(OutputStream out) throws IOException {
        streamTo(out, () -> false);
    }

    /**
     * As {@link #streamTo(OutputStream)}, for servers whose output stream does not fail once the client is gone:
     * {@code disconnected} is asked between events (at least every {@value #POLL_MILLIS} ms) and a true answer
     * cancels the request.
     */
    public void streamTo(OutputStream out, BooleanSupplier disconnected) throws IOException {
        try {
            if (kind == Kind.CHAT) {
                write(out, chatChunk(new ChatCompletionChunk.Delta("assistant", ""), null));
            }
            String sent = "";
            while (true) {
                Object event;
                try {
                    event = events.poll(POLL_MILLIS, TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    ticket.cancel();
                    Thread.currentThread().interrupt();
                    return;
                }
                if (disconnected.getAsBoolean()) {
                    ticket.cancel();
                    return;
                }
                if (event == null) {
                    continue;
                }
                if (event instanceof String delta) {
                    sent += delta;
                    write(out, content(delta));
                } else if (event instanceof Draft draft) {
                    write(
                            out,
                            kind == Kind.CHAT
                                    ? new ChatCompletionChunk(
                                            id,
                                            ChatCompletionChunk.OBJECT,
                                            created,
                                            model,
                                            List.of(new ChatCompletionChunk.Choice(
                                                    0, ChatCompletionChunk.Delta.EMPTY, null, null)),
                                            usageNull(),
                                            draft)
                                    : new Completion(
                                            id,
                                            Completion.OBJECT,
                                            created,
                                            model,
                                            List.of(new Completion.Choice("", 0, null, null)),
                                            usageNull(),
                                            draft));
                } else if (event instanceof Generation g) {
                    String tail = tail(g.text(), sent);
                    if (!tail.isEmpty()) {
                        write(out, content(tail));
                    }
                    String reason = g.reason().openAiName();
                    write(
                            out,
                            kind == Kind.CHAT
                                    ? chatChunk(ChatCompletionChunk.Delta.EMPTY, reason)
                                    : new Completion(
                                            id,
                                            Completion.OBJECT,
                                            created,
                                            model,
                                            List.of(new Completion.Choice("", 0, null, reason)),
                                            usageNull(),
                                            null));
                    if (params.includeUsage()) {
                        Usage usage = Usage.of(plan.promptTokens(), g.tokens().length);
                        write(
                                out,
                                kind == Kind.CHAT
                                        ? new ChatCompletionChunk(
                                                id, ChatCompletionChunk.OBJECT, created, model, List.of(), usage, null)
                                        : new Completion(
                                                id, Completion.OBJECT, created, model, List.of(), usage, null));
                    }
                    out.write(Sse.bytes(Sse.DONE));
                    out.flush();
                    return;
                } else if (event instanceof Throwable failure) {
                    out.write(Sse.bytes(Sse.event(Errors.toApi(failure).body())));
                    out.flush();
                    return;
                }
            }
        } catch (IOException | RuntimeException e) {
            ticket.cancel();
            throw e;
        }
    }

    /**
     * What the stream still owes once {@code sent} went out: the rest of the final text. The deltas are settled
     * prefixes of it, so this is the text after {@code sent}; should a decoder ever break that, the tail after the
     * longest common prefix is sent rather than nothing, so that no text of the answer is lost.
     */
    static String tail(String text, String sent) {
        if (text.startsWith(sent)) {
            return text.substring(sent.length());
        }
        int common = 0;
        while (common < Math.min(text.length(), sent.length()) && text.charAt(common) == sent.charAt(common)) {
            common++;
        }
        return text.substring(common);
    }

    private Object content(String delta) {
        return kind == Kind.CHAT
                ? chatChunk(new ChatCompletionChunk.Delta(null, delta), null)
                : new Completion(
                        id,
                        Completion.OBJECT,
                        created,
                        model,
                        List.of(new Completion.Choice(delta, 0, null, null)),
                        usageNull(),
                        null);
    }

    private ChatCompletionChunk chatChunk(ChatCompletionChunk.Delta delta, String finishReason) {
        return new ChatCompletionChunk(
                id,
                ChatCompletionChunk.OBJECT,
                created,
                model,
                List.of(new ChatCompletionChunk.Choice(0, delta, null, finishReason)),
                usageNull(),
                null);
    }

    /** With include_usage every chunk but the last carries {@code "usage": null}, as OpenAI sends it. */
    private Object usageNull() {
        return params.includeUsage() ? NullNode.getInstance() : null;
    }

    private static void write(OutputStream out, Object chunk) throws IOException {
        out.write(Sse.bytes(Sse.event(chunk)));
        out.flush();
    }
}
