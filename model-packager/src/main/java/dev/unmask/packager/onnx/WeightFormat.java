package dev.unmask.packager.onnx;

import ai.onnx.proto.OnnxMl.TensorProto.DataType;

/**
 * How float weights are stored in the package. The graph always computes in fp32 (ONNX Runtime's CPU kernels for
 * MatMul, attention and the norms are fp32); fp16 weights are widened by a {@code Cast} right after the initializer,
 * which ONNX Runtime may fold into an fp32 copy at session creation. fp16 halves the package on disk and in transit,
 * not necessarily the session's memory.
 */
public enum WeightFormat {
    FP32("fp32", DataType.FLOAT, 4),
    FP16("fp16", DataType.FLOAT16, 2);

    private final String manifestName;
    private final DataType onnxType;
    private final int bytes;

    WeightFormat(String manifestName, DataType onnxType, int bytes) {
        this.manifestName = manifestName;
        this.onnxType = onnxType;
        this.bytes = bytes;
    }

    /** The name in the CLI ({@code --dtype}) and in manifest {@code precision.dtype}. */
    public String manifestName() {
        return manifestName;
    }

    public DataType onnxType() {
        return onnxType;
    }

    public int bytes() {
        return bytes;
    }

    public static WeightFormat parse(String name) {
        for (WeightFormat f : values()) {
            if (f.manifestName.equalsIgnoreCase(name)) {
                return f;
            }
        }
        throw new IllegalArgumentException("Unknown dtype '" + name + "'; use fp32 or fp16, e.g. --dtype fp16");
    }
}
