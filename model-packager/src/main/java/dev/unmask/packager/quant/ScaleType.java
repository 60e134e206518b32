package dev.unmask.packager.quant;

import ai.onnx.proto.OnnxMl.TensorProto;
import dev.unmask.packager.checkpoint.Half;

/**
 * Element type of the {@code scales} input; MatMulNBits wants it equal to the type of the activations
 * {@code A}: float32 for fp32 packages, float16 for fp16 packages.
 */
public enum ScaleType {
    FLOAT32(TensorProto.DataType.FLOAT, 4),
    FLOAT16(TensorProto.DataType.FLOAT16, 2);

    private final TensorProto.DataType onnxType;
    private final int bytes;

    ScaleType(TensorProto.DataType onnxType, int bytes) {
        this.onnxType = onnxType;
        this.bytes = bytes;
    }

    public TensorProto.DataType onnxType() {
        return onnxType;
    }

    /** Bytes per element. */
    public int bytes() {
        return bytes;
    }

    /** {@code value} as this type would store it (identity for float32, round-to-nearest-even for float16). */
    public float round(float value) {
        return this == FLOAT32 ? value : Half.toFloat(Half.fromFloat(value));
    }
}
