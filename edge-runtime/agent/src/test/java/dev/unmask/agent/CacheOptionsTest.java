package dev.unmask.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unmask.engine.decode.KvCacheMode;
import dev.unmask.engine.request.GenerationRequest;
import dev.unmask.engine.request.RequestField;
import dev.unmask.engine.request.Violation;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The cache choice on the desktop's surfaces: {@code --cache}/{@code --cache-refresh} (generate, infill, run, bench),
 * {@code /set cache dual} in {@code unmask run}, and Ollama's {@code options.cache}/{@code options.cache_refresh};
 * each reaches the same {@link GenerationRequest} fields, and the planner's violations name them as each surface does.
 */
class CacheOptionsTest {

    static final GenerationRequest.Prompt PROMPT = new GenerationRequest.Prompt.Continuation("def f():");

    static DecodingArgs flags(String... args) {
        DecodingArgs d = new DecodingArgs();
        new CommandLine(d).parseArgs(args);
        return d;
    }

    @Test
    void the_cache_flags_reach_the_request() {
        GenerationRequest r = flags("--cache", "dual", "--cache-refresh", "8").request(PROMPT);
        assertEquals(KvCacheMode.DUAL, r.cache());
        assertEquals(8, r.cacheRefresh());
        assertEquals(
                KvCacheMode.PREFIX, flags("--cache", "PREFIX").request(PROMPT).cache(), "any case");
        GenerationRequest none = flags().request(PROMPT);
        assertNull(none.cache(), "not given: the family's default");
        assertNull(none.cacheRefresh());
    }

    @Test
    void an_unknown_cache_name_shows_the_right_ones() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class, () -> flags("--cache", "full").request(PROMPT));
        assertEquals("--cache must be none, prefix or dual, e.g. --cache dual; got full", e.getMessage());
    }

    @Test
    void set_cache_in_unmask_run_is_the_flag() {
        DecodingArgs d = new DecodingArgs();
        RunSettings.set(d, RunSettings.param("cache"), "dual");
        RunSettings.set(d, RunSettings.param("cache-refresh"), "4");
        GenerationRequest r = d.request(PROMPT);
        assertEquals(KvCacheMode.DUAL, r.cache());
        assertEquals(4, r.cacheRefresh());
        assertEquals("dual", RunSettings.given(d).get("cache"));
        RunSettings.set(d, RunSettings.param("cache"), RunSettings.DEFAULT);
        assertNull(d.request(PROMPT).cache());
        assertTrue(RunSettings.names().contains("cache, cache_refresh"), RunSettings.names());
    }

    @Test
    void violations_name_the_flags_and_the_ollama_options() {
        Violation v = new Violation(
                RequestField.CACHE, "dual", "none with this package", "none", Violation.Kind.UNSUPPORTED_BY_PACKAGE);
        assertEquals(
                "--cache must be none with this package, e.g. --cache none; got dual", v.message(CliFields.GENERATE));
        assertEquals(
                "'options.cache' must be none with this package, e.g. \"options\": {\"cache\": \"none\"}; got dual",
                v.message(OllamaApi.Names.GENERATE));
        Violation refresh =
                new Violation(RequestField.CACHE_REFRESH, "-1", "0 or more", "8", Violation.Kind.OUT_OF_RANGE);
        assertEquals(
                "--cache-refresh must be 0 or more, e.g. --cache-refresh 8; got -1", refresh.message(CliFields.INFILL));
        assertEquals(
                "'options.cache_refresh' must be 0 or more, e.g. \"options\": {\"cache_refresh\": 8}; got -1",
                refresh.message(OllamaApi.Names.CHAT));
    }

    @Test
    void ollamas_options_carry_the_cache() throws Exception {
        OllamaApi.Request r = OllamaApi.generate(new ObjectMapper()
                .readTree("{\"model\": \"m\", \"prompt\": \"x\", \"options\": {\"cache\": \"prefix\", "
                        + "\"cache_refresh\": 2}}"));
        GenerationRequest g = r.params().request(PROMPT);
        assertEquals(KvCacheMode.PREFIX, g.cache());
        assertEquals(2, g.cacheRefresh());
    }
}
