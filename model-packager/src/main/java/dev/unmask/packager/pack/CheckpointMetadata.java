package dev.unmask.packager.pack;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unmask.format.PackageManifest;
import dev.unmask.packager.ExitCode;
import dev.unmask.packager.PackagerException;
import dev.unmask.packager.arch.TransformerConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** What generation needs besides the weights: special token ids, sampler defaults, the chat template. */
final class CheckpointMetadata {

    private static final ObjectMapper JSON = new ObjectMapper();

    private CheckpointMetadata() {}

    static JsonNode readOptional(Path file) {
        if (!Files.isRegularFile(file)) {
            return null;
        }
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new PackagerException(ExitCode.BAD_CHECKPOINT, file + " is not valid JSON: " + e.getMessage(), e);
        }
    }

    /** Special tokens by content, from tokenizer.json's added_tokens. */
    static Map<String, Integer> addedTokens(Path tokenizerJson) {
        JsonNode root = readOptional(tokenizerJson);
        Map<String, Integer> out = new HashMap<>();
        if (root != null && root.path("added_tokens").isArray()) {
            for (JsonNode t : root.get("added_tokens")) {
                out.put(t.path("content").asText(), t.path("id").asInt());
            }
        }
        return out;
    }

    static PackageManifest.SpecialTokens specialTokens(
            TransformerConfig.SpecialTokenIds config,
            JsonNode generation,
            Map<String, Integer> added,
            Path checkpointDir) {
        // LLaDA's <|mdm_mask|>, or SDAR's <|MASK|> (generate.py takes tokenizer.mask_token; JetLM/SDAR-4B-Chat's
        // config.json names no mask_token_id)
        Integer mask = firstNonNull(
                config.mask(),
                intOrNull(generation, "mask_token_id"),
                firstNonNull(added.get("<|mdm_mask|>"), added.get("<|MASK|>")));
        Integer eos = firstNonNull(intOrNull(generation, "eos_token_id"), config.eos(), added.get("<|endoftext|>"));
        if (mask == null) {
            throw new PackagerException(
                    ExitCode.BAD_CHECKPOINT,
                    checkpointDir + ": no mask token id: config.json has no "
                            + "\"mask_token_id\" and tokenizer.json has no <|mdm_mask|> or <|MASK|> token; add \"mask_token_id\": 126336 (LLaDA-8B) to config.json");
        }
        if (eos == null) {
            throw new PackagerException(
                    ExitCode.BAD_CHECKPOINT,
                    checkpointDir + ": no EOS token id in config.json "
                            + "(\"eos_token_id\"), generation_config.json or tokenizer.json (<|endoftext|>)");
        }
        // end of turn: LLaDA's Llama-3 <|eot_id|>, or ChatML's <|im_end|> (Dream, DiffuCoder: Qwen2.5's vocabulary)
        Integer eot = firstNonNull(added.get("<|eot_id|>"), added.get("<|im_end|>"));
        Integer bos = firstNonNull(intOrNull(generation, "bos_token_id"), config.bos(), added.get("<|startoftext|>"));
        Integer pad = firstNonNull(intOrNull(generation, "pad_token_id"), config.pad(), eos);
        return new PackageManifest.SpecialTokens(mask, eos, eot, bos, pad);
    }

    /** tokenizer_config.json's chat_template: a string, or a list of {name, template} (the "default" one). */
    static String chatTemplate(JsonNode tokenizerConfig) {
        if (tokenizerConfig == null) {
            return null;
        }
        JsonNode t = tokenizerConfig.get("chat_template");
        if (t == null || t.isNull()) {
            return null;
        }
        if (t.isTextual()) {
            return t.asText();
        }
        if (t.isArray()) {
            for (JsonNode e : t) {
                if ("default".equals(e.path("name").asText())) {
                    return e.path("template").asText();
                }
            }
            return t.size() > 0 ? t.get(0).path("template").asText(null) : null;
        }
        return null;
    }

    private static Integer intOrNull(JsonNode n, String key) {
        if (n == null) {
            return null;
        }
        JsonNode v = n.get(key);
        return v == null || !v.canConvertToInt() ? null : v.asInt();
    }

    @SafeVarargs
    private static <T> T firstNonNull(T... values) {
        for (T v : values) {
            if (v != null) {
                return v;
            }
        }
        return null;
    }
}
