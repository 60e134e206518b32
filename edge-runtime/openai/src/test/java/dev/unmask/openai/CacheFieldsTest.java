package dev.unmask.openai;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.engine.decode.KvCache;
import dev.unmask.engine.decode.KvCacheMode;
import dev.unmask.engine.decode.ModelTraits;
import dev.unmask.engine.request.DecodingPlan;
import dev.unmask.engine.request.DecodingPlanner;
import dev.unmask.engine.request.GenerationDefaults;
import dev.unmask.engine.request.GenerationRequest;
import dev.unmask.engine.request.InvalidRequestException;
import dev.unmask.engine.request.PromptTokens;
import dev.unmask.format.PackageManifest;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * {@code cache} and {@code cache_refresh} on the OpenAI routes: top-level fields beside the other diffusion controls
 * ({@link DiffusionControls}), read for their type here and checked by the engine's planner, its refusals coming back
 * as 400s that name the field as sent.
 */
class CacheFieldsTest {

    static final PackageManifest.KvCache KV = new PackageManifest.KvCache(2, 64, "float32");
    static final ModelTraits WITH_CACHE = new ModelTraits(3, 1, 2, 1, false, 8, false, 512, 0, KV);
    static final ModelTraits WITHOUT_CACHE = new ModelTraits(3, 1, 2, 1, false, 8, false, 512);
    static final ModelTraits BLOCK_CAUSAL = new ModelTraits(3, 1, 2, 1, false, 8, false, 512, 4, KV);

    static GenerationParams completion(String body) {
        return CompletionRequest.parse(body.replace('\'', '"').getBytes(StandardCharsets.UTF_8))
                .params();
    }

    static DecodingPlan plan(ModelTraits traits, String body) {
        GenerationRequest r = completion(body.replaceFirst("\\{", "{'model': 'm', "))
                .request(new GenerationRequest.Prompt.Continuation("ignored"));
        GenerationDefaults defaults =
                GenerationDefaults.LLADA.withCache(traits.blockCausal() ? KvCacheMode.PREFIX : KvCacheMode.NONE);
        try {
            return new DecodingPlanner(
                            defaults, traits, ServingLimits.defaults().planning())
                    .plan(r, new PromptTokens.Continuation(new long[] {0, 100, 101, 102}));
        } catch (InvalidRequestException e) {
            throw ApiFields.COMPLETION.toApi(e);
        }
    }

    @Test
    void cache_and_cache_refresh_are_read_beside_the_other_diffusion_controls() {
        GenerationParams p = completion("{'model': 'm', 'prompt': 'x', 'cache': 'dual', 'cache_refresh': 8}");
        assertEquals(KvCacheMode.DUAL, p.diffusion().cache());
        assertEquals(8, p.diffusion().cacheRefresh());
        GenerationRequest r = p.request(new GenerationRequest.Prompt.Continuation("x"));
        assertEquals(KvCacheMode.DUAL, r.cache());
        assertEquals(8, r.cacheRefresh());
        GenerationParams absent = completion("{'model': 'm', 'prompt': 'x'}");
        assertNull(absent.diffusion().cache(), "absent: the family's default");
        assertNull(absent.diffusion().cacheRefresh());
        ChatCompletionRequest chat = ChatCompletionRequest.parse(
                "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"cache\": \"prefix\"}"
                        .getBytes(StandardCharsets.UTF_8));
        assertEquals(KvCacheMode.PREFIX, chat.params().diffusion().cache());
    }

    @Test
    void a_cache_name_or_type_the_api_does_not_take_is_a_400_naming_the_field_with_a_correct_example() {
        ApiException name =
                assertThrows(ApiException.class, () -> completion("{'model': 'm', 'prompt': 'x', 'cache': 'full'}"));
        assertEquals("cache", name.param());
        assertTrue(name.getMessage().contains("\"none\", \"prefix\", \"dual\""), name.getMessage());
        assertTrue(name.getMessage().contains("e.g. \"cache\": \"dual\""), name.getMessage());
        ApiException type = assertThrows(
                ApiException.class, () -> completion("{'model': 'm', 'prompt': 'x', 'cache_refresh': 'often'}"));
        assertEquals("cache_refresh", type.param());
    }

    @Test
    void the_planner_plans_the_cache_asked_for() {
        assertEquals(
                new KvCache(KvCacheMode.DUAL, 8),
                plan(WITH_CACHE, "{'prompt': 'x', 'cache': 'dual', 'cache_refresh': 8}")
                        .options()
                        .cache());
        assertEquals(
                KvCache.NONE,
                plan(WITH_CACHE, "{'prompt': 'x', 'cache': 'none'}").options().cache());
        assertEquals(
                KvCache.of(KvCacheMode.PREFIX),
                plan(BLOCK_CAUSAL, "{'prompt': 'x', 'max_tokens': 8}").options().cache(),
                "a block-causal model's default: the exact prefix cache");
    }

    @Test
    void a_cache_on_a_package_without_one_is_a_400_that_says_to_reconvert() {
        ApiException e =
                assertThrows(ApiException.class, () -> plan(WITHOUT_CACHE, "{'prompt': 'x', 'cache': 'prefix'}"));
        assertEquals("cache", e.param());
        assertEquals(400, e.kind().httpStatus());
        assertTrue(e.getMessage().startsWith("'cache' must be none with this package"), e.getMessage());
        assertTrue(e.getMessage().contains("re-convert"), e.getMessage());
        assertTrue(e.getMessage().contains("e.g. \"cache\": \"none\"; got prefix"), e.getMessage());
        assertEquals(
                KvCache.NONE,
                plan(WITHOUT_CACHE, "{'prompt': 'x'}").options().cache(),
                "the default is silently none there");
    }

    @Test
    void a_refresh_without_a_cache_and_a_foreign_block_length_on_a_block_causal_model_are_400s() {
        ApiException refresh =
                assertThrows(ApiException.class, () -> plan(WITH_CACHE, "{'prompt': 'x', 'cache_refresh': 4}"));
        assertEquals("cache_refresh", refresh.param());
        ApiException block = assertThrows(
                ApiException.class, () -> plan(BLOCK_CAUSAL, "{'prompt': 'x', 'max_tokens': 8, 'block_length': 32}"));
        assertEquals("block_length", block.param());
        assertTrue(block.getMessage().contains("e.g. \"block_length\": 4"), block.getMessage());
    }
}
