package dev.unmask.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unmask.format.Manifests;
import dev.unmask.format.PackageManifest;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * What each command needs of a repository, and nothing more: a converter needs the config, the tokenizer files and
 * the weights the index names; a pull needs the package's manifest and the files it lists.
 */
public final class HubDownloads {

    /** The checkpoint files a converter reads besides the weights, fetched when the repository has them. */
    public static final List<String> CHECKPOINT_FILES = List.of(
            "config.json",
            "generation_config.json",
            "tokenizer.json",
            "tokenizer_config.json",
            "special_tokens_map.json",
            "added_tokens.json",
            "chat_template.jinja",
            "chat_template.json");

    public static final String INDEX = "model.safetensors.index.json";
    public static final String SINGLE_WEIGHTS = "model.safetensors";

    private static final ObjectMapper JSON = new ObjectMapper();

    private HubDownloads() {}

    /**
     * The checkpoint of {@code id} in the cache: {@code config.json} (required), the tokenizer and generation files
     * it has, and {@code model.safetensors}, or the shards {@code model.safetensors.index.json} names. Returns the
     * snapshot folder, a checkpoint folder as {@code unmask-pack convert} reads it.
     */
    public static Path checkpoint(HubClient client, HubModelId id) {
        HubSnapshot snapshot = client.open(id);
        Set<String> wanted = new LinkedHashSet<>();
        if (!snapshot.has("config.json")) {
            throw notACheckpoint(snapshot, "no config.json");
        }
        for (String f : CHECKPOINT_FILES) {
            if (snapshot.has(f)) {
                wanted.add(f);
            }
        }
        if (snapshot.has(INDEX)) {
            wanted.add(INDEX);
            wanted.addAll(shards(snapshot, snapshot.read(INDEX, HubClient.MAX_SMALL_FILE_BYTES)));
        } else if (snapshot.has(SINGLE_WEIGHTS)) {
            wanted.add(SINGLE_WEIGHTS);
        } else {
            throw notACheckpoint(snapshot, "neither " + SINGLE_WEIGHTS + " nor " + INDEX);
        }
        return snapshot.fetchAll(wanted);
    }

    /**
     * The Unmask package that {@code id} holds, in the cache: its {@code manifest.json} and every file it lists.
     * Returns the snapshot folder; the caller verifies the package (sizes and SHA-256 of the manifest).
     */
    public static Path unmaskPackage(HubClient client, HubModelId id) {
        HubSnapshot snapshot = client.open(id);
        if (!snapshot.has(PackageManifest.FILE_NAME)) {
            throw new HubException(
                    HubException.Reason.ENTRY_NOT_FOUND,
                    id + " holds no Unmask package (no " + PackageManifest.FILE_NAME + " at its top). A Hugging "
                            + "Face checkpoint is converted first: unmask-pack convert --from " + id
                            + " --out <package dir>, then unmask pull <package dir>");
        }
        Path folder = snapshot.fetch(PackageManifest.FILE_NAME).getParent();
        PackageManifest manifest = Manifests.read(folder);
        List<String> files = new ArrayList<>();
        for (String name : manifest.files().keySet()) {
            files.add(RepoPaths.check(name, "the manifest of " + id));
        }
        return snapshot.fetchAll(files);
    }

    /** The distinct shard names of an index's {@code weight_map}, each checked to stay inside the repository. */
    static List<String> shards(HubSnapshot snapshot, byte[] index) {
        JsonNode map;
        try {
            map = JSON.readTree(index).path("weight_map");
        } catch (IOException e) {
            throw new HubException(
                    HubException.Reason.BAD_RESPONSE,
                    INDEX + " of " + snapshot.id() + " is not JSON (" + e.getMessage() + ")",
                    e);
        }
        if (!map.isObject() || map.isEmpty()) {
            throw notACheckpoint(snapshot, INDEX + " without a weight_map");
        }
        Set<String> shards = new LinkedHashSet<>();
        for (Iterator<JsonNode> it = map.elements(); it.hasNext(); ) {
            String shard = RepoPaths.check(it.next().asText(""), INDEX + " of " + snapshot.id());
            if (shards.add(shard) && shards.size() > HubClient.MAX_FILES) {
                throw new HubException(
                        HubException.Reason.BAD_RESPONSE,
                        INDEX + " of " + snapshot.id() + " names more than " + HubClient.MAX_FILES + " shards");
            }
            if (!snapshot.has(shard)) {
                throw new HubException(
                        HubException.Reason.ENTRY_NOT_FOUND,
                        INDEX + " of " + snapshot.id() + " names the shard '" + shard
                                + "', which the repository does not have: the checkpoint is incomplete");
            }
        }
        return List.copyOf(shards);
    }

    private static HubException notACheckpoint(HubSnapshot snapshot, String what) {
        return new HubException(
                HubException.Reason.ENTRY_NOT_FOUND,
                snapshot.id() + " (commit " + snapshot.commit() + ") has " + what + ": it is not a safetensors "
                        + "checkpoint that unmask-pack converts (config.json and model.safetensors, or shards with "
                        + INDEX + ", e.g. hf:GSAI-ML/LLaDA-8B-Instruct)");
    }
}
