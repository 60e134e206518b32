package dev.unmask.openai;

import dev.unmask.engine.Engine;
import dev.unmask.engine.decode.DecodingOptions;
import dev.unmask.engine.decode.DenoisingListener;

import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

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

    /** The canvas options used only to render a chat prompt and count its tokens. */
    private static final DecodingOptions ONE_TOKEN = DecodingOptions.defaults().toBuilder()
            .genLength(1).blockLength(1).steps(1).build();

    private final Map<String, ServedModel> models = new LinkedHashMap<>();
    private final ServingLimits limits;
    private final Clock clock;

    public OpenAiService(List<ServedModel> served, ServingLimits limits, Clock clock) {
        for (ServedModel m : served) {
            if (models.put(m.id(), m) != null) {
                throw new IllegalArgumentException("Two packages are served under the model id '" + m.id()
                        + "': give each its own id");
            }
        }
        this.limits = limits;
        this.clock = clock;
    }

    public ServingLimits limits() {
        return limits;
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

    /** {@code POST /v1/chat/completions}: checks, plans and queues the request. */
    public PendingGeneration chat(ChatCompletionRequest request) {
        ServedModel m = served(request.model());
        Engine engine = m.engine();
        long[] prompt;
        try {
            var canvas = engine.chatCanvas(request.messages(), ONE_TOKEN);
            prompt = Arrays.copyOf(canvas.tokens(), canvas.genStart());
        } catch (IllegalArgumentException e) {
            throw ApiException.invalid("messages", e.getMessage());
        } catch (RuntimeException e) {
            throw ApiException.invalid("messages", "The chat template failed on these messages (" + e.getMessage()
                    + "): send alternating \"user\" and \"assistant\" messages, optionally after one \"system\" message");
        }
        Plan plan = Plan.of(prompt, null, request.params(), engine.defaultOptions(), engine.traits(), limits);
        return submit(PendingGeneration.Kind.CHAT, "chatcmpl-", m, plan, request.params());
    }

    /** {@code POST /v1/completions}: a continuation, or fill-in-the-middle with {@code suffix}. */
    public PendingGeneration completion(CompletionRequest request) {
        ServedModel m = served(request.model());
        Engine engine = m.engine();
        long[] prefix = engine.tokenizer().encode(request.prompt(), true);
        long[] suffix = request.suffix() == null ? null : engine.tokenizer().encode(request.suffix(), false);
        Plan plan = Plan.of(prefix, suffix, request.params(), engine.defaultOptions(), engine.traits(), limits);
        return submit(PendingGeneration.Kind.COMPLETION, "cmpl-", m, plan, request.params());
    }

    private PendingGeneration submit(PendingGeneration.Kind kind, String idPrefix, ServedModel m, Plan plan,
                                     GenerationParams params) {
        String id = idPrefix + UUID.randomUUID().toString().replace("-", "");
        long created = clock.instant().getEpochSecond();
        PendingGeneration pending = new PendingGeneration(kind, id, created, m.id(), plan, params);
        Engine engine = m.engine();
        DenoisingListener listener = pending.listener(
                new RegionText(plan.layout(), plan.options(), engine.traits(), engine.tokenizer()::decode));
        try {
            pending.submitted(m.scheduler().submit(plan, listener));
        } catch (RuntimeException e) {
            throw Errors.toApi(e);
        }
        return pending;
    }

    private static ModelList.Model card(ServedModel m) {
        return ModelList.Model.of(m.id(), m.createdSeconds(), "unmask");
    }
}
