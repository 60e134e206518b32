package dev.unmask.packager.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unmask.packager.ExitCode;
import dev.unmask.packager.PackagerException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The weights of a Hugging Face checkpoint folder: {@code model.safetensors}, or the shards that
 * {@code model.safetensors.index.json} lists. Only headers are read when opening; data is mapped tensor by tensor.
 */
public final class Checkpoint implements AutoCloseable {

    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";

    private final Path dir;
    private final Map<String, SafetensorsFile> shards; // by file name
    private final Map<String, TensorEntry> tensors; // by tensor name
    private final Map<String, SafetensorsFile> owner; // tensor name -> shard

    private Checkpoint(
            Path dir,
            Map<String, SafetensorsFile> shards,
            Map<String, TensorEntry> tensors,
            Map<String, SafetensorsFile> owner) {
        this.dir = dir;
        this.shards = shards;
        this.tensors = tensors;
        this.owner = owner;
    }

    public static Checkpoint open(Path dir) {
        Path index = dir.resolve(INDEX_FILE);
        Path single = dir.resolve(SINGLE_FILE);
        Map<String, SafetensorsFile> shards = new TreeMap<>();
        try {
            if (Files.isRegularFile(index)) {
                Map<String, String> weightMap = readWeightMap(index);
                for (String shard : new java.util.TreeSet<>(weightMap.values())) {
                    Path p = dir.resolve(shard).normalize();
                    if (!p.startsWith(dir.normalize()) || !Files.isRegularFile(p)) {
                        throw new PackagerException(
                                ExitCode.BAD_CHECKPOINT,
                                index + " lists shard '" + shard + "', which is not a file in " + dir
                                        + "; download every shard the index names");
                    }
                    shards.put(shard, SafetensorsFile.open(p));
                }
                Map<String, TensorEntry> tensors = new LinkedHashMap<>();
                Map<String, SafetensorsFile> owner = new LinkedHashMap<>();
                for (Map.Entry<String, String> e : weightMap.entrySet()) {
                    SafetensorsFile f = shards.get(e.getValue());
                    TensorEntry t = f.tensors().get(e.getKey());
                    if (t == null) {
                        throw new PackagerException(
                                ExitCode.BAD_CHECKPOINT,
                                index + " says tensor '" + e.getKey() + "' is in " + e.getValue()
                                        + ", but that shard has no such tensor");
                    }
                    tensors.put(e.getKey(), t);
                    owner.put(e.getKey(), f);
                }
                return new Checkpoint(dir, shards, Collections.unmodifiableMap(tensors), owner);
            }
            if (Files.isRegularFile(single)) {
                SafetensorsFile f = SafetensorsFile.open(single);
                shards.put(SINGLE_FILE, f);
                Map<String, SafetensorsFile> owner = new LinkedHashMap<>();
                f.tensors().keySet().forEach(n -> owner.put(n, f));
                return new Checkpoint(dir, shards, f.tensors(), owner);
            }
        } catch (RuntimeException e) {
            shards.values().forEach(SafetensorsFile::close);
            throw e;
        }
        throw new PackagerException(
                ExitCode.BAD_CHECKPOINT,
                dir + " has neither " + SINGLE_FILE + " nor " + INDEX_FILE
                        + "; point --from at a Hugging Face checkpoint folder with safetensors weights, e.g. --from models/tiny-llada");
    }

    private static Map<String, String> readWeightMap(Path index) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(index.toFile());
        } catch (IOException e) {
            throw new PackagerException(ExitCode.BAD_CHECKPOINT, index + " is not valid JSON: " + e.getMessage(), e);
        }
        JsonNode map = root == null ? null : root.get("weight_map");
        if (map == null || !map.isObject() || map.isEmpty()) {
            throw new PackagerException(
                    ExitCode.BAD_CHECKPOINT,
                    index
                            + " has no \"weight_map\" object; expected {\"weight_map\": {\"tensor.name\": \"model-00001-of-00002.safetensors\", …}}");
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            out.put(e.getKey(), e.getValue().asText());
        }
        return out;
    }

    public Path dir() {
        return dir;
    }

    public Map<String, TensorEntry> tensors() {
        return tensors;
    }

    /** The files weights were read from, by file name (the single file or every shard, plus the index). */
    public List<Path> weightFiles() {
        List<Path> files = new ArrayList<>();
        if (Files.isRegularFile(dir.resolve(INDEX_FILE)) && !shards.containsKey(SINGLE_FILE)) {
            files.add(dir.resolve(INDEX_FILE));
        }
        shards.values().forEach(s -> files.add(s.file()));
        return files;
    }

    public long totalBytes() {
        return tensors.values().stream().mapToLong(TensorEntry::byteLength).sum();
    }

    /**
     * The tensor {@code name}, which must have exactly {@code shape}.
     *
     * @throws PackagerException naming the file, the tensor, the expected and the actual shape
     */
    public TensorEntry require(String name, long... shape) {
        TensorEntry t = tensors.get(name);
        if (t == null) {
            throw new PackagerException(
                    ExitCode.BAD_CHECKPOINT,
                    "The checkpoint in " + dir + " has no tensor '" + name
                            + "' (expected shape " + Arrays.toString(shape) + " per config.json) in "
                            + String.join(", ", shards.keySet())
                            + "; is the checkpoint complete (every shard downloaded)?");
        }
        if (!Arrays.equals(t.shape(), shape)) {
            throw new PackagerException(
                    ExitCode.BAD_CHECKPOINT,
                    t.file() + ": tensor '" + name + "' has shape "
                            + t.shapeString() + ", expected " + Arrays.toString(shape)
                            + " from config.json; the weights and config.json do not belong together");
        }
        return t;
    }

    public TensorData map(TensorEntry entry) {
        SafetensorsFile f = owner.get(entry.name());
        if (f == null) {
            throw new IllegalArgumentException("tensor '" + entry.name() + "' is not in this checkpoint");
        }
        return f.map(entry);
    }

    @Override
    public void close() {
        shards.values().forEach(SafetensorsFile::close);
    }
}
