package dev.unmask.packager.pack;

import dev.unmask.packager.arch.GraphOptions;
import java.nio.file.Path;

/**
 * One conversion: where from, where to, and the graph's options.
 *
 * @param name       the package's name (manifest {@code name}); null = the checkpoint folder's name
 * @param runSelfTest run the written graph in ONNX Runtime to record (and check) the self-test; skip only for
 *                    checkpoints too large to run on this machine
 * @param replace    replace an existing package at {@code out} (atomically); otherwise an existing {@code out} is an error
 */
public record ConvertRequest(
        Path from, Path out, GraphOptions graph, String name, boolean runSelfTest, boolean replace) {

    public ConvertRequest {
        if (from == null || out == null || graph == null) {
            throw new IllegalArgumentException("from, out and graph are required");
        }
    }

    public static ConvertRequest of(Path from, Path out, GraphOptions graph) {
        return new ConvertRequest(from, out, graph, null, true, false);
    }

    public ConvertRequest withReplace(boolean r) {
        return new ConvertRequest(from, out, graph, name, runSelfTest, r);
    }

    public ConvertRequest withSelfTest(boolean run) {
        return new ConvertRequest(from, out, graph, name, run, replace);
    }

    public ConvertRequest withName(String n) {
        return new ConvertRequest(from, out, graph, n, runSelfTest, replace);
    }
}
