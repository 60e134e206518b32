package dev.unmask.agent;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * {@code unmask run}'s {@code /set <param> <value>}: the diffusion parameters a session may change, each one a field
 * of {@link DecodingArgs} (so that {@code /set steps 8} and {@code --steps 8} are the same request). The table is the
 * one place that names them; {@code /set}, {@code /show} and {@code /help} read it.
 */
final class RunSettings {

    /** One parameter: its name in {@code /set}, the flag it stands for, how to read and write it. */
    record Param(
            String name,
            String flag,
            String example,
            Function<DecodingArgs, Object> get,
            BiConsumer<DecodingArgs, String> set) {}

    static final List<Param> PARAMS = List.of(
            new Param("steps", "--steps", "32", d -> d.steps, (d, v) -> d.steps = integer(v)),
            new Param("block", "--block-length", "32", d -> d.blockLength, (d, v) -> d.blockLength = integer(v)),
            new Param("length", "--gen-length", "64", d -> d.genLength, (d, v) -> d.genLength = integer(v)),
            new Param("threshold", "--threshold", "0.9", d -> d.threshold, (d, v) -> d.threshold = real(v)),
            new Param("factor", "--factor", "1.0", d -> d.factor, (d, v) -> d.factor = real(v)),
            new Param("temperature", "--temperature", "0.7", d -> d.temperature, (d, v) -> d.temperature = real(v)),
            new Param("seed", "--seed", "42", d -> d.seed, (d, v) -> d.seed = v == null ? null : Long.parseLong(v)),
            new Param("top_k", "--top-k", "40", d -> d.topK, (d, v) -> d.topK = integer(v)),
            new Param("top_p", "--top-p", "0.95", d -> d.topP, (d, v) -> d.topP = real(v)),
            new Param("remasking", "--remasking", "low_confidence", d -> d.remasking, (d, v) -> d.remasking = v),
            new Param("confidence", "--confidence", "margin", d -> d.confidence, (d, v) -> d.confidence = v),
            new Param("alg", "--alg", "entropy", d -> d.alg, (d, v) -> d.alg = v),
            new Param("alg_temp", "--alg-temp", "0.5", d -> d.algTemp, (d, v) -> d.algTemp = real(v)),
            new Param("eps", "--eps", "0.001", d -> d.eps, (d, v) -> d.eps = real(v)),
            new Param("cfg_scale", "--cfg-scale", "1.5", d -> d.cfgScale, (d, v) -> d.cfgScale = real(v)),
            new Param("max_tokens", "--max-tokens", "48", d -> d.maxTokens, (d, v) -> d.maxTokens = integer(v)),
            new Param("cache", "--cache", "dual", d -> d.cache, (d, v) -> d.cache = v),
            new Param(
                    "cache_refresh",
                    "--cache-refresh",
                    "8",
                    d -> d.cacheRefresh,
                    (d, v) -> d.cacheRefresh = integer(v)));

    /** Spellings a user may type for a parameter: the flag's words too ({@code block_length}, {@code gen-length}). */
    private static final Map<String, Param> BY_NAME = new LinkedHashMap<>();

    static {
        for (Param p : PARAMS) {
            BY_NAME.put(p.name(), p);
            BY_NAME.put(p.flag().substring(2).replace('-', '_'), p);
        }
    }

    /** The word that puts a parameter back to the package's default. */
    static final String DEFAULT = "default";

    private RunSettings() {}

    /** The parameter called {@code name} (any case, {@code -} or {@code _}); an error listing them all otherwise. */
    static Param param(String name) {
        Param p = BY_NAME.get(name.toLowerCase(Locale.ROOT).replace('-', '_'));
        if (p == null) {
            throw new IllegalArgumentException(
                    "no parameter '" + name + "'; /set takes " + names() + ", e.g. /set steps 8");
        }
        return p;
    }

    /**
     * Sets {@code value} ({@value #DEFAULT} = the package's) on {@code args}; a value of the wrong type is an error
     * that shows a correct one. Whether the combination is valid is the planner's to say.
     */
    static void set(DecodingArgs args, Param p, String value) {
        try {
            p.set().accept(args, value.equalsIgnoreCase(DEFAULT) ? null : value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    "'" + value + "' is not a number for " + p.name() + ": e.g. /set " + p.name() + " " + p.example());
        }
    }

    /** The parameters given, by name, in the table's order ({@code /show}). */
    static Map<String, Object> given(DecodingArgs args) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (Param p : PARAMS) {
            Object v = p.get().apply(args);
            if (v != null) {
                out.put(p.name(), v);
            }
        }
        return out;
    }

    static String names() {
        return String.join(", ", PARAMS.stream().map(Param::name).toList());
    }

    private static Integer integer(String v) {
        return v == null ? null : Integer.valueOf(v);
    }

    private static Double real(String v) {
        return v == null ? null : Double.valueOf(v);
    }
}
