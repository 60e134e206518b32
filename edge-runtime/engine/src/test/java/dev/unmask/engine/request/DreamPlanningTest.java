package dev.unmask.engine.request;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.engine.decode.CommitRule;
import dev.unmask.engine.decode.ConfidenceMeasure;
import dev.unmask.engine.decode.DecodingOptions;
import dev.unmask.engine.decode.ModelTraits;
import dev.unmask.engine.decode.Remasking;
import dev.unmask.engine.decode.StepSchedule;
import dev.unmask.format.PackageManifest;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * Dream's decoding fields in the one planner: a package's manifest defaults (format 2), a request's {@code alg},
 * {@code alg_temp} and {@code eps} over them, one block by default on the timesteps, and every refusal naming its
 * field with a value that works.
 */
class DreamPlanningTest {

    static final ModelTraits TRAITS = DecodingPlannerTest.TRAITS;
    static final long[] PROMPT = DecodingPlannerTest.PROMPT;

    /** What d-pack writes for a Dream checkpoint: 64 tokens in 64 steps, origin, timesteps, eps 1e-3. */
    static final GenerationDefaults DREAM = GenerationDefaults.of(manifest(new PackageManifest.GenerationDefaults(
            64, 64, 64, 0.0, "origin", 0.0, null, "timesteps", 1e-3, null, null, null)));

    static PackageManifest manifest(PackageManifest.GenerationDefaults g) {
        PackageManifest m = dev.unmask.engine.testing.ScriptedModel.manifest(64, 8, false, true, 512);
        return new PackageManifest(
                m.format(),
                m.formatVersion(),
                m.name(),
                m.architecture(),
                m.source(),
                m.precision(),
                m.graph(),
                m.specialTokens(),
                g,
                m.chatTemplate(),
                m.files(),
                m.packager(),
                m.selfTest());
    }

    static DecodingPlan plan(GenerationDefaults defaults, UnaryOperator<GenerationRequest.Builder> fields) {
        return new DecodingPlanner(defaults, TRAITS, Limits.NONE)
                .plan(fields.apply(DecodingPlannerTest.request()).build(), new PromptTokens.Continuation(PROMPT));
    }

    static Violation refused(GenerationDefaults defaults, UnaryOperator<GenerationRequest.Builder> fields) {
        InvalidRequestException e = assertThrows(InvalidRequestException.class, () -> plan(defaults, fields));
        assertEquals(1, e.violations().size(), e.getMessage());
        return e.violations().get(0);
    }

    @Test
    void a_dream_package_decodes_by_its_manifest_in_one_block_of_any_length() {
        DecodingPlan p = plan(DREAM, b -> b);
        DecodingOptions o = p.options();
        assertEquals(Remasking.ORIGIN, o.remasking());
        assertEquals(new StepSchedule.Timesteps(1e-3), o.schedule());
        assertEquals(1, p.blocks().size());
        assertEquals(64, p.blocks().get(0).steps());
        DecodingPlan longer = plan(DREAM, b -> b.length(100));
        assertEquals(1, longer.blocks().size(), "one block whatever the length, as Dream's _sample");
        assertEquals(100, longer.blocks().get(0).steps(), "at the package's pace, one step per token");
        assertEquals(
                List.of(32, 32),
                plan(DREAM, b -> b.blockLength(32)).blocks().stream()
                        .map(dev.unmask.engine.decode.Block::length)
                        .toList(),
                "a block_length given splits the region; each block runs its own timesteps");
    }

    @Test
    void the_manifests_optional_fields_become_the_defaults() {
        GenerationDefaults d = GenerationDefaults.of(manifest(new PackageManifest.GenerationDefaults(
                32, 32, 32, 0.2, "low_confidence", 0.0, "topk_margin", "timesteps", 0.01, 0.5, 0.95, 4)));
        assertEquals(ConfidenceMeasure.MARGIN, d.confidence(), "Dream's alg names read as our measures");
        DecodingOptions o = plan(d, b -> b).options();
        assertEquals(ConfidenceMeasure.MARGIN, o.confidence());
        assertEquals(new StepSchedule.Timesteps(0.01), o.schedule());
        assertEquals(0.5, o.algTemp());
        assertEquals(0.95, o.topP());
        assertEquals(4, o.topK());
        assertEquals(0.2, o.temperature());
        GenerationDefaults v1 = GenerationDefaults.of(
                manifest(new PackageManifest.GenerationDefaults(64, 64, 32, 0.0, "low_confidence", 0.0)));
        assertEquals(new StepSchedule.Even(), v1.schedule(), "a format-1 manifest is LLaDA's");
        assertEquals(0, v1.algTemp());
    }

    @Test
    void a_request_overrides_the_manifest() {
        DecodingOptions o =
                plan(DREAM, b -> b.alg(DreamAlg.ENTROPY).algTemp(0.5).eps(0.05)).options();
        assertEquals(Remasking.LOW_CONFIDENCE, o.remasking());
        assertEquals(ConfidenceMeasure.NEGATIVE_ENTROPY, o.confidence());
        assertEquals(new StepSchedule.Timesteps(0.05), o.schedule());
        assertEquals(0.5, o.algTemp());
        DecodingOptions fast = plan(DREAM, b -> b.threshold(0.9)).options();
        assertEquals(Remasking.LOW_CONFIDENCE, fast.remasking(), "origin has no ranking: a threshold ranks instead");
        assertEquals(new CommitRule.Threshold(0.9), fast.commitRule());
    }

    @Test
    void dreams_algs_work_on_a_llada_package_on_its_blocks() {
        DecodingPlan p = plan(GenerationDefaults.LLADA, b -> b.alg(DreamAlg.ENTROPY));
        assertEquals(ConfidenceMeasure.NEGATIVE_ENTROPY, p.options().confidence());
        assertEquals(
                new StepSchedule.Timesteps(StepSchedule.Timesteps.DREAM_EPS),
                p.options().schedule());
        assertEquals(1, p.blocks().size(), "the timesteps without a block_length: one block");
        DecodingPlan blocked =
                plan(GenerationDefaults.LLADA, b -> b.alg(DreamAlg.MASKGIT_PLUS).blockLength(32));
        assertEquals(2, blocked.blocks().size());
        DecodingOptions sampled =
                plan(GenerationDefaults.LLADA, b -> b.algTemp(0.3)).options();
        assertEquals(0.3, sampled.algTemp(), "alg_temp on LLaDA's even schedule");
        assertEquals(new StepSchedule.Even(), sampled.schedule());
    }

    @Test
    void bad_values_are_refused_with_the_field_and_an_example() {
        Violation eps = refused(DREAM, b -> b.eps(1.5));
        assertEquals(RequestField.EPS, eps.field());
        assertEquals(
                "eps must be in (0, 1), where Dream's timesteps end, e.g. eps 0.001; got 1.5",
                eps.message(Phrasing.ENGINE));
        assertEquals(RequestField.EPS, refused(DREAM, b -> b.eps(0.0)).field());
        Violation algTemp = refused(DREAM, b -> b.alg(DreamAlg.ENTROPY).algTemp(-1.0));
        assertEquals(RequestField.ALG_TEMP, algTemp.field());
        assertEquals("0.5", algTemp.example());
        assertEquals(
                RequestField.ALG_TEMP,
                refused(DREAM, b -> b.algTemp(Double.POSITIVE_INFINITY)).field());
    }

    @Test
    void fields_that_mean_nothing_together_are_refused_with_the_reason() {
        Violation eps = refused(GenerationDefaults.LLADA, b -> b.eps(0.01));
        assertEquals(RequestField.EPS, eps.field());
        assertTrue(
                eps.allowed().contains("give an alg (one of origin, maskgit_plus, topk_margin, entropy)"),
                eps.allowed());

        Violation originTemp = refused(DREAM, b -> b.algTemp(0.5));
        assertEquals(RequestField.ALG_TEMP, originTemp.field(), "the package's origin ranks nothing to sample");
        assertTrue(originTemp.allowed().startsWith("0 with remasking origin"), originTemp.allowed());

        Violation originThreshold = refused(DREAM, b -> b.alg(DreamAlg.ORIGIN).threshold(0.9));
        assertEquals(RequestField.THRESHOLD, originThreshold.field());

        Violation conflict = refused(DREAM, b -> b.alg(DreamAlg.ENTROPY).remasking(Remasking.RANDOM));
        assertEquals(RequestField.REMASKING, conflict.field());
        assertEquals("low_confidence", conflict.example());

        Violation measure = refused(DREAM, b -> b.alg(DreamAlg.ENTROPY).confidence(ConfidenceMeasure.MARGIN));
        assertEquals(RequestField.CONFIDENCE, measure.field());

        assertEquals(
                RequestField.ALG_TEMP,
                refused(DREAM, b -> b.alg(DreamAlg.MASKGIT_PLUS).algTemp(0.5).threshold(0.9))
                        .field());
        Violation entropyThreshold = refused(DREAM, b -> b.alg(DreamAlg.ENTROPY).threshold(0.9));
        assertEquals(RequestField.THRESHOLD, entropyThreshold.field(), "minus nats are never above 0.9");
    }

    @Test
    void dream_alg_names_parse_with_a_correct_example_on_failure() {
        assertEquals(DreamAlg.TOPK_MARGIN, DreamAlg.parse("topk-margin"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DreamAlg.parse("greedy"));
        assertEquals(
                "Unknown alg 'greedy': use one of origin, maskgit_plus, topk_margin, entropy (Dream's), "
                        + "e.g. --alg entropy",
                e.getMessage());
    }
}
