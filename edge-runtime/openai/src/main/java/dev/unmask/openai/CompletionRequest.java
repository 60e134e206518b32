package dev.unmask.openai;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * {@code POST /v1/completions}, read and checked. With {@code suffix} the model fills in the middle between
 * {@code prompt} and {@code suffix}, which a diffusion model does natively: the masked middle is denoised with the
 * suffix in view.
 *
 * @param model  the model id, as {@code GET /v1/models} lists it
 * @param prompt the text to continue (or the prefix, with a suffix)
 * @param suffix the text after the completion; null for a plain continuation
 * @param params sampling, streaming and diffusion fields
 */
public record CompletionRequest(String model, String prompt, String suffix, GenerationParams params) {

    public static final String EXAMPLE =
            "{\"model\": \"tiny-llada\", \"prompt\": \"def add(a, b):\", \"max_tokens\": 32}";

    public static CompletionRequest parse(byte[] body) {
        return read(Json.readObject(body, EXAMPLE));
    }

    public static CompletionRequest read(JsonNode body) {
        String model = Fields.requiredString(body, "model", "\"model\": \"tiny-llada\" (GET /v1/models lists the ids)");
        JsonNode p = body.get("prompt");
        String prompt;
        if (p == null || p.isNull()) {
            throw ApiException.invalid(
                    "prompt", "missing_required_parameter", "'prompt' is required: send e.g. " + EXAMPLE);
        } else if (p.isTextual()) {
            prompt = p.textValue();
        } else if (p.isArray() && p.size() == 1 && p.get(0).isTextual()) {
            prompt = p.get(0).textValue();
        } else if (p.isArray() && p.size() > 1 && p.get(0).isTextual()) {
            throw ApiException.invalid(
                    "prompt",
                    "unsupported_parameter",
                    "'prompt' holds " + p.size()
                            + " prompts: send one prompt per request (concurrent requests are batched together)");
        } else {
            throw Fields.wrongType("prompt", "a string", "\"prompt\": \"def add(a, b):\"", p);
        }
        String suffix = Fields.string(body, "suffix", "\"suffix\": \"\\n    return result\"");
        if (suffix != null && suffix.isEmpty()) {
            suffix = null;
        }
        return new CompletionRequest(model, prompt, suffix, GenerationParams.read(body, false));
    }
}
