package dev.unmask.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import dev.unmask.engine.decode.DenoisingListener;
import dev.unmask.engine.decode.FinishReason;
import dev.unmask.engine.decode.StructuredCanvas;
import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.engine.request.DecodingPlan;
import dev.unmask.engine.request.GenerationRequest;
import dev.unmask.engine.text.ChatMessage;
import dev.unmask.testing.ReferencePackages;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Structured output on every reference model, through the real ONNX Runtime session: over many seeds, every answer
 * parses as one JSON document and validates against its schema (networknt's validator, draft 2020-12), and every
 * token the model wrote into a slot is one its slot admits, so the constraint holds in the sampler and not only in
 * the rendering.
 */
class StructuredOutputTest {

    static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    static final JsonSchemaFactory VALIDATORS = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012);
    static final int SEEDS = 6;

    /** Every supported kind of value in one schema: strings, bounded numbers, boolean, enum, null, const, arrays. */
    static final String PERSON = """
            {"type": "object", "additionalProperties": false,
             "properties": {
               "name": {"type": "string", "maxLength": 12},
               "age": {"type": "integer", "minimum": 0, "maximum": 120},
               "member": {"type": "boolean"},
               "color": {"enum": ["red", "green", "blue"]},
               "score": {"type": "number", "minimum": -10, "maximum": 10},
               "tags": {"type": "array", "items": {"type": "string", "maxLength": 6}, "minItems": 2, "maxItems": 2},
               "nothing": {"type": "null"},
               "kind": {"const": "person"},
               "address": {"type": "object", "properties": {"city": {"type": "string", "minLength": 2},
                                                         "zip": {"type": "integer"}}, "required": ["city"]}
             },
             "required": ["name", "age", "member", "color"]}""";

    /** An array of objects whose count the schema leaves open (the engine picks 3 within maxItems 4). */
    static final String LIST = """
            {"type": "array", "maxItems": 4,
             "items": {"type": "object", "properties": {"id": {"type": "integer"}, "ok": {"type": "boolean"},
                                                      "level": {"type": "string", "enum": ["low", "high"]}},
                       "required": ["id", "ok", "level"]}}""";

    /** A bare string at the root. */
    static final String WORD = """
            {"type": "string", "maxLength": 10, "description": "one word"}""";

    static Stream<Arguments> packagesAndSchemas() {
        List<Arguments> cases = new ArrayList<>();
        for (String model : List.of("tiny-llada", "tiny-dream", "tiny-llada with full logits")) {
            for (String schema : List.of(PERSON, LIST, WORD)) {
                cases.add(Arguments.of(model, schema));
            }
        }
        return cases.stream();
    }

    static Path packageOf(String model) {
        return switch (model) {
            case "tiny-llada" -> ReferencePackages.tinyLlada();
            case "tiny-dream" -> ReferencePackages.tinyDream();
            default -> ReferencePackages.tinyLladaWithLogits();
        };
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("packagesAndSchemas")
    void every_answer_parses_and_validates_against_its_schema_whatever_the_seed(String model, String schemaText)
            throws Exception {
        JsonNode schema = JSON.readTree(schemaText);
        JsonSchema validator = VALIDATORS.getSchema(schema);
        try (Engine engine =
                Engine.open(packageOf(model), RuntimeOptions.defaults().withIntraOpThreads(2))) {
            for (int seed = 0; seed < SEEDS; seed++) {
                GenerationRequest.Prompt prompt = seed % 2 == 0
                        ? new GenerationRequest.Prompt.Continuation("Here is the record as JSON: ")
                        : new GenerationRequest.Prompt.Chat(List.of(ChatMessage.user("Give me the record as JSON.")));
                GenerationRequest.Builder asked = GenerationRequest.builder(prompt)
                        .responseSchema(schema)
                        .temperature(seed == 0 ? 0.0 : 1.0) // greedy once, then sampled: many different answers
                        .seed((long) seed);
                // one block over the skeleton, about four tokens a step: several slot positions commit together
                int length = engine.plan(asked.build()).length();
                DecodingPlan plan = engine.plan(
                        asked.blockLength(length).steps((length + 3) / 4).build());
                List<String> settled = new ArrayList<>();
                DenoisingListener streamed = new DenoisingListener() {
                    @Override
                    public void onStep(StepEvent event) {
                        settled.add(engine.answerText(plan).settled(event.canvas(), event.canvas().length));
                    }
                };
                long started = System.nanoTime();
                Generation g = engine.run(plan, streamed);
                System.out.printf(
                        "[structured] %s seed %d: %d tokens in %d steps, %d ms, sampler %.1f us/step: %s%n",
                        model,
                        seed,
                        plan.length(),
                        g.steps(),
                        (System.nanoTime() - started) / 1_000_000,
                        g.samplerNanos() / 1e3 / g.steps(),
                        g.text());
                String where = model + ", seed " + seed + ": " + g.text();

                JsonNode answer = JSON.readTree(g.text()); // one document, nothing after it
                Set<ValidationMessage> errors = validator.validate(answer);
                assertTrue(errors.isEmpty(), where + " fails its schema: " + errors);
                assertEquals(FinishReason.EOS, g.reason(), where);

                StructuredCanvas structure = plan.structure();
                assertNotNull(structure);
                long[] canvas = g.denoised().canvas();
                int constrained = 0;
                for (int i = plan.layout().genStart(); i < canvas.length; i++) {
                    StructuredCanvas.Admissible admissible = structure.admissible(i);
                    if (admissible != null) {
                        constrained++;
                        assertTrue(
                                admissible.admits(canvas[i]),
                                where + ": position " + i + " holds token " + canvas[i] + ", which its slot refuses");
                    }
                }
                assertTrue(constrained > 0, where);
                for (String prefix : settled) {
                    assertTrue(g.text().startsWith(prefix), where + ": streamed " + prefix + " is not a prefix");
                }
            }
        }
    }
}
