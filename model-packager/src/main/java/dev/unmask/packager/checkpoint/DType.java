package dev.unmask.packager.checkpoint;

import dev.unmask.packager.ExitCode;
import dev.unmask.packager.PackagerException;
import java.nio.ByteBuffer;

/** The safetensors element types the packager reads, with their byte width and decoding to float. */
public enum DType {
    BF16("BF16", 2),
    F16("F16", 2),
    F32("F32", 4);

    private final String safetensorsName;
    private final int bytes;

    DType(String safetensorsName, int bytes) {
        this.safetensorsName = safetensorsName;
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }

    public String safetensorsName() {
        return safetensorsName;
    }

    /** Reads element {@code index} (not byte offset) of a little-endian buffer. */
    public float read(ByteBuffer littleEndian, int byteOffset) {
        return switch (this) {
            case BF16 -> Float.intBitsToFloat((littleEndian.getShort(byteOffset) & 0xffff) << 16);
            case F16 -> Half.toFloat(littleEndian.getShort(byteOffset));
            case F32 -> littleEndian.getFloat(byteOffset);
        };
    }

    public static DType fromSafetensors(String name, String file, String tensor) {
        for (DType d : values()) {
            if (d.safetensorsName.equals(name)) {
                return d;
            }
        }
        throw new PackagerException(
                ExitCode.BAD_CHECKPOINT,
                file + ": tensor '" + tensor + "' has dtype " + name
                        + "; the packager reads BF16, F16 and F32 checkpoints (e.g. \"dtype\": \"BF16\")");
    }
}
