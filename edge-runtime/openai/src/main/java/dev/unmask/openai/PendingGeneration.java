package dev.unmask.openai;

import com.fasterxml.jackson.databind.node.NullNode;
import dev.unmask.engine.Generation;
import dev.unmask.engine.decode.AnswerText;
import dev.unmask.engine.decode.DenoisingListener;
import dev.unmask.engine.decode.DraftText;
import dev.unmask.engine.decode.TextStream;
import dev.unmask.engine.decode.TokenLogprob;
import dev.unmask.engine.request.DecodingPlan;
import dev.unmask.engine.text.Tokenizer;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
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
    private final List<DecodingPlan> plans; // [n] one per choice
    private final GenerationParams params;
    private final Tokenizer tokenizer;
    private final int promptChars; // where a completion's text_offsets start
    private final BlockingQueue<Object> events = new LinkedBlockingQueue<>(); // Pieces, Drafted, Finished, Throwable
    private List<BatchScheduler.Ticket> tickets; // [n]

    /** New text of choice {@code index}; with logprobs, the entries of the tokens it completes and their offsets. */
    private record Piece(int index, String text, List<TokenLogprob> logprobs, int[] offsets) {}

    private record Drafted(int index, Draft draft) {}

    private record Finished(int index, Generation generation) {}

    PendingGeneration(
            Kind kind,
            String id,
            long created,
            String model,
            List<DecodingPlan> plans,
            GenerationParams params,
            Tokenizer tokenizer,
            int promptChars) {
        this.kind = kind;
        this.id = id;
        this.created = created;
        this.model = model;
        this.plans = List.copyOf(plans);
        this.params = params;
        this.tokenizer = tokenizer;
        this.promptChars = promptChars;
    }

    /**
     * The listener of choice {@code index} that turns every step into stream events: the text that became final
     * with it ({@link TextStream}, the engine's one rule, so a delta is only ever a prefix of the rest of the final
     * text), with logprobs the entries of the tokens whose text the stream now holds whole, and, when diffusing, the
     * whole draft with the step that committed each position.
     */
    DenoisingListener listener(int index, AnswerText text, long maskId) {
        if (!params.stream()) {
            return DenoisingListener.NONE;
        }
        DecodingPlan plan = plans.get(index);
        int regionStart = plan.layout().genStart();
        long[] start = plan.layout().tokens();
        // [region] the step that committed each position
        Integer[] committedAt = new Integer[plan.layout().genLength()];
        for (int j = 0; j < committedAt.length; j++) {
            committedAt[j] = start[regionStart + j] == maskId ? null : 0; // null while masked; 0: fixed from the start
        }
        TextStream stream = new TextStream(text);
        boolean logprobs = params.logprobs() != null;
        return new DenoisingListener() { // on the scheduler's thread
            private int steps;
            private final Map<Integer, TokenLogprob> committed = new HashMap<>(); // by canvas position
            private int tokensQueued; // answer tokens whose entries went out
            private int textQueued; // where the next one's text starts

            @Override
            public void onStep(StepEvent e) {
                steps++;
                if (logprobs) {
                    for (Commit c : e.committed()) {
                        committed.put(c.position(), c.logprob());
                    }
                }
                if (params.diffusion().diffusing()) {
                    for (Commit c : e.committed()) {
                        committedAt[c.position() - regionStart] = steps;
                    }
                    DraftText d = text.draft(e.canvas());
                    events.add(new Drafted(
                            index,
                            new Draft(
                                    e.block(),
                                    e.step(),
                                    d.text(),
                                    d.masked(),
                                    Arrays.asList(committedAt.clone()),
                                    text.tokenTexts(e.canvas()))));
                }
                String delta = stream.next(e.canvas());
                if (delta.isEmpty()) {
                    return;
                }
                if (!logprobs) {
                    events.add(new Piece(index, delta, null, null));
                    return;
                }
                String sent = stream.sent();
                // the tokens whose text ends within what is now sent: decode each longer prefix until one passes it
                int[] positions = text.keptPositions(e.canvas(), text.firstMasked(e.canvas()));
                long[] tokens = new long[positions.length];
                for (int i = 0; i < positions.length; i++) {
                    tokens[i] = e.canvas()[positions[i]];
                }
                List<TokenLogprob> entries = new ArrayList<>();
                List<Integer> offsets = new ArrayList<>();
                while (tokensQueued < tokens.length) {
                    int end = tokensQueued + 1 == tokens.length
                            ? tokenizer.decode(tokens).length()
                            : Logprobs.textBefore(tokens, tokensQueued + 1, tokenizer::decode);
                    if (end > sent.length()) {
                        break;
                    }
                    TokenLogprob at = committed.get(positions[tokensQueued]);
                    long token = tokens[tokensQueued];
                    entries.add(at == null ? new TokenLogprob(token, 0.0, List.of()) : at.as(token));
                    offsets.add(textQueued);
                    textQueued = end;
                    tokensQueued++;
                }
                events.add(new Piece(
                        index,
                        delta,
                        entries,
                        offsets.stream().mapToInt(Integer::intValue).toArray()));
            }
        };
    }

    void submitted(List<BatchScheduler.Ticket> tickets) {
        this.tickets = List.copyOf(tickets);
        for (int i = 0; i < tickets.size(); i++) {
            int index = i;
            tickets.get(i).result().whenComplete((g, e) -> events.add(e != null ? e : new Finished(index, g)));
        }
    }

    public boolean streaming() {
        return params.stream();
    }

    public String id() {
        return id;
    }

    /** The plan of the first choice (the others differ only in their seeds). */
    public DecodingPlan plan() {
        return plans.get(0);
    }

    /**
     * The engine's answer itself (of the first choice), when it is ready: its text, tokens, finish reason and
     * timings, for a wire format that reports more than OpenAI's (Ollama's durations, which asks for one choice).
     * Completes exceptionally as {@link #answer()} does.
     */
    public CompletableFuture<Generation> generation() {
        return tickets.get(0).result();
    }

    /** Drops the request, every choice of it (its client went away). */
    public void cancel() {
        tickets.forEach(BatchScheduler.Ticket::cancel);
    }

    /**
     * The whole answer, when it is ready: a {@link ChatCompletion} or a {@link Completion}; completes exceptionally
     * with an {@link ApiException}. Cancelling the returned stage does not stop generation: call {@link #cancel()}.
     */
    public CompletableFuture<Object> answer() {
        CompletableFuture<?>[] all =
                tickets.stream().map(BatchScheduler.Ticket::result).toArray(CompletableFuture[]::new);
        return CompletableFuture.allOf(all).handle((ignored, e) -> {
            if (e != null) {
                cancel(); // one choice failed: the others' answers will not be sent
                throw Errors.toApi(e instanceof CompletionException && e.getCause() != null ? e.getCause() : e);
            }
            List<Generation> generations = new ArrayList<>(tickets.size());
            for (BatchScheduler.Ticket t : tickets) {
                generations.add(t.result().join());
            }
            return response(generations);
        });
    }

    /**
     * Waits for the whole answer: a {@link ChatCompletion} or a {@link Completion}.
     *
     * @throws ApiException when generation failed
     */
    public Object await() {
        List<Generation> generations = new ArrayList<>(tickets.size());
        try {
            for (BatchScheduler.Ticket t : tickets) {
                generations.add(t.result().get());
            }
        } catch (InterruptedException e) {
            cancel();
            Thread.currentThread().interrupt();
            throw Errors.toApi(e);
        } catch (ExecutionException e) {
            cancel();
            throw Errors.toApi(e.getCause());
        } catch (CancellationException e) {
            cancel();
            throw Errors.toApi(e);
        }
        return response(generations);
    }

    /** Usage counts the prompt once and the completion tokens of every choice, as OpenAI does for n > 1. */
    private Usage usage(List<Generation> generations) {
        int completion = 0;
        for (Generation g : generations) {
            completion += g.tokens().length;
        }
        return Usage.of(plans.get(0).promptTokens(), completion);
    }

    private Object response(List<Generation> generations) {
        Usage usage = usage(generations);
        if (kind == Kind.CHAT) {
            List<ChatCompletion.Choice> choices = new ArrayList<>();
            for (int i = 0; i < generations.size(); i++) {
                Generation g = generations.get(i);
                choices.add(new ChatCompletion.Choice(
                        i,
                        new ChatCompletion.Message("assistant", g.text()),
                        g.reason().openAiName(),
                        logprobs(g.logprobs(), g.tokens(), 0)));
            }
            return new ChatCompletion(id, ChatCompletion.OBJECT, created, model, choices, usage);
        }
        List<Completion.Choice> choices = new ArrayList<>();
        for (int i = 0; i < generations.size(); i++) {
            Generation g = generations.get(i);
            choices.add(new Completion.Choice(
                    g.text(),
                    i,
                    logprobs(g.logprobs(), g.tokens(), 0),
                    g.reason().openAiName()));
        }
        return new Completion(id, Completion.OBJECT, created, model, choices, usage, null);
    }

    /**
     * The endpoint's logprobs object for {@code tokens[from..]} of an answer (their entries, {@code entries}), or
     * null when the request did not ask.
     */
    private Object logprobs(List<TokenLogprob> entries, long[] tokens, int from) {
        if (params.logprobs() == null) {
            return null;
        }
        List<TokenLogprob> rest = entries.subList(Math.min(from, entries.size()), entries.size());
        if (kind == Kind.CHAT) {
            return Logprobs.chat(rest, params.logprobs(), tokenizer);
        }
        int[] offsets = Logprobs.offsets(tokens, Math.min(from, tokens.length), tokenizer::decode);
        return Logprobs.completion(rest, shift(offsets, promptChars), params.logprobs(), tokenizer);
    }

    private static int[] shift(int[] offsets, int by) {
        int[] out = new int[offsets.length];
        for (int i = 0; i < offsets.length; i++) {
            out[i] = offsets[i] + by;
        }
        return out;
    }

    /**
     * Writes the answer as server-sent events, flushing each: the text as it becomes final, drafts when diffusing,
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
     *
     * <p>With n > 1 the choices' chunks interleave, each with its {@code index} (chat: a role chunk per choice
     * first); each choice ends with its own finish chunk, and the usage chunk follows the last.
     */
    public void streamTo(OutputStream out, BooleanSupplier disconnected) throws IOException {
        int n = plans.size();
        try {
            if (kind == Kind.CHAT) {
                for (int i = 0; i < n; i++) {
                    write(out, chatChunk(i, new ChatCompletionChunk.Delta("assistant", ""), null, null));
                }
            }
            String[] sent = new String[n];
            java.util.Arrays.fill(sent, "");
            int[] tokensSent = new int[n];
            Generation[] done = new Generation[n];
            int finished = 0;
            while (true) {
                Object event;
                try {
                    event = events.poll(POLL_MILLIS, TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    cancel();
                    Thread.currentThread().interrupt();
                    return;
                }
                if (disconnected.getAsBoolean()) {
                    cancel();
                    return;
                }
                if (event == null) {
                    continue;
                }
                if (event instanceof Piece piece) {
                    sent[piece.index()] += piece.text();
                    Object logprobs = null;
                    if (piece.logprobs() != null) {
                        tokensSent[piece.index()] += piece.logprobs().size();
                        logprobs = kind == Kind.CHAT
                                ? Logprobs.chat(piece.logprobs(), params.logprobs(), tokenizer)
                                : Logprobs.completion(
                                        piece.logprobs(),
                                        shift(piece.offsets(), promptChars),
                                        params.logprobs(),
                                        tokenizer);
                    }
                    write(out, content(piece.index(), piece.text(), logprobs));
                } else if (event instanceof Drafted drafted) {
                    Draft draft = drafted.draft();
                    int index = drafted.index();
                    write(
                            out,
                            kind == Kind.CHAT
                                    ? new ChatCompletionChunk(
                                            id,
                                            ChatCompletionChunk.OBJECT,
                                            created,
                                            model,
                                            List.of(new ChatCompletionChunk.Choice(
                                                    index, ChatCompletionChunk.Delta.EMPTY, null, null)),
                                            usageNull(),
                                            draft)
                                    : new Completion(
                                            id,
                                            Completion.OBJECT,
                                            created,
                                            model,
                                            List.of(new Completion.Choice("", index, null, null)),
                                            usageNull(),
                                            draft));
                } else if (event instanceof Finished f) {
                    int index = f.index();
                    Generation g = f.generation();
                    String tail = TextStream.tail(g.text(), sent[index]);
                    Object rest = tokensSent[index] < g.logprobs().size()
                            ? logprobs(g.logprobs(), g.tokens(), tokensSent[index])
                            : null;
                    if (!tail.isEmpty() || rest != null) {
                        write(out, content(index, tail, rest));
                    }
                    String reason = g.reason().openAiName();
                    write(
                            out,
                            kind == Kind.CHAT
                                    ? chatChunk(index, ChatCompletionChunk.Delta.EMPTY, null, reason)
                                    : new Completion(
                                            id,
                                            Completion.OBJECT,
                                            created,
                                            model,
                                            List.of(new Completion.Choice("", index, null, reason)),
                                            usageNull(),
                                            null));
                    done[index] = g;
                    if (++finished < n) {
                        continue;
                    }
                    if (params.includeUsage()) {
                        Usage usage = usage(List.of(done));
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
                    cancel(); // the other choices' text will not be sent
                    out.write(Sse.bytes(Sse.event(Errors.toApi(failure).body())));
                    out.flush();
                    return;
                }
            }
        } catch (IOException | RuntimeException e) {
            cancel();
            throw e;
        }
    }

    private Object content(int index, String delta, Object logprobs) {
        return kind == Kind.CHAT
                ? chatChunk(index, new ChatCompletionChunk.Delta(null, delta), logprobs, null)
                : new Completion(
                        id,
                        Completion.OBJECT,
                        created,
                        model,
                        List.of(new Completion.Choice(delta, index, logprobs, null)),
                        usageNull(),
                        null);
    }

    private ChatCompletionChunk chatChunk(
            int index, ChatCompletionChunk.Delta delta, Object logprobs, String finishReason) {
        return new ChatCompletionChunk(
                id,
                ChatCompletionChunk.OBJECT,
                created,
                model,
                List.of(new ChatCompletionChunk.Choice(index, delta, logprobs, finishReason)),
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
