package dev.unmask.packager.onnx;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A graph under construction: nodes, graph inputs/outputs and initializers (streamed through an
 * {@link ExternalDataWriter}). Node outputs are named {@code <node name>/output_<i>}.
 */
public final class OnnxGraph {

    public static final String MS_DOMAIN = "com.microsoft";
    /** A node's single output is named {@code <node name>/output_0}. */
    public static final String OUTPUT_SUFFIX = "/output_0";

    private final GraphProto.Builder graph = GraphProto.newBuilder();
    private final ExternalDataWriter data;
    private final Map<String, Integer> used = new HashMap<>();
    private final Map<String, String> constants = new HashMap<>();

    public OnnxGraph(String name, ExternalDataWriter data) {
        this.data = data;
        graph.setName(name);
    }

    public GraphProto.Builder proto() {
        return graph;
    }

    public ExternalDataWriter data() {
        return data;
    }

    /** A name not used before in this graph, {@code base} if possible. */
    public String unique(String base) {
        Integer n = used.merge(base, 1, Integer::sum);
        return n == 1 ? base : base + "_" + (n - 1);
    }

    /** Adds a node with one output and returns that output's name. */
    public String op(String opType, String name, List<String> inputs, AttributeProto... attributes) {
        return node(opType, "", name, inputs, 1, attributes)[0];
    }

    public String msOp(String opType, String name, List<String> inputs, AttributeProto... attributes) {
        return node(opType, MS_DOMAIN, name, inputs, 1, attributes)[0];
    }

    /** Adds a node with {@code outputs} outputs; returns their names. */
    public String[] node(
            String opType, String domain, String name, List<String> inputs, int outputs, AttributeProto... attributes) {
        String[] out = new String[outputs];
        String nodeName = unique(name);
        for (int i = 0; i < outputs; i++) {
            out[i] = i == 0 ? nodeName + OUTPUT_SUFFIX : nodeName + "/output_" + i;
        }
        return nodeNamed(opType, domain, nodeName, inputs, List.of(out), attributes);
    }

    /** Adds a node whose outputs carry the given names (graph outputs, for example). */
    public String[] nodeNamed(
            String opType,
            String domain,
            String nodeName,
            List<String> inputs,
            List<String> outputs,
            AttributeProto... attributes) {
        NodeProto.Builder n = NodeProto.newBuilder()
                .setOpType(opType)
                .setName(nodeName)
                .addAllInput(inputs)
                .addAllOutput(outputs);
        if (!domain.isEmpty()) {
            n.setDomain(domain);
        }
        for (AttributeProto a : attributes) {
            n.addAttribute(a);
        }
        graph.addNode(n);
        return outputs.toArray(new String[0]);
    }

    public void addInitializer(TensorProto tensor) {
        graph.addInitializer(tensor);
    }

    /** Writes an initializer through the external-data writer and adds it; returns its name. */
    public String initializer(String name, DataType type, long[] dims, TensorBytes.Producer producer) {
        addInitializer(data.write(name, type, dims, producer));
        return name;
    }

    /** A 1-D int64 constant initializer, shared between uses of the same values. */
    public String int64s(long... values) {
        String key = "i64:" + java.util.Arrays.toString(values);
        return constants.computeIfAbsent(key, k -> {
            StringBuilder n = new StringBuilder("/constants/int64");
            for (long v : values) {
                n.append('_').append(v < 0 ? "m" + (-v) : String.valueOf(v));
            }
            String name = n.toString();
            addInitializer(data.write(name, DataType.INT64, new long[] {values.length}, out -> {
                for (long v : values) {
                    out.putLong(v);
                }
            }));
            return name;
        });
    }

    public void input(String name, DataType type, Object... shape) {
        graph.addInput(valueInfo(name, type, shape));
    }

    public void output(String name, DataType type, Object... shape) {
        graph.addOutput(valueInfo(name, type, shape));
    }

    private static ValueInfoProto valueInfo(String name, DataType type, Object... shape) {
        TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
        for (Object d : shape) {
            if (d instanceof Number n) {
                s.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(n.longValue()));
            } else {
                s.addDim(TensorShapeProto.Dimension.newBuilder().setDimParam(d.toString()));
            }
        }
        return ValueInfoProto.newBuilder()
                .setName(name)
                .setType(TypeProto.newBuilder()
                        .setTensorType(TypeProto.Tensor.newBuilder()
                                .setElemType(type.getNumber())
                                .setShape(s)))
                .build();
    }

    public static AttributeProto attr(String name, long value) {
        return AttributeProto.newBuilder()
                .setName(name)
                .setType(AttributeProto.AttributeType.INT)
                .setI(value)
                .build();
    }

    public static AttributeProto attr(String name, float value) {
        return AttributeProto.newBuilder()
                .setName(name)
                .setType(AttributeProto.AttributeType.FLOAT)
                .setF(value)
                .build();
    }

    public static AttributeProto attrInts(String name, long... values) {
        AttributeProto.Builder a = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
        for (long v : values) {
            a.addInts(v);
        }
        return a.build();
    }
}
