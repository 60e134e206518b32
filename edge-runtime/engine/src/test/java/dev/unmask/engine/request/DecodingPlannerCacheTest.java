package dev.unmask.engine.request;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.engine.decode.Block;
import dev.unmask.engine.decode.KvCache;
import dev.unmask.engine.decode.KvCacheMode;
import dev.unmask.engine.decode.ModelTraits;
import dev.unmask.engine.decode.Remasking;
import dev.unmask.format.PackageManifest;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * The cache choice ({@code cache}, {@code cache_refresh}) and the block-causal plan, as data: the defaults per family,
 * the refusals with their fixes, and SDAR's block alignment (JetAstra/SDAR {@code generate.py},
 * {@code block_diffusion_generate}: {@code num_blocks = ceil((prompt + gen) / block)}, the prompt's whole blocks
 * prefilled, the decoding starting at block {@code prompt // block}).
 */
class DecodingPlannerCacheTest {

    static final PackageManifest.KvCache KV = new PackageManifest.KvCache(2, 64, "float32");
    /** tiny-llada-like: 512 positions, top-8 head, a format 3 graph with a cache */
    static final ModelTraits LLADA_V3 = new ModelTraits(3, 1, 2, 1, false, 8, false, 512, 0, KV);
    /** a format 2 package: no cache in its graph */
    static final ModelTraits LLADA_V2 = new ModelTraits(3, 1, 2, 1, false, 8, false, 512);
    /** SDAR-like: blocks of 4, 512 positions, with a cache */
    static final ModelTraits SDAR = new ModelTraits(3, 1, 2, 1, false, 8, false, 512, 4, KV);
    /** SDAR's generate.py defaults in package form: one token per step, so denoising_steps = block_length = 4 */
    static final GenerationDefaults SDAR_DEFAULTS =
            new GenerationDefaults(64, 4, 64, 0, Remasking.LOW_CONFIDENCE, 0).withCache(KvCacheMode.PREFIX);

    static final long[] PROMPT = {0, 100, 101, 102}; // 4 tokens: one whole block of 4
    static final long[] PROMPT_6 = {0, 100, 101, 102, 103, 104}; // a whole block and 2 tokens of the next

    static GenerationRequest.Builder request() {
        return GenerationRequest.builder(new GenerationRequest.Prompt.Continuation("ignored: the tokens are given"));
    }

    static DecodingPlan plan(
            GenerationDefaults defaults,
            ModelTraits traits,
            long[] prompt,
            UnaryOperator<GenerationRequest.Builder> f) {
        return new DecodingPlanner(defaults, traits, Limits.NONE)
                .plan(f.apply(request()).build(), new PromptTokens.Continuation(prompt));
    }

    static DecodingPlan sdar(long[] prompt, UnaryOperator<GenerationRequest.Builder> f) {
        return plan(SDAR_DEFAULTS, SDAR, prompt, f);
    }

    static Violation refused(
            GenerationDefaults defaults, ModelTraits traits, UnaryOperator<GenerationRequest.Builder> f) {
        InvalidRequestException e =
                assertThrows(InvalidRequestException.class, () -> plan(defaults, traits, PROMPT, f));
        assertEquals(1, e.violations().size(), e.getMessage());
        return e.violations().get(0);
    }

    @Test
    void each_family_has_one_default_cache_and_a_block_causal_one_gets_the_exact_prefix_cache() {
        assertEquals(KvCacheMode.NONE, GenerationDefaults.cacheFor(architecture("llada", null)));
        assertEquals(KvCacheMode.NONE, GenerationDefaults.cacheFor(architecture("dream", null)));
        assertEquals(KvCacheMode.PREFIX, GenerationDefaults.cacheFor(architecture("sdar", 4)));
        assertEquals(GenerationDefaults.LLADA_CACHE, GenerationDefaults.cacheFor(architecture("llada", null)));
        assertEquals(GenerationDefaults.DREAM_CACHE, GenerationDefaults.cacheFor(architecture("dream", null)));
        assertEquals(GenerationDefaults.BLOCK_CAUSAL_CACHE, GenerationDefaults.cacheFor(architecture("any", 32)));
    }

    @Test
    void a_request_without_a_cache_gets_its_familys_default() {
        assertEquals(
                KvCache.NONE,
                plan(GenerationDefaults.LLADA, LLADA_V3, PROMPT, b -> b)
                        .options()
                        .cache());
        assertEquals(
                KvCache.of(KvCacheMode.PREFIX), sdar(PROMPT, b -> b).options().cache());
        GenerationDefaults dualByDefault = GenerationDefaults.LLADA.withCache(KvCacheMode.DUAL);
        assertEquals(
                new KvCache(KvCacheMode.DUAL, 4),
                plan(dualByDefault, LLADA_V3, PROMPT, b -> b.cacheRefresh(4))
                        .options()
                        .cache(),
                "a refresh given alone applies to the default cache");
    }

    @Test
    void the_default_is_silently_none_on_a_package_without_a_cache() {
        GenerationDefaults dualByDefault = GenerationDefaults.LLADA.withCache(KvCacheMode.DUAL);
        assertEquals(
                KvCache.NONE,
                plan(dualByDefault, LLADA_V2, PROMPT, b -> b).options().cache());
        ModelTraits sdarWithoutCache = new ModelTraits(3, 1, 2, 1, false, 8, false, 512, 4, null);
        assertEquals(
                KvCache.NONE,
                plan(SDAR_DEFAULTS, sdarWithoutCache, PROMPT, b -> b).options().cache());
    }

    @Test
    void a_request_names_its_cache_and_refresh() {
        assertEquals(
                new KvCache(KvCacheMode.DUAL, 8),
                plan(
                                GenerationDefaults.LLADA,
                                LLADA_V3,
                                PROMPT,
                                b -> b.cache(KvCacheMode.DUAL).cacheRefresh(8))
                        .options()
                        .cache());
        assertEquals(
                KvCache.of(KvCacheMode.PREFIX),
                plan(GenerationDefaults.LLADA, LLADA_V3, PROMPT, b -> b.cache(KvCacheMode.PREFIX))
                        .options()
                        .cache());
        assertEquals(
                KvCache.NONE,
                sdar(PROMPT, b -> b.cache(KvCacheMode.NONE)).options().cache(),
                "none may be asked for on any package");
    }

    @Test
    void cache_none_plans_exactly_what_a_request_without_the_field_did() {
        DecodingPlan before = plan(
                GenerationDefaults.LLADA, LLADA_V2, PROMPT, b -> b.length(40).steps(20));
        DecodingPlan none = plan(
                GenerationDefaults.LLADA,
                LLADA_V3,
                PROMPT,
                b -> b.length(40).steps(20).cache(KvCacheMode.NONE).cacheRefresh(0));
        assertEquals(before.blocks(), none.blocks());
        assertEquals(before.options(), none.options());
        assertEquals(before.layout().length(), none.layout().length());
    }

    @Test
    void a_cache_on_a_package_without_one_is_refused_with_how_to_get_one() {
        Violation v = refused(GenerationDefaults.LLADA, LLADA_V2, b -> b.cache(KvCacheMode.DUAL));
        assertEquals(RequestField.CACHE, v.field());
        assertEquals(Violation.Kind.UNSUPPORTED_BY_PACKAGE, v.kind());
        assertEquals("dual", v.value());
        assertEquals("none", v.example());
        assertTrue(v.allowed().contains("re-convert") && v.allowed().contains("unmask-pack convert"), v.allowed());
    }

    @Test
    void a_refresh_needs_a_cache_and_a_bounded_interval() {
        Violation withNone = refused(
                GenerationDefaults.LLADA,
                LLADA_V3,
                b -> b.cache(KvCacheMode.NONE).cacheRefresh(4));
        assertEquals(RequestField.CACHE_REFRESH, withNone.field());
        assertEquals("0", withNone.example());
        Violation byDefault = refused(GenerationDefaults.LLADA, LLADA_V3, b -> b.cacheRefresh(4));
        assertTrue(byDefault.allowed().contains("default cache is none"), byDefault.allowed());
        Violation noGraph = refused(GenerationDefaults.LLADA, LLADA_V2, b -> b.cacheRefresh(4));
        assertTrue(noGraph.allowed().contains("re-convert"), noGraph.allowed());
        assertEquals(
                RequestField.CACHE_REFRESH,
                refused(
                                GenerationDefaults.LLADA,
                                LLADA_V3,
                                b -> b.cache(KvCacheMode.DUAL).cacheRefresh(-1))
                        .field());
        assertEquals(
                RequestField.CACHE_REFRESH,
                refused(
                                GenerationDefaults.LLADA,
                                LLADA_V3,
                                b -> b.cache(KvCacheMode.DUAL).cacheRefresh(KvCache.MAX_REFRESH_STEPS + 1))
                        .field());
        assertEquals(
                KvCache.NONE,
                plan(GenerationDefaults.LLADA, LLADA_V2, PROMPT, b -> b.cacheRefresh(0))
                        .options()
                        .cache(),
                "0, the default interval, is accepted without a cache");
    }

    @Test
    void a_violation_reads_in_the_surfaces_words() {
        Violation v = refused(GenerationDefaults.LLADA, LLADA_V2, b -> b.cache(KvCacheMode.PREFIX));
        String cli = v.message(new Phrasing() {
            @Override
            public String name(RequestField field) {
                return "--" + field.id().replace('_', '-');
            }

            @Override
            public String example(RequestField field, String value) {
                return name(field) + " " + value;
            }
        });
        assertTrue(cli.startsWith("--cache must be none with this package"), cli);
        assertTrue(cli.contains("e.g. --cache none; got prefix"), cli);
    }

    // ---- block-causal models ----

    @Test
    void a_block_causal_models_blocks_are_its_own_aligned_at_position_0() {
        DecodingPlan whole = sdar(PROMPT, b -> b.length(12));
        assertEquals(List.of(new Block(4, 8, 4), new Block(8, 12, 4), new Block(12, 16, 4)), whole.blocks());
        assertEquals(16, whole.layout().length());
        assertEquals(0, whole.options().maxTokens(), "nothing padded: no cut");

        // SDAR: prompt 6, gen 10 -> num_blocks = ceil(16 / 4) = 4, one prefilled, the decoding starts at block 1
        DecodingPlan mid = sdar(PROMPT_6, b -> b.length(10));
        assertEquals(
                List.of(new Block(6, 8, 2), new Block(8, 12, 4), new Block(12, 16, 4)),
                mid.blocks(),
                "the prompt's last partial block [4, 8) is the first decoded one, its prompt tokens fixed");
        assertEquals(16, mid.layout().length());
        assertEquals(6, mid.layout().genStart());
    }

    @Test
    void a_block_causal_canvas_is_padded_to_a_whole_block_and_the_answer_cut_at_the_length_asked_for() {
        // prompt 4, gen 10 -> ceil(14 / 4) = 4 blocks, 16 positions: 2 masks of padding after the 10 asked for
        DecodingPlan p = sdar(PROMPT, b -> b.length(10));
        assertEquals(List.of(new Block(4, 8, 4), new Block(8, 12, 4), new Block(12, 16, 4)), p.blocks());
        assertEquals(16, p.layout().length());
        assertEquals(12, p.length(), "the region holds the padding");
        assertEquals(10, p.options().maxTokens(), "the text keeps the 10 asked for");
        assertEquals(
                7,
                sdar(PROMPT, b -> b.length(10).maxTokens(7)).options().maxTokens(),
                "a max_tokens of the request's own stays");
    }

    @Test
    void each_block_gets_sdars_denoising_steps_at_most_one_per_mask() {
        assertEquals(List.of(2, 4, 4), steps(sdar(PROMPT_6, b -> b.length(10))), "one token per step: 4 per block");
        GenerationDefaults twoPerStep = new GenerationDefaults(64, 4, 32, 0, Remasking.LOW_CONFIDENCE, 0);
        assertEquals(
                List.of(2, 2, 2),
                steps(plan(twoPerStep, SDAR, PROMPT_6, b -> b.length(10))),
                "denoising_steps 2: the partial first block's 2 masks too");
        long[] prompt7 = {0, 100, 101, 102, 103, 104, 105};
        assertEquals(List.of(1, 2, 2), steps(plan(twoPerStep, SDAR, prompt7, b -> b.length(9))));
        assertEquals(List.of(2, 2, 2), steps(sdar(PROMPT_6, b -> b.length(10).steps(6))), "steps over all blocks");
        assertEquals(
                List.of(2, 4, 4),
                steps(sdar(PROMPT_6, b -> b.length(10).steps(10))),
                "as many steps as tokens: one token per step, though 10 does not divide among 3 blocks");
    }

    @Test
    void steps_that_do_not_divide_among_a_block_causal_models_blocks_are_refused_naming_them() {
        InvalidRequestException e = assertThrows(
                InvalidRequestException.class,
                () -> sdar(PROMPT_6, b -> b.length(10).steps(7)));
        Violation v = e.violations().get(0);
        assertEquals(RequestField.STEPS, v.field());
        assertTrue(v.allowed().contains("3 blocks of this model's 4 (the first one 2"), v.allowed());
        assertTrue(v.allowed().endsWith(", or 10 (one token per step)"), v.allowed());
        assertEquals("6", v.example());
    }

    @Test
    void a_block_length_other_than_the_models_block_size_is_refused() {
        Violation v = refusedSdar(b -> b.blockLength(32));
        assertEquals(RequestField.BLOCK_LENGTH, v.field());
        assertEquals("4", v.example());
        assertEquals(Violation.Kind.UNSUPPORTED_BY_PACKAGE, v.kind());
        assertTrue(v.allowed().contains("this model's block size"), v.allowed());
        assertEquals(3, sdar(PROMPT, b -> b.length(12).blockLength(4)).blocks().size(), "its own size is fine");
    }

    @Test
    void infill_and_placeholders_are_refused_on_a_block_causal_model() {
        DecodingPlanner planner = new DecodingPlanner(SDAR_DEFAULTS, SDAR, Limits.NONE);
        GenerationRequest r = request().length(8).build();
        InvalidRequestException infill = assertThrows(
                InvalidRequestException.class,
                () -> planner.plan(r, new PromptTokens.Infill(new long[] {0, 100}, new long[] {101})));
        assertEquals(RequestField.PROMPT, infill.violations().get(0).field());
        assertTrue(infill.violations().get(0).allowed().contains("block-causal"));
        InvalidRequestException placeholders = assertThrows(
                InvalidRequestException.class,
                () -> planner.plan(r, new PromptTokens.Placeholders(new long[] {0, 100, 3, 3, 101})));
        assertEquals(RequestField.PROMPT, placeholders.violations().get(0).field());
    }

    @Test
    void the_padded_canvas_must_fit_the_context() {
        // 512 positions: a prompt of 6 leaves 506, and 506 tokens pad to 512; 507 would pad to 516
        assertEquals(512, sdar(PROMPT_6, b -> b.length(506)).layout().length());
        InvalidRequestException e =
                assertThrows(InvalidRequestException.class, () -> sdar(PROMPT_6, b -> b.length(507)));
        Violation v = e.violations().get(0);
        assertEquals(RequestField.LENGTH, v.field());
        assertEquals(Violation.Kind.CONTEXT_LENGTH, v.kind());
        assertEquals("506", v.example());
    }

    static Violation refusedSdar(UnaryOperator<GenerationRequest.Builder> f) {
        return refused(SDAR_DEFAULTS, SDAR, f);
    }

    static List<Integer> steps(DecodingPlan p) {
        return p.blocks().stream().map(Block::steps).toList();
    }

    static PackageManifest.Architecture architecture(String family, Integer blockSize) {
        return new PackageManifest.Architecture(
                family, family, 2, 64, 4, 4, 16, 128, 100, 100, 512, 10000, 1e-5, true, false, blockSize);
    }
}
