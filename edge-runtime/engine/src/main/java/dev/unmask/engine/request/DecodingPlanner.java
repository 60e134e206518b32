package dev.unmask.engine.request;

import dev.unmask.engine.decode.Block;
import dev.unmask.engine.decode.CanvasLayout;
import dev.unmask.engine.decode.CommitRule;
import dev.unmask.engine.decode.ConfidenceMeasure;
import dev.unmask.engine.decode.DecodingOptions;
import dev.unmask.engine.decode.KvCache;
import dev.unmask.engine.decode.KvCacheMode;
import dev.unmask.engine.decode.ModelTraits;
import dev.unmask.engine.decode.Remasking;
import dev.unmask.engine.decode.StepSchedule;
import dev.unmask.engine.text.CharsPerToken;
import dev.unmask.engine.text.ChatMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * The one policy that turns a {@link GenerationRequest} into a {@link DecodingPlan}, for every surface, and the one
 * place its values are checked. Every problem is collected as a {@link Violation} and reported together in an
 * {@link InvalidRequestException} before the first forward pass.
 *
 * <p>The policy, for a request of {@code length} tokens:
 * <ul>
 *   <li>the region is exactly {@code length} tokens (a continuation's, an infill's middle; a text's placeholders
 *       decide it themselves);</li>
 *   <li>blocks of {@code block_length} left to right, the last one shorter when {@code block_length} does not divide
 *       the length (a block longer than the region is the region);</li>
 *   <li>steps: the request's total, a multiple of the number of blocks, each block getting {@code steps / blocks}
 *       capped by its length; by default the package's pace ({@code steps / gen_length} of its generation defaults)
 *       for each block's length, at least one step per block, slowed where needed to the surface's step limit.</li>
 * </ul>
 * With the package's 64 tokens in blocks of 32 in 64 steps, a request for 40 tokens is one block of 32 and one of 8,
 * in 32 + 8 steps, whether it comes as {@code --gen-length 40} or {@code "max_tokens": 40}. Under Dream's timesteps
 * schedule (a Dream package's defaults, or any request with {@code alg}) a request without {@code block_length} is
 * one block over the whole region, as Dream's {@code _sample} is.
 *
 * <p>Dream's fields: {@code alg} sets remasking and confidence ({@link DreamAlg}) and the timesteps schedule;
 * {@code remasking} or {@code confidence} given beside it must agree with it. {@code eps} needs the timesteps
 * schedule; {@code alg_temp} needs a confidence ranking under the schedule (not {@code random}, {@code origin} or a
 * threshold or factor rule). A threshold or factor rule on a package whose default is {@code origin} ranks by
 * confidence instead ({@code origin} has no ranking); asked for together with {@code origin} it is refused.
 *
 * <p>The key/value cache ({@code cache}, {@code cache_refresh}): a request that names none gets its family's default
 * ({@link GenerationDefaults#cache()}), silently {@code none} on a package whose graph has no cache (format 1 or 2);
 * one that names {@code prefix} or {@code dual} there is refused with how to get one (re-convert). A
 * {@code cache_refresh} above 0 needs a cache.
 *
 * <p>A block-causal model ({@link ModelTraits#blockCausal()}: SDAR, BD3-LM) is planned as SDAR's
 * {@code block_diffusion_generate} runs it (JetAstra/SDAR {@code generate.py}): its blocks are the model's, aligned to
 * multiples of {@code block_size} from position 0; the prompt's last partial block is the first decoded block (the
 * plan's first {@link Block} then starts after the prompt, mid-block: an engine runs it from the block's aligned start
 * so that those prompt tokens see the block's masks, as they do in training); the canvas is padded with masks up to a
 * whole block ({@code num_blocks = ceil((prompt + gen) / block)}) and the answer is cut at the length asked for (the
 * plan's {@code max_tokens}, when the request sets none); each block gets SDAR's {@code denoising_steps} (the
 * package's pace times the block size), at most one per masked token; {@code steps} given is a multiple of the
 * number of blocks, or the region's length (one token per step). {@code block_length} may only be the model's
 * block size. An infill or a text with placeholders is refused: a block sees no later block, so a fixed suffix or a
 * placeholder's right-hand context would be invisible to the tokens before it.
 */
public final class DecodingPlanner {

    private final GenerationDefaults defaults;
    private final ModelTraits traits;
    private final Limits limits;

    public DecodingPlanner(GenerationDefaults defaults, ModelTraits traits, Limits limits) {
        this.defaults = defaults;
        this.traits = traits;
        this.limits = limits;
    }

    /**
     * @param prompt the request's prompt as tokens
     * @throws InvalidRequestException with every violation found
     */
    public DecodingPlan plan(GenerationRequest r, PromptTokens prompt) {
        return plan(r, prompt, null);
    }

    /**
     * As {@link #plan(GenerationRequest, PromptTokens)}, the region being {@code structured}'s skeleton when it is
     * not null (structured output): the skeleton decides the length ({@code length}, if given, must leave room for
     * it), the answer ends with the skeleton (no early exit, no stop sequences, no {@code max_tokens} cut), and only
     * a continuation or a chat can carry one.
     *
     * @param structured the request's {@code responseSchema} as tokens, or null
     */
    public DecodingPlan plan(GenerationRequest r, PromptTokens prompt, JsonCanvas structured) {
        List<Violation> problems = new ArrayList<>();
        DecodingOptions options = options(r, problems);

        // the region
        int length;
        CanvasLayout placeholders = null;
        if (structured != null) {
            length = structured.length();
            if (!(prompt instanceof PromptTokens.Continuation)) {
                problems.add(new Violation(
                        RequestField.RESPONSE_SCHEMA,
                        prompt instanceof PromptTokens.Infill ? "an infill" : "a text with placeholders",
                        "given only with a prompt or messages: the skeleton is the whole answer",
                        null,
                        Violation.Kind.OUT_OF_RANGE));
            }
            if (structured.slotPositions() == 0) {
                problems.add(new Violation(
                        RequestField.RESPONSE_SCHEMA,
                        "a schema with nothing to generate",
                        "a schema with at least one value that is not a constant",
                        JsonSkeleton.EXAMPLE,
                        Violation.Kind.OUT_OF_RANGE));
            }
            if (length > limits.maxLength()) {
                problems.add(new Violation(
                        RequestField.RESPONSE_SCHEMA,
                        "a skeleton of " + length + " tokens",
                        "a schema whose skeleton is at most " + limits.maxLength()
                                + " tokens on this server: fewer properties or items, shorter maxLength",
                        JsonSkeleton.EXAMPLE,
                        Violation.Kind.OUT_OF_RANGE));
            } else if (r.length() != null && r.length() < length) {
                problems.add(range(
                        RequestField.LENGTH,
                        r.length(),
                        "at least " + length + ", the tokens of the schema's skeleton, or left out",
                        length));
            }
            if (options.maxTokens() > 0) {
                problems.add(new Violation(
                        RequestField.MAX_TOKENS,
                        String.valueOf(options.maxTokens()),
                        "left out with a JSON schema: the answer is the whole skeleton",
                        null,
                        Violation.Kind.OUT_OF_RANGE));
            }
            if (!options.stopSequences().isEmpty()) {
                problems.add(new Violation(
                        RequestField.STOP,
                        String.join(", ", options.stopSequences()),
                        "left out with a JSON schema: a stop sequence would cut the skeleton",
                        null,
                        Violation.Kind.OUT_OF_RANGE));
            }
            if (!problems.isEmpty()) {
                throw new InvalidRequestException(problems);
            }
        } else if (traits.blockCausal() && !(prompt instanceof PromptTokens.Continuation)) {
            problems.add(new Violation(
                    RequestField.PROMPT,
                    prompt instanceof PromptTokens.Infill ? "an infill (a suffix)" : "a text with placeholders",
                    "a prompt or messages with this model: its attention is block-causal (blocks of "
                            + traits.blockSize() + " tokens see no later block), so the text after the region "
                            + "would be invisible to it; fill in the middle with a bidirectional model (LLaDA, Dream)",
                    null,
                    Violation.Kind.UNSUPPORTED_BY_PACKAGE));
            throw new InvalidRequestException(problems);
        } else if (prompt instanceof PromptTokens.Placeholders p) {
            placeholders = CanvasLayout.ofPlaceholders(p.tokens(), traits.maskId());
            length = placeholders.genLength();
        } else {
            length = r.length() != null ? r.length() : Math.min(defaults.genLength(), limits.maxLength());
            if (length < 1 || length > limits.maxLength()) {
                problems.add(range(
                        RequestField.LENGTH,
                        length,
                        "between 1 and " + limits.maxLength(),
                        Math.min(64, limits.maxLength())));
            }
        }
        // Dream's _sample has no blocks: under its timesteps the default is one block over the whole region, each
        // step counting the masks left in it; a block_length given splits the region and each block runs its own
        // timesteps over its steps (as Fast-dLLM's blockwise Dream does)
        int blockLength = traits.blockCausal()
                ? traits.blockSize()
                : r.blockLength() != null
                        ? r.blockLength()
                        : options.schedule() instanceof StepSchedule.Timesteps
                                ? Math.max(1, Math.min(length, limits.maxLength()))
                                : defaults.blockLength();
        if (traits.blockCausal() && r.blockLength() != null && r.blockLength() != traits.blockSize()) {
            problems.add(new Violation(
                    RequestField.BLOCK_LENGTH,
                    String.valueOf(r.blockLength()),
                    "left out or " + traits.blockSize() + ", this model's block size: its attention is "
                            + "block-causal in blocks of " + traits.blockSize() + " tokens, as it was trained",
                    String.valueOf(traits.blockSize()),
                    Violation.Kind.UNSUPPORTED_BY_PACKAGE));
        } else if (blockLength < 1 || blockLength > limits.maxLength()) {
            problems.add(range(
                    RequestField.BLOCK_LENGTH,
                    blockLength,
                    "between 1 and " + limits.maxLength(),
                    Math.min(32, limits.maxLength())));
        }
        // a block-causal canvas is padded up to a whole block (SDAR's num_blocks * block_length); a skeleton is the
        // whole answer, so a structured one ends where the skeleton does
        int align = traits.blockCausal() && structured == null ? traits.blockSize() : 1;
        checkContext(prompt, placeholders, length, align, problems);
        if (options.maxTokens() < 0 || (length >= 1 && options.maxTokens() > length)) {
            problems.add(range(
                    RequestField.MAX_TOKENS,
                    options.maxTokens(),
                    "between 0 (off) and the length to generate, " + length,
                    Math.max(1, length)));
        }
        if (length < 1 || length > limits.maxLength() || blockLength < 1 || blockLength > limits.maxLength()) {
            throw new InvalidRequestException(problems); // no blocks to plan steps for
        }

        // blocks and steps
        int regionStart = prompt instanceof PromptTokens.Continuation c ? c.prompt().length : 0; // block-causal only
        int[] sizes = traits.blockCausal()
                ? alignedBlocks(regionStart, roundUp(regionStart + length, align) - regionStart, blockLength)
                : evenBlocks(length, Math.min(blockLength, length));
        int block = Math.min(blockLength, length);
        int count = sizes.length;
        int region = java.util.Arrays.stream(sizes).sum();
        int[] perBlock = new int[count];
        if (count > limits.maxSteps()) {
            int fewest = (length + limits.maxSteps() - 1) / limits.maxSteps();
            problems.add(
                    traits.blockCausal()
                            ? range(
                                    RequestField.LENGTH,
                                    length,
                                    "at most " + limits.maxSteps() * traits.blockSize() + " with this model: this "
                                            + "server takes at most " + limits.maxSteps() + " steps and each of its "
                                            + "blocks of " + traits.blockSize() + " needs one",
                                    Math.min(64, limits.maxLength()))
                            : range(
                                    RequestField.BLOCK_LENGTH,
                                    blockLength,
                                    "at least " + fewest + ": this server takes at most " + limits.maxSteps()
                                            + " steps and each block needs one",
                                    fewest));
        } else if (r.steps() != null) {
            int steps = r.steps();
            int full = traits.blockCausal() ? region : count * block; // one token per step
            int most = Math.min(full, limits.maxSteps());
            String why = traits.blockCausal()
                    ? count + " blocks of this model's " + traits.blockSize()
                            + (sizes[0] == traits.blockSize()
                                    ? ""
                                    : " (the first one " + sizes[0] + ", after the prompt's last "
                                            + (traits.blockSize() - sizes[0]) + " tokens)")
                    : count == 1
                            ? "1 block of " + length
                            : count + " blocks of " + block
                                    + (length % block == 0 ? "" : " (the last one " + length % block + ")");
            if (steps < count || steps > most) {
                problems.add(range(
                        RequestField.STEPS,
                        steps,
                        "between " + count + " (one per block: " + why + ") and " + most
                                + (most == full ? " (one token per step)" : " (this server's limit)"),
                        Math.max(count, most / count * count)));
            } else if (traits.blockCausal() && steps == region) {
                perBlock = sizes.clone(); // one token per step, the partial first block included
            } else if (steps % count != 0) {
                problems.add(range(
                        RequestField.STEPS,
                        steps,
                        "a multiple of the number of blocks, " + count + " (" + why + ")"
                                + (traits.blockCausal() ? ", or " + region + " (one token per step)" : ""),
                        Math.max(count, steps / count * count)));
            } else {
                for (int b = 0; b < count; b++) {
                    perBlock[b] = Math.min(steps / count, sizes[b]);
                }
            }
        } else {
            int cap = limits.maxSteps() / count; // the same cap for every block keeps the pace even
            // SDAR's denoising_steps: the same steps for every block of the model's size, a partial first block
            // getting no more than its masks
            long perWholeBlock = Math.round(defaults.stepsPerToken() * blockLength);
            for (int b = 0; b < count; b++) {
                int len = sizes[b];
                long paced = traits.blockCausal() ? perWholeBlock : Math.round(defaults.stepsPerToken() * len);
                perBlock[b] = (int) Math.min(Math.max(1, Math.min(len, paced)), cap);
            }
        }
        if (!problems.isEmpty()) {
            throw new InvalidRequestException(problems);
        }
        if (region > length && options.maxTokens() == 0) {
            // the padding is decoded with the block it completes (the model saw masks there in training), but the
            // answer is the length asked for
            options = options.toBuilder().maxTokens(length).build();
        }

        CanvasLayout layout;
        if (structured != null) {
            long[] p = ((PromptTokens.Continuation) prompt).prompt();
            long[] tokens = java.util.Arrays.copyOf(p, p.length + length);
            System.arraycopy(structured.region(), 0, tokens, p.length, length);
            layout = new CanvasLayout(tokens, p.length, length);
        } else if (prompt instanceof PromptTokens.Continuation c) {
            layout = CanvasLayout.continuation(c.prompt(), region, traits.maskId());
        } else if (prompt instanceof PromptTokens.Infill i) {
            layout = CanvasLayout.infill(i.prefix(), i.suffix(), length, traits.maskId());
        } else {
            layout = placeholders;
        }
        List<Block> blocks = new ArrayList<>(count);
        int start = layout.genStart();
        for (int b = 0; b < count; b++) {
            blocks.add(new Block(start, start + sizes[b], perBlock[b]));
            start += sizes[b];
        }
        int given = prompt instanceof PromptTokens.Placeholders
                ? layout.length() - layout.maskedCount(traits.maskId())
                : prompt.fixedTokens();
        return new DecodingPlan(
                layout, blocks, options, given, structured == null ? null : structured.at(layout.genStart()));
    }

    /** {@code length} in blocks of {@code block} left to right, the last one shorter when it does not divide it. */
    private static int[] evenBlocks(int length, int block) {
        int[] sizes = new int[(length + block - 1) / block];
        for (int b = 0; b < sizes.length; b++) {
            sizes[b] = Math.min(block, length - b * block);
        }
        return sizes;
    }

    /**
     * The region {@code [start, start + length)} cut at the multiples of {@code block} (a block-causal model's own
     * blocks): the first one shorter when the region starts mid-block, the last one when it ends mid-block.
     */
    private static int[] alignedBlocks(int start, int length, int block) {
        int first = start / block;
        int last = (start + length - 1) / block;
        int[] sizes = new int[last - first + 1];
        for (int b = first; b <= last; b++) {
            sizes[b - first] = Math.min((b + 1) * block, start + length) - Math.max(b * block, start);
        }
        return sizes;
    }

    private static int roundUp(int n, int multiple) {
        return (n + multiple - 1) / multiple * multiple;
    }

    /**
     * Refuses, before it is tokenized, a prompt too long for any canvas: one of more characters than the context's
     * tokens can cover ({@code bound}). Tokenizing costs time and native memory in proportion to the text, counting
     * its characters nothing, so a 9 MB prompt is refused in microseconds instead of seconds. A prompt within the
     * bound may still not fit: {@link #plan} counts its tokens.
     *
     * @throws InvalidRequestException a {@link Violation.Kind#CONTEXT_LENGTH} violation of the prompt
     */
    /**
     * As {@link #checkSize(GenerationRequest.Prompt, CharsPerToken)}, asking for the bound only when the prompt has
     * more characters than the context has tokens: every token covers at least one character, so a shorter prompt
     * passes whatever the bound, and reading it (a parse of the whole {@code tokenizer.json}) stays off start-up
     * and off every ordinary request.
     */
    public void checkSize(GenerationRequest.Prompt prompt, Supplier<CharsPerToken> bound) {
        if (characters(prompt) >= context() - 1) {
            checkSize(prompt, bound.get());
        }
    }

    public void checkSize(GenerationRequest.Prompt prompt, CharsPerToken bound) {
        if (!bound.known()) {
            return;
        }
        int context = context();
        boolean whole = prompt instanceof GenerationRequest.Prompt.Placeholders; // the region is in the text
        long most = bound.maxChars(whole ? context : context - 1);
        long chars = characters(prompt);
        if (chars > most) {
            throw new InvalidRequestException(List.of(new Violation(
                    RequestField.PROMPT,
                    chars + " characters",
                    "at most " + most + " characters (" + modelContext(context)
                            + (bound.proven()
                                    ? " and one token covers at most " + bound.max() + " characters"
                                    : " and this model's tokenizer may drop characters, so the server takes at most "
                                            + bound.max() + " characters per token")
                            + "); shorten it to fit the context in tokens",
                    null,
                    Violation.Kind.CONTEXT_LENGTH)));
        }
    }

    /**
     * The most characters a prompt may have and still fit the longest canvas: what {@link #checkSize} refuses beyond
     * ({@link Long#MAX_VALUE} when {@code bound} is unknown). A server sizes its request bodies by it, so that a body
     * no prompt of this model could need is refused before it is read.
     */
    public long maxPromptChars(CharsPerToken bound) {
        return bound.maxChars(context());
    }

    /** The longest canvas in tokens: the model's context, or the surface's shorter one. */
    public int contextTokens() {
        return context();
    }

    /**
     * The characters the prompt's tokens must cover at least. A chat counts its messages' contents, trimmed as
     * templates trim them: the rendered template holds each content and more.
     */
    private static long characters(GenerationRequest.Prompt prompt) {
        if (prompt instanceof GenerationRequest.Prompt.Continuation c) {
            return c.text().length();
        }
        if (prompt instanceof GenerationRequest.Prompt.Infill i) {
            return (long) i.prefix().length() + i.suffix().length();
        }
        if (prompt instanceof GenerationRequest.Prompt.Chat c) {
            long chars = 0;
            for (ChatMessage m : c.messages()) {
                chars += m.content() == null ? 0 : m.content().strip().length();
            }
            return chars;
        }
        return ((GenerationRequest.Prompt.Placeholders) prompt).text().length();
    }

    /** The longest canvas: the model's context, or the surface's shorter one. */
    private int context() {
        return limits.maxCanvasTokens() == 0
                ? traits.maxSequenceLength()
                : Math.min(limits.maxCanvasTokens(), traits.maxSequenceLength());
    }

    private static String modelContext(int context) {
        return "this model's maximum context length is " + context + " tokens";
    }

    /**
     * The prompt and the region must fit the model's context (or the surface's shorter one), the canvas rounded up to
     * a multiple of {@code align} (a block-causal model's whole blocks; 1 for the others).
     */
    private void checkContext(
            PromptTokens prompt, CanvasLayout placeholders, int length, int align, List<Violation> problems) {
        int context = context();
        String model = modelContext(context);
        if (placeholders != null) {
            if (placeholders.length() > context) {
                problems.add(new Violation(
                        RequestField.PROMPT,
                        placeholders.length() + " tokens",
                        "at most " + context + " tokens (" + model + ")",
                        null,
                        Violation.Kind.CONTEXT_LENGTH));
            }
            return;
        }
        int fixed = prompt.fixedTokens();
        if (fixed >= context) {
            problems.add(new Violation(
                    RequestField.PROMPT,
                    fixed + " tokens",
                    "at most " + (context - 1) + " tokens, " + "leaving room for the tokens to generate (" + model
                            + ")",
                    null,
                    Violation.Kind.CONTEXT_LENGTH));
        } else if (length >= 1 && roundUp(fixed + length, align) > context) {
            int room = context / align * align - fixed;
            problems.add(new Violation(
                    RequestField.LENGTH,
                    String.valueOf(length),
                    "at most " + room + " here (" + model + " and the prompt is " + fixed
                            + " tokens), or the prompt shorter",
                    String.valueOf(room),
                    Violation.Kind.CONTEXT_LENGTH));
        }
    }

    /** The sampler's options, each field checked on its own and against what the package can do. */
    private DecodingOptions options(GenerationRequest r, List<Violation> problems) {
        double temperature = r.temperature() != null ? r.temperature() : defaults.temperature();
        if (!(temperature >= 0 && temperature <= 100)) {
            problems.add(range(RequestField.TEMPERATURE, temperature, "between 0 (greedy) and 100", "0.7"));
        }
        int topK = r.topK() != null ? r.topK() : defaults.topK();
        if (topK < 0) {
            problems.add(range(RequestField.TOP_K, topK, "0 (off) or positive", "8"));
        } else if (topK > traits.headTopK() && !traits.fullLogits()) {
            problems.add(new Violation(
                    RequestField.TOP_K,
                    String.valueOf(topK),
                    "at most " + traits.headTopK()
                            + ": the package's head has " + traits.headTopK()
                            + " candidates per position (re-package with "
                            + "full logits, unmask-pack convert --full-logits, for more)",
                    String.valueOf(traits.headTopK()),
                    Violation.Kind.UNSUPPORTED_BY_PACKAGE));
        }
        double topP = r.topP() != null ? r.topP() : defaults.topP();
        if (!(topP > 0 && topP <= 1)) {
            problems.add(range(RequestField.TOP_P, topP, "in (0, 1], 1 = off", "0.95"));
        }
        double cfgScale = r.cfgScale() != null ? r.cfgScale() : defaults.cfgScale();
        if (!(cfgScale >= 0 && cfgScale <= 100)) {
            problems.add(range(RequestField.CFG_SCALE, cfgScale, "between 0 (off) and 100", "1.5"));
        } else if (cfgScale > 0 && !traits.fullLogits()) {
            problems.add(new Violation(
                    RequestField.CFG_SCALE,
                    String.valueOf(cfgScale),
                    "0 with this package: "
                            + "guidance needs the full logits and it has only the top-" + traits.headTopK() + " head "
                            + "(re-package with unmask-pack convert --full-logits)",
                    "0",
                    Violation.Kind.UNSUPPORTED_BY_PACKAGE));
        }
        DreamAlg alg = r.alg();
        if (alg != null && r.remasking() != null && r.remasking() != alg.remasking()) {
            problems.add(new Violation(
                    RequestField.REMASKING,
                    r.remasking().id(),
                    "left out or " + alg.remasking().id() + " with alg " + alg.id() + ", which sets it",
                    alg.remasking().id(),
                    Violation.Kind.OUT_OF_RANGE));
        }
        if (alg != null
                && alg.remasking() == Remasking.LOW_CONFIDENCE
                && r.confidence() != null
                && r.confidence() != alg.confidence()) {
            problems.add(new Violation(
                    RequestField.CONFIDENCE,
                    r.confidence().id(),
                    "left out or " + alg.confidence().id() + " with alg " + alg.id() + ", which sets it",
                    alg.confidence().id(),
                    Violation.Kind.OUT_OF_RANGE));
        }
        boolean ruleAsked = r.threshold() != null || r.factor() != null;
        Remasking remasking =
                r.remasking() != null ? r.remasking() : alg != null ? alg.remasking() : defaults.remasking();
        if (remasking == Remasking.ORIGIN && ruleAsked && r.remasking() == null && alg == null) {
            remasking = Remasking.LOW_CONFIDENCE; // the package's origin has no ranking for a threshold to cut
        }
        ConfidenceMeasure confidence =
                r.confidence() != null ? r.confidence() : alg != null ? alg.confidence() : defaults.confidence();

        CommitRule rule = new CommitRule.Schedule();
        if (r.threshold() != null && r.factor() != null) {
            problems.add(new Violation(
                    RequestField.FACTOR,
                    String.valueOf(r.factor()),
                    "left out when a threshold is " + "given: use one commit rule",
                    null,
                    Violation.Kind.OUT_OF_RANGE));
        } else if (r.threshold() != null) {
            if (r.threshold() > 0 && r.threshold() <= 1) {
                rule = new CommitRule.Threshold(r.threshold());
            } else {
                problems.add(range(RequestField.THRESHOLD, r.threshold(), "in (0, 1]", "0.9"));
            }
        } else if (r.factor() != null) {
            if (r.factor() > 0 && r.factor() < 100) {
                rule = new CommitRule.Factor(r.factor());
            } else {
                problems.add(range(RequestField.FACTOR, r.factor(), "positive and below 100", "1.0"));
            }
        }
        if (remasking == Remasking.ORIGIN && ruleAsked) {
            RequestField field = r.threshold() != null ? RequestField.THRESHOLD : RequestField.FACTOR;
            problems.add(new Violation(
                    field,
                    String.valueOf(r.threshold() != null ? r.threshold() : r.factor()),
                    "left out with remasking origin, which reveals positions at random on the timesteps schedule "
                            + "and ranks none: use a ranking alg with it (" + DreamAlg.MASKGIT_PLUS.id() + ", "
                            + DreamAlg.TOPK_MARGIN.id() + ", " + DreamAlg.ENTROPY.id() + ")",
                    null,
                    Violation.Kind.OUT_OF_RANGE));
        }

        if (confidence == ConfidenceMeasure.NEGATIVE_ENTROPY && ruleAsked) {
            RequestField field = r.threshold() != null ? RequestField.THRESHOLD : RequestField.FACTOR;
            problems.add(new Violation(
                    field,
                    String.valueOf(r.threshold() != null ? r.threshold() : r.factor()),
                    "left out with the entropy confidence, minus nats (at most 0), which no probability threshold "
                            + "cuts: use it with alg " + DreamAlg.MASKGIT_PLUS.id() + " or "
                            + DreamAlg.TOPK_MARGIN.id(),
                    null,
                    Violation.Kind.OUT_OF_RANGE));
        }

        // the schedule: Dream's timesteps with alg or origin, else the package's
        boolean timesteps = alg != null || remasking == Remasking.ORIGIN || defaults.timesteps();
        double eps =
                defaults.schedule() instanceof StepSchedule.Timesteps t ? t.eps() : StepSchedule.Timesteps.DREAM_EPS;
        if (r.eps() != null) {
            if (!(r.eps() > 0 && r.eps() < 1)) {
                problems.add(range(RequestField.EPS, r.eps(), "in (0, 1), where Dream's timesteps end", "0.001"));
            } else if (!timesteps) {
                problems.add(new Violation(
                        RequestField.EPS,
                        String.valueOf(r.eps()),
                        "left out with this package's even (LLaDA) schedule: eps sets where Dream's timesteps end; "
                                + "give an alg (one of " + DreamAlg.names() + ") to decode on them",
                        null,
                        Violation.Kind.OUT_OF_RANGE));
            } else {
                eps = r.eps();
            }
        }
        StepSchedule schedule = timesteps ? new StepSchedule.Timesteps(eps) : new StepSchedule.Even();

        double algTemp = 0;
        if (r.algTemp() != null) {
            if (!(r.algTemp() >= 0 && r.algTemp() < Double.POSITIVE_INFINITY)) {
                problems.add(range(RequestField.ALG_TEMP, r.algTemp(), "0 (off) or positive and finite", "0.5"));
            } else if (r.algTemp() > 0 && (remasking != Remasking.LOW_CONFIDENCE || ruleAsked)) {
                problems.add(new Violation(
                        RequestField.ALG_TEMP,
                        String.valueOf(r.algTemp()),
                        "0 with " + (ruleAsked ? "a threshold or factor rule" : "remasking " + remasking.id())
                                + ": alg_temp draws the positions a schedule commits from their confidence "
                                + "(alg " + DreamAlg.MASKGIT_PLUS.id() + ", " + DreamAlg.TOPK_MARGIN.id() + " or "
                                + DreamAlg.ENTROPY.id() + ")",
                        "0",
                        Violation.Kind.OUT_OF_RANGE));
            } else {
                algTemp = r.algTemp();
            }
        } else if (remasking == Remasking.LOW_CONFIDENCE && !ruleAsked) {
            algTemp = defaults.algTemp(); // a package's alg_temp applies where it means something
        }

        for (String s : r.stop()) {
            if (s == null || s.isEmpty()) {
                problems.add(new Violation(
                        RequestField.STOP, "\"\"", "a non-empty text", "\"\\n\\n\"", Violation.Kind.OUT_OF_RANGE));
                break;
            }
        }
        int maxTokens = r.maxTokens() != null ? r.maxTokens() : 0;
        return new DecodingOptions(
                Double.isNaN(temperature) ? 0 : temperature,
                remasking,
                confidence,
                rule,
                schedule,
                algTemp,
                cfgScale,
                topK,
                topP,
                maxTokens,
                r.stop().stream().filter(s -> s != null && !s.isEmpty()).toList(),
                // a skeleton is the whole answer: its pads fill slots rather than end the text
                (r.earlyExit() == null || r.earlyExit()) && r.responseSchema() == null,
                r.seed() != null ? r.seed() : 0L,
                cache(r, problems));
    }

    /** How a package without a cache is brought to one: the message's fix. */
    static final String RECONVERT = "re-convert its checkpoint with this unmask-pack (unmask-pack convert --from "
            + "<checkpoint> --out <package>), which writes a graph with a key/value cache (format 3)";

    /**
     * The request's cache, or its family's default: {@code none} where the graph has none (format 1 or 2), which a
     * request that names {@code prefix} or {@code dual} is told how to fix. A refresh interval above 0 needs a cache;
     * 0, the default interval, is accepted with none.
     */
    private KvCache cache(GenerationRequest r, List<Violation> problems) {
        Integer refresh = r.cacheRefresh();
        if (refresh != null && (refresh < 0 || refresh > KvCache.MAX_REFRESH_STEPS)) {
            problems.add(range(
                    RequestField.CACHE_REFRESH,
                    refresh,
                    "0 (refresh at block starts only) or 1 to " + KvCache.MAX_REFRESH_STEPS
                            + " steps (1 = every step, the uncached answer)",
                    8));
            refresh = null;
        }
        KvCacheMode asked = r.cache();
        if (asked != null && asked != KvCacheMode.NONE && !traits.supportsCache()) {
            problems.add(new Violation(
                    RequestField.CACHE,
                    asked.wireName(),
                    KvCacheMode.NONE.wireName() + " with this package: its graph has no key/value cache; " + RECONVERT,
                    KvCacheMode.NONE.wireName(),
                    Violation.Kind.UNSUPPORTED_BY_PACKAGE));
            return KvCache.NONE;
        }
        KvCacheMode mode = asked != null ? asked : traits.supportsCache() ? defaults.cache() : KvCacheMode.NONE;
        int every = refresh == null ? 0 : refresh;
        if (mode == KvCacheMode.NONE && every > 0) {
            problems.add(new Violation(
                    RequestField.CACHE_REFRESH,
                    String.valueOf(every),
                    asked != null
                            ? "0 or left out when no cache is used"
                            : traits.supportsCache()
                                    ? "0 or left out when no cache is used (this package's default cache is none): "
                                            + "ask for a prefix or dual cache with it"
                                    : "0 or left out with this package: its graph has no key/value cache; " + RECONVERT,
                    "0",
                    Violation.Kind.OUT_OF_RANGE));
            return KvCache.NONE;
        }
        return new KvCache(mode, every);
    }

    private static Violation range(RequestField field, Object value, String allowed, Object example) {
        return new Violation(
                field, String.valueOf(value), allowed, String.valueOf(example), Violation.Kind.OUT_OF_RANGE);
    }
}
