package dev.unmask.openai;

import dev.unmask.engine.Engine;
import dev.unmask.engine.decode.DecodingOptions;
import dev.unmask.engine.decode.DenoisingListener;
import dev.unmask.engine.decode.Remasking;
import dev.unmask.engine.request.DecodingPlan;
import dev.unmask.engine.request.GenerationRequest;
import dev.unmask.engine.request.InvalidRequestException;
import dev.unmask.engine.request.Phrasing;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The OpenAI-compatible API over served packages, without a framework: an HTTP layer reads the body, calls one
 * method, and writes the answer, the stream or the {@link ApiException}. Quarkus functions and the desktop agent
 * both sit on this class.
 *
 * <pre>{@code
 * PendingGeneration p = service.chat(ChatCompletionRequest.parse(body)); // 400/404/429 as ApiException
 * if (p.streaming()) p.streamTo(out); else write(Json.write(p.await()));
 * }</pre>
 */
public final class OpenAiService {

    private final Map<String, ServedModel> models = new LinkedHashMap<>();
    private final ServingLimits limits;
    private final Clock clock;
    private volatile long maxBodyBytes; // 0 until first asked: reading the tokenizers' bounds parses their files

    public OpenAiService(List<ServedModel> served, ServingLimits limits, Clock clock) {
        for (ServedModel m : served) {
            if (models.put(m.id(), m) != null) {
                throw new IllegalArgumentException(
                        "Two packages are served under the model id '" + m.id() + "': give each its own id");
            }
        }
        this.limits = limits;
        this.clock = clock;
    }

    public ServingLimits limits() {
        return limits;
    }

    /**
     * The largest request body any served model can use ({@link RequestBodies#maxBytes}): a larger one can be refused
     * with 413 before it is read. {@link RequestBodies#UNBOUNDED} when a model's tokenizer has no characters-per-token
     * bound. The first call reads every model's {@code tokenizer.json} (a parse of each): call it off the request
     * path, once the models are loaded.
     */
    public long maxBodyBytes() {
        long bound = maxBodyBytes;
        if (models.isEmpty()) {
            return RequestBodies.UNBOUNDED; // nothing to size bodies by
        }
        if (bound == 0) {
            for (ServedModel m : models.values()) {
                long chars = m.engine().maxPromptChars(limits.planning());
                bound = Math.max(bound, RequestBodies.maxBytes(chars, m.engine().contextTokens(limits.planning())));
            }
            maxBodyBytes = bound;
        }
        return bound;
    }

    /**
     * Whether a generation request now would be refused with 429 whichever model it names: every served model's
     * scheduler is full. A server asks this before it reads the body, so that a refusal under overload costs no
     * parsing, planning or exception; the refusal is counted as each model's rejection. False when one has room (the
     * request then goes the whole way, and {@link #chat}/{@link #completion} check again, exactly).
     */
    public boolean refuseAsOverloaded() {
        for (ServedModel m : models.values()) {
            if (m.scheduler().hasRoom()) {
                return false;
            }
        }
        for (ServedModel m : models.values()) {
            m.scheduler().countRejected();
        }
        return !models.isEmpty();
    }

    /** {@code GET /v1/models}. */
    public ModelList models() {
        List<ModelList.Model> data = new ArrayList<>();
        for (ServedModel m : models.values()) {
            data.add(card(m));
        }
        return ModelList.of(data);
    }

    /** {@code GET /v1/models/{id}}; 404 for an unknown id. */
    public ModelList.Model model(String id) {
        return card(served(id));
    }

    /** The served model behind {@code id}; 404 for an unknown id. */
    public ServedModel served(String id) {
        ServedModel m = models.get(id);
        if (m == null) {
            throw Errors.unknownModel(id, models.keySet());
        }
        return m;
    }

    public List<ServedModel> servedModels() {
        return List.copyOf(models.values());
    }

    /**
     * {@code POST /v1/chat/completions}: checks, plans and queues the request. A full server refuses it (429) before
     * anything else, and a prompt longer than any canvas (400) before it is tokenized: refusals cost microseconds.
     */
    public PendingGeneration chat(ChatCompletionRequest request) {
        ServedModel m = admitted(request.model(), request.params(), "top_logprobs");
        GenerationRequest r = request.params().request(new GenerationRequest.Prompt.Chat(request.messages()));
        DecodingPlan plan;
        try {
            plan = plan(m.engine(), r, request.params(), ApiFields.CHAT);
        } catch (ApiException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw ApiException.invalid("messages", e.getMessage()); // a package without a chat template
        } catch (RuntimeException e) {
            throw ApiException.invalid(
                    "messages",
                    "The chat template failed on these messages (" + e.getMessage()
                            + "): send alternating \"user\" and \"assistant\" messages, optionally after one \"system\" message");
        }
        return submit(PendingGeneration.Kind.CHAT, "chatcmpl-", m, plan, request.params(), 0);
    }

    /**
     * A request read by another wire format over the same models (the agent's Ollama API): the engine's request,
     * already built from that format's fields, admitted, planned and queued exactly as {@link #chat} and
     * {@link #completion} do it (a chat prompt as a chat, any other as a completion), so that every bound is checked
     * in one place. The planner's violations are phrased in {@code names}, the format's own field names.
     */
    public PendingGeneration generate(
            String model, GenerationRequest request, GenerationParams params, Phrasing names) {
        boolean chat = request.prompt() instanceof GenerationRequest.Prompt.Chat;
        ServedModel m = admitted(model, params, "logprobs");
        DecodingPlan plan;
        try {
            plan = plan(m.engine(), request, params, chat ? ApiFields.CHAT : ApiFields.COMPLETION);
        } catch (ApiException e) {
            throw e.getCause() instanceof InvalidRequestException v
                    ? ApiException.invalid(null, e.code(), v.phrased(names).getMessage())
                    : e;
        } catch (IllegalArgumentException e) {
            throw ApiException.invalid(null, e.getMessage()); // e.g. a package without a chat template
        } catch (RuntimeException e) {
            if (!chat) {
                throw e;
            }
            throw ApiException.invalid(
                    null,
                    "The chat template failed on these messages (" + e.getMessage()
                            + "): send alternating \"user\" and \"assistant\" messages, optionally after one \"system\" message");
        }
        return chat
                ? submit(PendingGeneration.Kind.CHAT, "chatcmpl-", m, plan, params, 0)
                : submit(PendingGeneration.Kind.COMPLETION, "cmpl-", m, plan, params, 0);
    }

    /** {@code POST /v1/completions}: a continuation, or fill-in-the-middle with {@code suffix}. */
    public PendingGeneration completion(CompletionRequest request) {
        ServedModel m = admitted(request.model(), request.params(), "logprobs");
        GenerationRequest.Prompt prompt = request.suffix() == null
                ? new GenerationRequest.Prompt.Continuation(request.prompt())
                : new GenerationRequest.Prompt.Infill(request.prompt(), request.suffix());
        DecodingPlan plan = plan(m.engine(), request.params().request(prompt), request.params(), ApiFields.COMPLETION);
        return submit(
                PendingGeneration.Kind.COMPLETION,
                "cmpl-",
                m,
                plan,
                request.params(),
                request.prompt().length());
    }

    /**
     * The served model, if its scheduler has room for the request's {@code n} rows: 404, 429 or 503 otherwise; 400
     * for more choices than a batch holds or more candidates per token than the package's head returns.
     */
    private ServedModel admitted(String id, GenerationParams params, String logprobsField) {
        ServedModel m = served(id);
        int maxBatch = m.scheduler().maxBatch();
        if (params.n() > maxBatch) {
            throw ApiException.invalid(
                    "n",
                    "'n' must be at most " + maxBatch + " on this server (its batch size; each choice is a row of one"
                            + " batch), e.g. \"n\": " + Math.min(2, maxBatch) + "; got " + params.n());
        }
        int topK = Math.min(
                GenerationParams.MAX_TOP_LOGPROBS, m.engine().manifest().graph().topK());
        if (params.logprobs() != null && params.logprobs() > topK) {
            throw ApiException.invalid(
                    logprobsField,
                    "'" + logprobsField + "' must be at most " + topK + " for model '" + id
                            + "' (its package's head returns the " + topK + " most likely tokens per position), e.g. \""
                            + logprobsField + "\": " + Math.min(3, topK) + "; got " + params.logprobs());
        }
        try {
            m.scheduler().admit(params.n());
        } catch (RuntimeException e) {
            throw Errors.toApi(e);
        }
        return m;
    }

    /**
     * The engine's plan under this server's limits, violations as 400s in the API's words. An unseeded request that
     * samples gets a fresh seed, as OpenAI's API does; an unseeded greedy one keeps seed 0.
     */
    private DecodingPlan plan(Engine engine, GenerationRequest request, GenerationParams params, ApiFields fields) {
        DecodingPlan plan;
        try {
            plan = engine.plan(request, limits.planning());
        } catch (InvalidRequestException e) {
            throw fields.toApi(e);
        }
        DecodingOptions o = plan.options();
        if (params.seed() == null && (o.temperature() > 0 || o.remasking() == Remasking.RANDOM)) {
            plan = plan.withOptions(
                    o.toBuilder().seed(ThreadLocalRandom.current().nextLong()).build());
        }
        return plan;
    }

    /**
     * Queues the request's {@code n} choices as rows of one batch: choice {@code i} is the plan with seed
     * {@code seed + i} ({@link GenerationParams#choiceSeed}), so choice 0 is the answer to the same request with n = 1.
     *
     * @param promptChars a completion's prompt length in characters, where its {@code text_offset}s start; 0 for chat
     */
    private PendingGeneration submit(
            PendingGeneration.Kind kind,
            String idPrefix,
            ServedModel m,
            DecodingPlan plan,
            GenerationParams params,
            int promptChars) {
        String id = idPrefix + UUID.randomUUID().toString().replace("-", "");
        long created = clock.instant().getEpochSecond();
        List<DecodingPlan> plans = new ArrayList<>(params.n());
        for (int i = 0; i < params.n(); i++) {
            long seed = GenerationParams.choiceSeed(plan.options().seed(), i);
            plans.add(
                    i == 0
                            ? plan
                            : plan.withOptions(
                                    plan.options().toBuilder().seed(seed).build()));
        }
        PendingGeneration pending = new PendingGeneration(
                kind, id, created, m.id(), plans, params, m.engine().tokenizer(), promptChars);
        long maskId = m.engine().traits().maskId();
        List<DenoisingListener> listeners = new ArrayList<>(plans.size());
        for (int i = 0; i < plans.size(); i++) {
            listeners.add(pending.listener(i, m.engine().answerText(plans.get(i)), maskId));
        }
        try {
            pending.submitted(m.scheduler().submitAll(plans, listeners));
        } catch (RuntimeException e) {
            throw Errors.toApi(e);
        }
        return pending;
    }

    private static ModelList.Model card(ServedModel m) {
        return ModelList.Model.of(m.id(), m.createdSeconds(), "unmask");
    }
}
