package dev.unmask.packager;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.unmask.packager.arch.GraphOptions;
import dev.unmask.packager.onnx.WeightFormat;
import dev.unmask.packager.pack.ConvertRequest;
import dev.unmask.packager.pack.PackageWriter;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each kind of broken checkpoint gets its own clear error, exit code 3, and leaves no package (nor partial folder). */
class CorruptCheckpointTest {

    private static final String Q0 = "model.transformer.blocks.0.q_proj.weight";

    @TempDir
    Path tmp;

    private PackagerException convertFails(Path checkpoint) {
        Path outParent = tmp.resolve("out");
        PackagerException e = assertThrows(
                PackagerException.class,
                () -> new PackageWriter(s -> {}, Progress.NONE)
                        .convert(ConvertRequest.of(
                                checkpoint, outParent.resolve("pkg"), GraphOptions.of(WeightFormat.FP32))));
        assertEquals(ExitCode.BAD_CHECKPOINT, e.exitCode(), e.getMessage());
        assertTrue(
                SafetensorsSurgery.nothingNamedLike(outParent, "pkg"), "no package or partial folder is left behind");
        return e;
    }

    @Test
    void truncatedSafetensorsNamesTheFileAndTheTensorThatRunsPastTheEnd() throws IOException {
        Path ckpt = SafetensorsSurgery.copyTiny(tmp.resolve("truncated"));
        Path weights = ckpt.resolve("model.safetensors");
        try (FileChannel ch = FileChannel.open(weights, StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() / 2);
        }
        String msg = convertFails(ckpt).getMessage();
        assertTrue(msg.contains(weights.toString()), msg);
        assertTrue(msg.contains("truncated"), msg);
        assertTrue(msg.contains("tensor '"), msg);
    }

    @Test
    void fileShorterThanItsHeaderIsTruncated() throws IOException {
        Path ckpt = SafetensorsSurgery.copyTiny(tmp.resolve("short"));
        try (FileChannel ch = FileChannel.open(ckpt.resolve("model.safetensors"), StandardOpenOption.WRITE)) {
            ch.truncate(100);
        }
        String msg = convertFails(ckpt).getMessage();
        assertTrue(msg.contains("truncated"), msg);
    }

    @Test
    void misShapedTensorNamesTheTensorAndBothShapes() {
        Path ckpt = SafetensorsSurgery.copyTinyWithoutWeights(tmp.resolve("shape"));
        SafetensorsSurgery.rewriteHeader(
                TinyModel.checkpoint().resolve("model.safetensors"), ckpt.resolve("model.safetensors"), h -> {
                    ArrayNode shape = ((ObjectNode) h.get(Q0)).putArray("shape");
                    shape.add(128).add(512); // same byte count, wrong shape
                });
        String msg = convertFails(ckpt).getMessage();
        assertTrue(msg.contains(Q0) && msg.contains("[128, 512]") && msg.contains("expected [256, 256]"), msg);
    }

    @Test
    void missingTensorIsNamedWithItsExpectedShape() {
        Path ckpt = SafetensorsSurgery.copyTinyWithoutWeights(tmp.resolve("missing"));
        SafetensorsSurgery.rewriteHeader(
                TinyModel.checkpoint().resolve("model.safetensors"),
                ckpt.resolve("model.safetensors"),
                h -> h.set("renamed.q_proj.weight", h.remove(Q0)));
        String msg = convertFails(ckpt).getMessage();
        assertTrue(msg.contains("no tensor '" + Q0 + "'") && msg.contains("[256, 256]"), msg);
    }

    @Test
    void headerLyingAboutASpanIsCaught() {
        Path ckpt = SafetensorsSurgery.copyTinyWithoutWeights(tmp.resolve("lying-span"));
        SafetensorsSurgery.rewriteHeader(
                TinyModel.checkpoint().resolve("model.safetensors"), ckpt.resolve("model.safetensors"), h -> {
                    ArrayNode off = (ArrayNode) h.get(Q0).get("data_offsets");
                    long begin = off.get(0).asLong();
                    off.removeAll();
                    off.add(begin).add(begin + 10); // 10 bytes for a [256, 256] BF16 tensor
                });
        String msg = convertFails(ckpt).getMessage();
        assertTrue(msg.contains("lies") && msg.contains(Q0) && msg.contains("131072"), msg);
    }

    @Test
    void headerLyingAboutOffsetsOverlapIsCaught() {
        Path ckpt = SafetensorsSurgery.copyTinyWithoutWeights(tmp.resolve("lying-overlap"));
        SafetensorsSurgery.rewriteHeader(
                TinyModel.checkpoint().resolve("model.safetensors"), ckpt.resolve("model.safetensors"), h -> {
                    // point q_proj at the bytes of another tensor of the same size: spans still right, tiling broken
                    String other = "model.transformer.blocks.0.attn_out.weight";
                    ((ObjectNode) h.get(Q0))
                            .set(
                                    "data_offsets",
                                    h.get(other).get("data_offsets").deepCopy());
                });
        String msg = convertFails(ckpt).getMessage();
        assertTrue(msg.contains("lies about offsets"), msg);
    }

    @Test
    void unknownArchitectureListsTheSupportedOnes() throws IOException {
        Path ckpt = SafetensorsSurgery.copyTiny(tmp.resolve("mamba"));
        Path config = ckpt.resolve("config.json");
        Files.writeString(
                config, Files.readString(config).replace("\"model_type\": \"llada\"", "\"model_type\": \"mamba\""));
        String msg = convertFails(ckpt).getMessage();
        assertTrue(
                msg.contains("'mamba'")
                        && msg.contains("unmask-pack converts: llada (LLaDAModelLM)")
                        && msg.contains(config.toString()),
                msg);
    }

    @Test
    void unsupportedDtypeIsNamed() {
        Path ckpt = SafetensorsSurgery.copyTinyWithoutWeights(tmp.resolve("dtype"));
        SafetensorsSurgery.rewriteHeader(
                TinyModel.checkpoint().resolve("model.safetensors"),
                ckpt.resolve("model.safetensors"),
                h -> ((ObjectNode) h.get(Q0)).put("dtype", "I16"));
        String msg = convertFails(ckpt).getMessage();
        assertTrue(msg.contains("I16") && msg.contains(Q0), msg);
    }

    @Test
    void folderWithoutWeightsSaysWhatItLooksFor() {
        Path ckpt = SafetensorsSurgery.copyTinyWithoutWeights(tmp.resolve("empty"));
        String msg = convertFails(ckpt).getMessage();
        assertTrue(msg.contains("model.safetensors") && msg.contains("model.safetensors.index.json"), msg);
    }
}
