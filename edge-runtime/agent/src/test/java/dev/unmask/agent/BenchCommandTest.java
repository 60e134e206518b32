package dev.unmask.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unmask.testing.ReferencePackages;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code unmask bench}: caches and lengths side by side, and what each row counts, on the real tiny package. */
class BenchCommandTest {

    static final ObjectMapper JSON = new ObjectMapper();

    final StringWriter out = new StringWriter();
    final StringWriter err = new StringWriter();

    int run(String... args) {
        CommandLine cli = Unmask.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        return cli.execute(args);
    }

    List<JsonNode> rows() throws Exception {
        List<JsonNode> rows = new ArrayList<>();
        for (String line : out.toString().strip().split("\n")) {
            rows.add(JSON.readTree(line));
        }
        return rows;
    }

    @Test
    void the_operations_of_a_forward_are_projections_attention_and_the_head_from_the_shapes() {
        // tiny-llada: 6 layers, d_model 256, 8 heads and 2 key/value heads of 32, MLP 704, vocab 4096
        ModelFlops tiny = new ModelFlops(6, 256, 256, 64, 704, 4096);
        long perLayer = 256 * 256 + 2 * 256 * 64 + 256 * 256 + 3 * 256 * 704;
        assertEquals(6 * perLayer, tiny.projectionParams());
        // a cached step: 32 queries attending to 96 cached positions and themselves, the head at all 32
        double expected = 2.0 * 6 * perLayer * 32 + 4.0 * 6 * 32 * (96 + 32) * 256 + 2.0 * 256 * 4096 * 32;
        assertEquals(expected, tiny.forward(1, 32, 96, 32), 1e-6);
        assertEquals(2 * expected, tiny.forward(2, 32, 96, 32), 1e-6, "rows add up");
        assertTrue(tiny.forward(1, 32, 96, 32) < tiny.forward(1, 128, 0, 32), "the cache saves what it skips");

        // issue 14's 200 M shape: d_model 1024, 12 layers, 16/4 heads of 64, MLP 2816, vocab 32 000
        ModelFlops large = new ModelFlops(12, 1024, 1024, 256, 2816, 32_000);
        double params = large.projectionParams() + 2.0 * 32_000 * 1024; // + embedding and head
        assertTrue(params > 195e6 && params < 205e6, "about 200 M parameters: " + params);
    }

    @Test
    void each_generation_length_gets_a_row_with_forwards_tokens_per_forward_and_achieved_gflops() throws Exception {
        assertEquals(
                ExitCodes.OK,
                run(
                        "bench",
                        "--model",
                        ReferencePackages.tinyLlada().toString(),
                        "--cache",
                        "none",
                        "--gen-length",
                        "8,16",
                        "--steps",
                        "8",
                        "--warmup",
                        "0",
                        "--runs",
                        "2",
                        "--threads",
                        "1",
                        "--json"),
                err.toString());
        List<JsonNode> rows = rows();
        assertEquals(2, rows.size(), out.toString());
        for (JsonNode r : rows) {
            int gen = r.get("gen_length").asInt();
            assertEquals("none", r.get("cache").asText());
            assertEquals(8, r.get("steps").asInt());
            assertEquals(8.0, r.get("forwards").asDouble(), "without a cache, one forward per step: " + r);
            assertEquals(gen / 8.0, r.get("tokens_per_forward").asDouble(), 1e-9, r.toString());
            assertEquals(
                    r.get("canvas_tokens").asDouble(),
                    r.get("query_tokens_per_forward").asDouble(),
                    1e-9,
                    "without a cache every forward runs the whole canvas: " + r);
            assertEquals(1.0, r.get("ms_per_step_vs_none").asDouble(), 1e-9);
            assertEquals(0, r.get("cache_bytes").asLong(), "no cache, no cache bytes");
            assertTrue(r.get("gflop_per_s").asDouble() > 0, r.toString());
            // at least the projections of every canvas token at every step
            ModelFlops flops = new ModelFlops(6, 256, 256, 64, 704, 4096);
            double projections =
                    2.0 * flops.projectionParams() * r.get("canvas_tokens").asInt() * 8 / 1e9;
            assertTrue(r.get("gflop_per_answer").asDouble() > projections, r.toString());
        }
        assertEquals(8, rows.get(0).get("gen_length").asInt());
        assertEquals(16, rows.get(1).get("gen_length").asInt());
    }

    @Test
    void a_synthetic_prompt_has_the_length_asked_for() throws Exception {
        assertEquals(
                ExitCodes.OK,
                run(
                        "bench",
                        "--model",
                        ReferencePackages.tinyLlada().toString(),
                        "--prompt-length",
                        "100",
                        "--gen-length",
                        "8",
                        "--steps",
                        "8",
                        "--warmup",
                        "0",
                        "--runs",
                        "1",
                        "--threads",
                        "1",
                        "--json"),
                err.toString());
        int prompt = rows().get(0).get("prompt_tokens").asInt();
        assertTrue(prompt <= 100 && prompt >= 97, "a prompt of about 100 tokens: " + prompt);
    }

    @Test
    void the_text_table_names_every_cache_and_length() {
        assertEquals(
                ExitCodes.OK,
                run(
                        "bench",
                        "--model",
                        ReferencePackages.tinyLlada().toString(),
                        "--gen-length",
                        "8,16",
                        "--steps",
                        "8",
                        "--warmup",
                        "0",
                        "--runs",
                        "1",
                        "--threads",
                        "1"),
                err.toString());
        String text = out.toString();
        assertTrue(text.contains("GFLOP/s") && text.contains("tokens/fwd"), text);
        assertTrue(text.contains("\n8    none") && text.contains("\n16   none"), text);
    }

    @Test
    void cache_quality_of_no_cache_against_itself_is_full_agreement() throws Exception {
        assertEquals(
                ExitCodes.OK,
                run(
                        "bench",
                        "--cache-quality",
                        "--model",
                        ReferencePackages.tinyLlada().toString(),
                        "--cache",
                        "none",
                        "--prompt-count",
                        "2",
                        "--prompt-length",
                        "24",
                        "--gen-length",
                        "8",
                        "--steps",
                        "8",
                        "--threads",
                        "1",
                        "--json"),
                err.toString());
        JsonNode row = rows().get(0);
        assertEquals(2, row.get("prompts").asInt(), row.toString());
        assertEquals(1.0, row.get("identical_share").asDouble(), row.toString());
        assertEquals(1.0, row.get("step_top1_agreement").asDouble(), row.toString());
        assertEquals(16, row.get("steps").asInt(), "every step of both prompts seen: " + row);
    }

    @Test
    void the_caches_run_fewer_query_tokens_per_forward_and_each_request_owns_its_cache_bytes() throws Exception {
        assertEquals(
                ExitCodes.OK,
                run(
                        "bench",
                        "--model",
                        ReferencePackages.tinyLlada().toString(),
                        "--cache",
                        "none,prefix,dual",
                        "--prompt-length",
                        "32",
                        "--gen-length",
                        "32",
                        "--block-length",
                        "8",
                        "--steps",
                        "16",
                        "--warmup",
                        "0",
                        "--runs",
                        "1",
                        "--threads",
                        "1",
                        "--json"),
                err.toString());
        List<JsonNode> rows = rows();
        assertEquals(
                List.of("none", "prefix", "dual"),
                rows.stream().map(r -> r.get("cache").asText()).toList());
        JsonNode none = rows.get(0);
        JsonNode prefix = rows.get(1);
        JsonNode dual = rows.get(2);
        int canvas = none.get("canvas_tokens").asInt();
        for (JsonNode r : rows) {
            assertEquals(16.0, r.get("forwards").asDouble(), "a refresh is its block's first step: " + r);
            assertEquals(2.0, r.get("tokens_per_forward").asDouble(), 1e-9, r.toString());
        }
        // 4 blocks of 4 steps: one refresh and 3 cached steps each
        assertEquals(12.0, prefix.get("cached_forwards").asDouble(), prefix.toString());
        assertEquals(12.0, dual.get("cached_forwards").asDouble(), dual.toString());
        assertEquals(canvas, none.get("query_tokens_per_forward").asDouble(), 1e-9);
        assertTrue(prefix.get("query_tokens_per_forward").asDouble() < canvas, prefix.toString());
        // dual: 4 refreshes over the canvas, 12 steps over the 8-token block
        assertEquals(
                (4.0 * canvas + 12 * 8) / 16,
                dual.get("query_tokens_per_forward").asDouble(),
                1e-9);
        long perPosition = dual.get("cache_bytes_per_position").asLong();
        assertEquals(2L * 6 * 64 * 4, perPosition, "keys and values of 6 layers, kv_dim 64, float32");
        assertEquals(perPosition * canvas, dual.get("cache_bytes").asLong());
        assertTrue(dual.get("gflop_per_answer").asDouble()
                < prefix.get("gflop_per_answer").asDouble());
        assertTrue(prefix.get("gflop_per_answer").asDouble()
                < none.get("gflop_per_answer").asDouble());
    }

    @Test
    void with_a_refresh_at_every_step_the_caches_agree_fully_with_no_cache() throws Exception {
        String[] common = {
            "bench",
            "--cache-quality",
            "--model",
            ReferencePackages.tinyLlada().toString(),
            "--cache",
            "prefix,dual",
            "--prompt-count",
            "2",
            "--prompt-length",
            "24",
            "--gen-length",
            "16",
            "--block-length",
            "8",
            "--steps",
            "16",
            "--threads",
            "1",
            "--json"
        };
        assertEquals(ExitCodes.OK, run(concat(common, "--refresh", "1")), err.toString());
        for (JsonNode row : rows()) {
            assertEquals(1.0, row.get("identical_share").asDouble(), row.toString());
            assertEquals(1.0, row.get("token_agreement").asDouble(), row.toString());
            assertEquals(1.0, row.get("step_top1_agreement").asDouble(), row.toString());
            assertEquals(32, row.get("steps").asInt(), "both prompts' 16 steps: " + row);
        }
        out.getBuffer().setLength(0);
        // refreshed at block starts only, the other steps are compared with a full forward each
        assertEquals(ExitCodes.OK, run(concat(common, "--refresh", "0")), err.toString());
        for (JsonNode row : rows()) {
            assertEquals(2 * 2 * 7, row.get("cached_steps").asInt(), "7 cached steps in each of 2 blocks: " + row);
            double agreement = row.get("cached_step_top1_agreement").asDouble();
            assertTrue(agreement >= 0 && agreement <= 1, row.toString());
        }
    }

    static String[] concat(String[] a, String... b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
