package dev.unmask.engine.decode;

import dev.unmask.engine.model.CachedForward;
import dev.unmask.engine.model.HeadOutput;
import dev.unmask.engine.model.KvBuffers;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.random.RandomGenerator;
import java.util.random.RandomGeneratorFactory;

/**
 * One request being denoised: its canvas, where it is in its blocks, and its random generator. A server advances
 * many runs one step at a time, several per forward pass ({@link BatchDenoiser}); {@link #runToEnd} does it for one.
 *
 * <p>The loop is LLaDA's {@code generate()} generalised to a region {@code [genStart, genStart+genLength)} that may
 * hold fixed tokens, be followed by a fixed suffix and end in a shorter block: for each {@link Block} left to right,
 * for each of its steps, the model sees
 * the whole canvas, a token is chosen for every masked position of the block, and the {@link CommitRule} commits the
 * most confident ones (ties go to the lower position). Committed tokens are final. Dream's {@code _sample} is the
 * same loop with one block over the whole region, the {@link StepSchedule.Timesteps} schedule and either
 * {@link Remasking#ORIGIN} or a confidence ranking ({@code alg_temp} drawing the ranked positions at random).
 *
 * <p>The randomness contract (the parity fixtures follow it): a step draws from the run's generator only where it
 * needs to, in this order. First the positions: under {@code origin} one {@code nextDouble()} per masked position of
 * the block, in increasing position order, the position revealed iff {@code u < 1 - s/t} (none on the block's last
 * step, which reveals all); under {@code low_confidence} with {@code alg_temp > 0} one per masked position, in
 * increasing order, at every step (those that commit none or all included); under {@code random} one per masked position,
 * in increasing order, each right after that position's token. Then the tokens: at temperature above 0 each
 * position that gets a token (every masked one; under {@code origin} the revealed ones) draws one
 * {@code nextDouble()} per candidate token of its Gumbel-max, positions in increasing order ({@link TokenChoice}); at
 * temperature 0 nothing.
 *
 * <p>Key/value caches ({@link DecodingOptions#cache()}, docs/engine.md "Key/value caches") change which tokens a
 * forward runs, never the draws: a run with a cache makes the same draws in the same order as one without. A run
 * with a cache owns its {@link KvBuffers} (one per row, sized once for its canvas), holds them from its first cached
 * step and gives them back, with its {@link KvCacheBudget.Lease}, when it finishes or is {@link #close() closed}.
 *
 * <p>Not thread-safe: one thread steps a run at a time.
 */
public final class DenoisingRun implements AutoCloseable {

    private static final String RANDOM_ALGORITHM = "L64X128MixRandom";

    private final CanvasLayout layout;
    private final DecodingOptions options;
    private final ModelTraits traits;
    private final List<Block> blocks;
    private final DenoisingListener listener;
    private final AnswerText text;
    private final RandomGenerator random;
    private final TokenChoice choice;
    private final StructuredCanvas structure; // null: every position admits any token

    private final long[] canvas; // [sequence]
    private final TokenLogprob[] logprobs; // [sequence] what the step that committed a position read there; else null
    private final long[]
            unconditional; // [sequence] CFG: the canvas with every initially fixed token masked; null without CFG

    private int block;
    private int stepInBlock;
    private int maskedAtBlockStart;
    private int[] masked = new int[0]; // positions of the current block still masked
    private FinishReason finishReason;
    private int steps;
    private long modelNanos;
    private long samplerNanos;
    private long listenerNanos; // time in the listener, kept out of samplerNanos

    // key/value cache state (options.cache() enabled); see forwardRows()
    private KvBuffers[] caches; // [rows] null until the first cached step and after release
    private KvCacheBudget.Lease lease; // null when the run was not given a budget, or released
    private int refreshedBlock = -1; // bidirectional: the block of the last refresh
    private int pastLength; // bidirectional: positions [0, pastLength) of the caches are the past after that refresh
    private int windowStart; // bidirectional: first canvas position a cached step runs
    private int windowEnd; // bidirectional: one past the last
    private int committed; // block-causal: positions [0, committed) are cached and final
    private int forwards; // forward passes this run took part in
    private long queryTokens; // tokens this run ran as queries, over all forwards
    private int refreshes; // full forwards that (re)filled the cache
    private boolean pastInLastRows; // the rows forwardRows() last gave read a past
    private boolean closed; // close() was called: no more steps

    private DenoisingRun(
            CanvasLayout layout,
            List<Block> blocks,
            DecodingOptions options,
            ModelTraits traits,
            DenoisingListener listener,
            AnswerText text,
            RandomGenerator random,
            StructuredCanvas structure) {
        this.layout = layout;
        this.structure = structure;
        this.blocks = List.copyOf(blocks);
        this.options = options;
        this.traits = traits;
        this.listener = listener == null ? DenoisingListener.NONE : listener;
        this.text = text;
        this.random = random;
        this.choice = new TokenChoice(options, random);
        this.canvas = layout.tokens();
        this.logprobs = new TokenLogprob[canvas.length];
        if (options.cfgScale() > 0) {
            unconditional = canvas.clone();
            for (int i = 0; i < unconditional.length; i++) {
                if (unconditional[i] != traits.maskId()) {
                    unconditional[i] = traits.maskId(); // LLaDA: un_x[prompt_index] = mask_id
                }
            }
        } else {
            unconditional = null;
        }
        enterBlock(0);
    }

    /**
     * Starts a planned request. The plan's values were checked by the planner
     * ({@code dev.unmask.engine.request.DecodingPlanner}); what is checked here are the run's own invariants.
     *
     * @param blocks the region's blocks, left to right, covering it without gaps
     * @param text   the region's text, for stop sequences
     * @throws IllegalArgumentException when the blocks do not cover the region or it holds no mask
     */
    public static DenoisingRun start(
            CanvasLayout layout,
            List<Block> blocks,
            DecodingOptions options,
            ModelTraits traits,
            DenoisingListener listener,
            AnswerText text) {
        return start(
                layout,
                blocks,
                options,
                traits,
                listener,
                text,
                RandomGeneratorFactory.of(RANDOM_ALGORITHM).create(options.seed()));
    }

    /**
     * As {@link #start(CanvasLayout, List, DecodingOptions, ModelTraits, DenoisingListener, AnswerText)}, drawing
     * from {@code random} instead of the generator the options' seed gives: a parity test replays a reference's
     * recorded uniforms through it. The draws a step makes are the class comment's randomness contract.
     */
    public static DenoisingRun start(
            CanvasLayout layout,
            List<Block> blocks,
            DecodingOptions options,
            ModelTraits traits,
            DenoisingListener listener,
            AnswerText text,
            RandomGenerator random) {
        return start(layout, blocks, options, traits, listener, text, random, null);
    }

    /**
     * A run whose positions admit only what {@code structure} allows (structured output: a skeleton's slots), the
     * options' seed giving the generator. A constrained run ends with {@link FinishReason#EOS}: a resolved skeleton
     * is a whole answer.
     */
    public static DenoisingRun start(
            CanvasLayout layout,
            List<Block> blocks,
            DecodingOptions options,
            ModelTraits traits,
            DenoisingListener listener,
            AnswerText text,
            StructuredCanvas structure) {
        return start(
                layout,
                blocks,
                options,
                traits,
                listener,
                text,
                RandomGeneratorFactory.of(RANDOM_ALGORITHM).create(options.seed()),
                structure);
    }

    /** The general form: {@code random} as in the replaying overload, {@code structure} null for a free canvas. */
    public static DenoisingRun start(
            CanvasLayout layout,
            List<Block> blocks,
            DecodingOptions options,
            ModelTraits traits,
            DenoisingListener listener,
            AnswerText text,
            RandomGenerator random,
            StructuredCanvas structure) {
        int at = layout.genStart();
        for (Block b : blocks) {
            if (b.start() != at) {
                break;
            }
            at = b.end();
        }
        if (blocks.isEmpty() || at != layout.genStart() + layout.genLength()) {
            throw new IllegalArgumentException("The blocks " + blocks + " do not cover the region [" + layout.genStart()
                    + ", " + (layout.genStart() + layout.genLength()) + ") left to right without gaps");
        }
        if (layout.maskedCount(traits.maskId()) == 0) {
            throw new IllegalArgumentException("Nothing to generate: the region [" + layout.genStart() + ", "
                    + (layout.genStart() + layout.genLength()) + ") holds no mask token");
        }
        if (options.cache().enabled() && !traits.supportsCache()) {
            throw new IllegalArgumentException("cache " + options.cache().mode().wireName()
                    + " needs a package whose graph carries a key/value cache (package format 3): re-convert the"
                    + " checkpoint with this unmask-pack, or decode with \"cache\": \"none\"");
        }
        return new DenoisingRun(layout, blocks, options, traits, listener, text, random, structure);
    }

    public boolean finished() {
        return finishReason != null;
    }

    /** 2 under classifier-free guidance (conditional and unconditional canvases), else 1. */
    public int rows() {
        return unconditional == null ? 1 : 2;
    }

    public int sequenceLength() {
        return canvas.length;
    }

    public long padId() {
        return traits.padId();
    }

    /** [rows][sequence] this step's model input. */
    long[][] inputRows() {
        return unconditional == null ? new long[][] {canvas} : new long[][] {canvas, unconditional};
    }

    /**
     * [positions] where this step needs predictions: the block's masked positions, as they are. A family whose
     * prediction for a position comes from the hidden state before it ({@code logits_shift}, Dream) has that shift
     * in its graph ({@code SamplingHead}: the head reads {@code max(p - 1, 0)}), so nothing here knows about it.
     */
    long[] headPositions() {
        long[] positions = new long[masked.length];
        for (int j = 0; j < masked.length; j++) {
            positions[j] = masked[j];
        }
        return positions;
    }

    /** Takes this run's rows of a forward pass (starting at {@code firstRow}) and commits this step's tokens. */
    void apply(HeadOutput out, int firstRow, long forwardNanos) {
        if (finished()) {
            throw new IllegalStateException("This run has finished; start a new one");
        }
        checkOpen();
        long started = System.nanoTime();
        long listenerBefore = listenerNanos;
        modelNanos += forwardNanos;
        int n = masked.length;
        long[] tokens = new long[n];
        double[] confidence = new double[n];
        int[] chosen = switch (options.remasking()) {
            case ORIGIN -> reveal(out, firstRow, tokens, confidence);
            case RANDOM -> {
                for (int j = 0; j < n; j++) {
                    choice.choose(out, firstRow, j, admissible(j));
                    tokens[j] = choice.token;
                    confidence[j] = random.nextDouble();
                }
                yield mostConfident(confidence, null);
            }
            case LOW_CONFIDENCE -> mostConfident(out, firstRow, tokens, confidence);
        };
        int count = chosen.length;
        List<DenoisingListener.Commit> committed = new ArrayList<>(count);
        for (int j : chosen) { // increasing position
            canvas[masked[j]] = tokens[j];
            if (unconditional != null) {
                unconditional[masked[j]] = tokens[j];
            }
            TokenLogprob logprob = TokenLogprob.of(out, firstRow, j, tokens[j]);
            logprobs[masked[j]] = logprob;
            committed.add(new DenoisingListener.Commit(masked[j], tokens[j], confidence[j], logprob));
        }
        steps++;
        notifyStep(committed);
        stepInBlock++;
        masked = maskedIn(blockStart(block), blockEnd(block));
        checkStops();
        while (!finished() && masked.length == 0) {
            notifyBlock();
            if (block + 1 == blocks.size()) {
                finishReason = containsEnd() ? FinishReason.EOS : FinishReason.LENGTH;
            } else {
                enterBlock(block + 1);
            }
        }
        samplerNanos += System.nanoTime() - started - (listenerNanos - listenerBefore);
        if (finished()) {
            releaseCache();
        }
    }

    /** Whether this step's forward needs the cached graph inputs: the run has a cache. */
    boolean cached() {
        return options.cache().enabled();
    }

    /** Whether the rows {@link #forwardRows()} last returned read a past (they go in the batch's cached forward). */
    boolean pastInLastRows() {
        return pastInLastRows;
    }

    /**
     * This step's forward rows (one per {@link #rows()}), and the cache bookkeeping they imply: which positions run
     * as queries, what past they read and what presents they keep. The forward must run them before {@link #apply}.
     *
     * <ul>
     *   <li>No cache: the whole canvas, head at the block's masked positions (the plain forward).
     *   <li>Bidirectional (LLaDA, Dream), at a refresh (block start; every {@code refreshEverySteps} steps): the whole
     *       canvas, keeping the keys and values of {@code [0, q0)} (and, dual, {@code [e, L)} packed after them);
     *       {@code q0} is the block start, one earlier for a logits-shift family (its head reads the position
     *       before). Between refreshes: {@code canvas[q0, L)} (prefix) or {@code canvas[q0, e)} (dual) over that past.
     *   <li>Block-causal (exact): {@code canvas[w0, end)}, where {@code [0, w0)} is the committed past, {@code end}
     *       the end of the model block holding the block's end; positions before the current block's model block
     *       that are not committed yet (the prompt's whole blocks, the block just finished) run in the same forward
     *       and are kept: their keys and values no longer change, as no block attends to a later one.
     * </ul>
     */
    List<CachedForward.Row> forwardRows() {
        checkOpen();
        long[][] inputs = inputRows();
        long[] heads = headPositions();
        int length = canvas.length;
        if (!cached()) {
            pastInLastRows = false;
            return countRows(full(inputs, heads, List.of()));
        }
        if (caches == null) {
            caches = new KvBuffers[inputs.length];
            if (lease == null) {
                // a run stepped alone: nothing else competes, it takes its cache as it would an array
                lease = KvCacheBudget.UNLIMITED.tryAcquire(cacheBytes());
            }
            for (int r = 0; r < caches.length; r++) {
                caches[r] = KvBuffers.allocate(traits.kvCache(), length);
            }
        }
        int s = blockStart(block);
        int e = blockEnd(block);
        int shift = traits.logitsShift() && s > 0 ? 1 : 0;
        List<CachedForward.Row> rows = new ArrayList<>(inputs.length);
        if (traits.blockCausal()) {
            int size = traits.blockSize();
            int target = s / size * size; // everything before the block's model block is final
            int w0 = Math.min(committed, s - shift);
            int end = Math.min(length, (e + size - 1) / size * size);
            for (int r = 0; r < inputs.length; r++) {
                List<CachedForward.Keep> keep = committed < target
                        ? List.of(new CachedForward.Keep(committed - w0, target - committed, caches[r], committed))
                        : List.of();
                rows.add(window(inputs[r], w0, end, heads, new CachedForward.Past(caches[r], w0), keep));
            }
            committed = Math.max(committed, target);
            pastInLastRows = w0 > 0;
            return countRows(rows);
        }
        int refreshEvery = options.cache().refreshEverySteps();
        if (refreshedBlock != block || (refreshEvery > 0 && stepInBlock % refreshEvery == 0)) {
            int q0 = s - shift;
            boolean dual = options.cache().mode() == KvCacheMode.DUAL;
            for (int r = 0; r < inputs.length; r++) {
                List<CachedForward.Keep> keep = new ArrayList<>(2);
                if (q0 > 0) {
                    keep.add(new CachedForward.Keep(0, q0, caches[r], 0));
                }
                if (dual && e < length) {
                    keep.add(new CachedForward.Keep(e, length - e, caches[r], q0)); // packed after the prefix
                }
                rows.add(CachedForward.Row.full(inputs[r], heads, keep));
            }
            refreshedBlock = block;
            pastLength = q0 + (dual ? length - e : 0);
            windowStart = q0;
            windowEnd = dual ? e : length;
            refreshes++;
            pastInLastRows = false;
            return countRows(rows);
        }
        for (int r = 0; r < inputs.length; r++) {
            rows.add(window(
                    inputs[r],
                    windowStart,
                    windowEnd,
                    heads,
                    new CachedForward.Past(caches[r], pastLength),
                    List.of()));
        }
        pastInLastRows = pastLength > 0;
        return countRows(rows);
    }

    private static List<CachedForward.Row> full(long[][] inputs, long[] heads, List<CachedForward.Keep> keep) {
        List<CachedForward.Row> rows = new ArrayList<>(inputs.length);
        for (long[] row : inputs) {
            rows.add(CachedForward.Row.full(row, heads, keep));
        }
        return rows;
    }

    /** canvas[from, to) as the queries, head positions moved into the window. */
    private static CachedForward.Row window(
            long[] row, int from, int to, long[] heads, CachedForward.Past past, List<CachedForward.Keep> keep) {
        long[] ids = Arrays.copyOfRange(row, from, to);
        long[] positions = new long[to - from];
        for (int i = 0; i < positions.length; i++) {
            positions[i] = from + i;
        }
        long[] inWindow = new long[heads.length];
        for (int j = 0; j < heads.length; j++) {
            inWindow[j] = heads[j] - from;
        }
        return new CachedForward.Row(ids, positions, inWindow, past, keep);
    }

    /** Counts a plain full-canvas forward (the batch without caches, which builds its own arrays). */
    void countFullForward() {
        forwards++;
        queryTokens += canvas.length;
    }

    private List<CachedForward.Row> countRows(List<CachedForward.Row> rows) {
        forwards++;
        queryTokens += rows.get(0).inputIds().length;
        return rows;
    }

    /**
     * Bytes this run's cache takes: rows × canvas positions × the graph's bytes per position (keys and values of
     * every layer); 0 without a cache.
     */
    public long cacheBytes() {
        if (!cached()) {
            return 0;
        }
        return rows() * KvBuffers.bytes(traits.kvCache(), canvas.length);
    }

    /**
     * Takes this run's cache from {@code budget} now, before its first step (what a scheduler does before it lets the
     * run into the batch). True when it fits now or the run needs no cache; false when the room is held by others
     * (wait, try again).
     *
     * @throws dev.unmask.failure.UnmaskException {@code BAD_REQUEST} when the cache could never fit the budget
     * @throws IllegalStateException              when the run has already taken its cache
     */
    public boolean reserveCache(KvCacheBudget budget) {
        if (!cached()) {
            return true;
        }
        if (lease != null || caches != null || finished()) {
            throw new IllegalStateException("This run already holds its cache (or has finished): reserve it once");
        }
        lease = budget.tryAcquire(cacheBytes());
        return lease != null;
    }

    /** Whether the run holds cache memory now (between its first cached step and its end). */
    public boolean holdsCache() {
        return caches != null || lease != null;
    }

    /** Forward passes this run took part in (one per step). */
    public int forwards() {
        return forwards;
    }

    /** Tokens this run ran as queries over all its forwards: the canvas per step without a cache, less with one. */
    public long queryTokens() {
        return queryTokens;
    }

    /** Full forwards that (re)filled a bidirectional run's cache. */
    public int refreshes() {
        return refreshes;
    }

    /**
     * Gives the cache and its lease back: the run can no longer be stepped. Idempotent; a finished run has already
     * given them back. A scheduler closes a run it drops (cancelled, failed, shut down).
     */
    @Override
    public void close() {
        closed = true;
        releaseCache();
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("This run was closed (cancelled); start a new one");
        }
    }

    private void releaseCache() {
        caches = null; // the direct buffers' memory returns when they are collected; the budget counts it free now
        if (lease != null) {
            lease.close();
            lease = null;
        }
    }

    /**
     * {@link Remasking#ORIGIN}: one uniform per masked position, in increasing position order, reveals it iff
     * {@code u < 1 - s/t} (the last step reveals all and draws nothing); then the revealed positions get their
     * tokens.
     *
     * @return the revealed indices into {@link #masked}, increasing
     */
    private int[] reveal(HeadOutput out, int firstRow, long[] tokens, double[] confidence) {
        int n = masked.length;
        int steps = blocks.get(block).steps();
        boolean last = stepInBlock >= steps - 1;
        double p = ((StepSchedule.Timesteps) options.schedule()).revealProbability(stepInBlock, steps);
        int[] revealed = new int[n];
        int count = 0;
        for (int j = 0; j < n; j++) {
            if (last || random.nextDouble() < p) {
                revealed[count++] = j;
            }
        }
        revealed = Arrays.copyOf(revealed, count);
        for (int j : revealed) {
            choice.choose(out, firstRow, j, admissible(j));
            tokens[j] = choice.token;
            confidence[j] = choice.confidence;
        }
        return revealed;
    }

    /**
     * {@link Remasking#LOW_CONFIDENCE}: the commit rule's count of the most confident positions, or, with
     * {@code alg_temp > 0}, that many drawn without replacement from {@code softmax(confidence / alg_temp)}. The
     * draw is Gumbel-top-k: one uniform per masked position, in increasing position order, made before the tokens
     * are sampled, at every step (one that commits none or all included, so that the stream's position never
     * depends on the count); the key of a position is {@code log softmax(confidence / alg_temp) - log(-log u)} and
     * the top keys are committed.
     */
    private int[] mostConfident(HeadOutput out, int firstRow, long[] tokens, double[] confidence) {
        int n = masked.length;
        double[] uniforms = null;
        if (options.algTemp() > 0 && options.commitRule().scheduled()) {
            uniforms = new double[n];
            for (int j = 0; j < n; j++) {
                uniforms[j] = random.nextDouble();
            }
        }
        for (int j = 0; j < n; j++) {
            choice.choose(out, firstRow, j, admissible(j));
            tokens[j] = choice.token;
            confidence[j] = choice.confidence;
        }
        return mostConfident(confidence, uniforms);
    }

    /**
     * The indices (into {@link #masked}, increasing) of the positions this step commits: ranked by confidence (ties
     * to the lower position), the rule's count of the best; with {@code uniforms}, the count is the same but the
     * positions are those of the top Gumbel keys.
     */
    private int[] mostConfident(double[] confidence, double[] uniforms) {
        int n = confidence.length;
        Integer[] order = rank(confidence);
        double[] ranked = new double[n];
        for (int r = 0; r < n; r++) {
            ranked[r] = confidence[order[r]];
        }
        int count = options.commitRule().count(ranked, scheduledCount(n));
        if (uniforms != null) {
            double[] keys = new double[n];
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < n; j++) {
                max = Math.max(max, confidence[j] / options.algTemp());
            }
            double sum = 0;
            for (int j = 0; j < n; j++) {
                sum += Math.exp(confidence[j] / options.algTemp() - max);
            }
            double logNorm = max + Math.log(sum);
            for (int j = 0; j < n; j++) {
                keys[j] = confidence[j] / options.algTemp() - logNorm - Math.log(-Math.log(uniforms[j]));
            }
            order = rank(keys);
        }
        int[] chosen = new int[count];
        for (int r = 0; r < count; r++) {
            chosen[r] = order[r];
        }
        Arrays.sort(chosen);
        return chosen;
    }

    /** Indices into {@link #masked} by descending score, ties to the lower position. */
    private Integer[] rank(double[] score) {
        Integer[] order = new Integer[score.length];
        for (int j = 0; j < score.length; j++) {
            order[j] = j;
        }
        Arrays.sort(order, Comparator.<Integer>comparingDouble(j -> -score[j]).thenComparingInt(j -> masked[j]));
        return order;
    }

    /**
     * What the plan's schedule gives this step of the block, of {@code maskedNow} still masked: possibly 0 under
     * Dream's timesteps, all of them on the block's last planned step.
     */
    private int scheduledCount(int maskedNow) {
        return options.schedule().count(stepInBlock, blocks.get(block).steps(), maskedAtBlockStart, maskedNow);
    }

    private void notifyStep(List<DenoisingListener.Commit> committed) {
        if (listener == DenoisingListener.NONE) {
            return;
        }
        long t = System.nanoTime();
        listener.onStep(new DenoisingListener.StepEvent(block, stepInBlock, List.copyOf(committed), canvas.clone()));
        listenerNanos += System.nanoTime() - t;
    }

    private void notifyBlock() {
        if (listener == DenoisingListener.NONE) {
            return;
        }
        long t = System.nanoTime();
        listener.onBlock(new DenoisingListener.BlockEvent(block, blockStart(block), blockEnd(block), canvas.clone()));
        listenerNanos += System.nanoTime() - t;
    }

    /** Steps this run alone until it finishes. */
    public Denoised runToEnd(dev.unmask.engine.model.DenoisingModel model) {
        while (!finished()) {
            BatchDenoiser.step(model, List.of(this));
        }
        return result();
    }

    public Denoised result() {
        if (!finished()) {
            throw new IllegalStateException("The run has not finished: step it until finished() is true");
        }
        return new Denoised(
                canvas.clone(),
                layout.genStart(),
                layout.genLength(),
                finishReason,
                steps,
                modelNanos,
                samplerNanos,
                layout.regionEndsCanvas());
    }

    /**
     * The log-probability the model gave the token at canvas {@code position} at the step that committed it, with
     * the head's candidates there ({@link TokenLogprob}); null for a position no step committed (the prompt, a fixed
     * token of the region, one still masked).
     */
    public TokenLogprob logprob(int position) {
        return logprobs[position];
    }

    /** [sequence] a copy of the canvas now. */
    public long[] canvas() {
        return canvas.clone();
    }

    public int steps() {
        return steps;
    }

    public int block() {
        return block;
    }

    public DecodingOptions options() {
        return options;
    }

    /** The rendering of this run's region: its final text, settled prefix and drafts. */
    public AnswerText text() {
        return text;
    }

    private void enterBlock(int b) {
        block = b;
        stepInBlock = 0;
        masked = maskedIn(blockStart(b), blockEnd(b));
        maskedAtBlockStart = masked.length;
        while (masked.length == 0) { // a block of fixed tokens only
            notifyBlock();
            if (block + 1 == blocks.size()) {
                finishReason = containsEnd() ? FinishReason.EOS : FinishReason.LENGTH;
                return;
            }
            block++;
            masked = maskedIn(blockStart(block), blockEnd(block));
            maskedAtBlockStart = masked.length;
        }
    }

    private void checkStops() {
        int start = layout.genStart();
        int end = start + layout.genLength();
        if (options.earlyExit() && layout.regionEndsCanvas()) {
            for (int i = start; i < end && canvas[i] != traits.maskId(); i++) {
                if (traits.isEnd(canvas[i])) {
                    for (int k = i + 1; k < end; k++) {
                        if (canvas[k] == traits.maskId()) {
                            canvas[k] = traits.padId();
                        }
                    }
                    finishReason = FinishReason.EOS;
                    return;
                }
            }
        }
        if (options.maxTokens() > 0) {
            boolean resolved = true;
            for (int i = start; i < start + options.maxTokens(); i++) {
                resolved &= canvas[i] != traits.maskId();
            }
            if (resolved) {
                finishReason = FinishReason.MAX_TOKENS;
                return;
            }
        }
        if (text.reachesStop(canvas)) {
            finishReason = FinishReason.STOP_SEQUENCE;
        }
    }

    /** What position {@code masked[j]} admits; null on a free canvas. */
    private StructuredCanvas.Admissible admissible(int j) {
        return structure == null ? null : structure.admissible(masked[j]);
    }

    private boolean containsEnd() {
        if (structure != null) {
            return true; // the skeleton closes the answer: its pads fill slots, they do not end the text early
        }
        for (int i = layout.genStart(); i < layout.genStart() + layout.genLength(); i++) {
            if (traits.isEnd(canvas[i])) {
                return true;
            }
        }
        return false;
    }

    private int blockStart(int b) {
        return blocks.get(b).start();
    }

    private int blockEnd(int b) {
        return blocks.get(b).end();
    }

    private int[] maskedIn(int from, int to) {
        int[] out = new int[to - from];
        int n = 0;
        for (int i = from; i < to; i++) {
            if (canvas[i] == traits.maskId()) {
                out[n++] = i;
            }
        }
        return Arrays.copyOf(out, n);
    }
}
