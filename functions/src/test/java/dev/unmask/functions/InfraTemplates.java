package dev.unmask.functions;

import dev.unmask.testing.Repo;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.AbstractConstruct;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;

/**
 * Reads the deployment templates under {@code infra/} the way their platforms do, for the tests that hold them to
 * the functions: the environment each one passes, its ports, its health paths.
 */
final class InfraTemplates {

    /** What a test sees for a value that comes from a secret store at deploy time. */
    static final String SECRET = "sk-from-the-secret-store";

    private InfraTemplates() {}

    static Path repoRoot() {
        return Repo.root();
    }

    static Path infra(String relative) {
        return repoRoot().resolve("infra").resolve(relative);
    }

    static Path lambdaTemplate() {
        return infra("aws/lambda/template.yaml");
    }

    static Path lambdaImageTemplate() {
        return infra("aws/lambda/template-image.yaml");
    }

    static Path lambdaImageDockerfile() {
        return infra("aws/lambda/image/Dockerfile");
    }

    static Path gpuTemplate() {
        return infra("aws/gpu/template.yaml");
    }

    static Path gpuDockerfile() {
        return infra("aws/gpu/Dockerfile");
    }

    static Path knativeService() {
        return infra("k8s/knative-service.yaml");
    }

    // ---------------------------------------------------------------------------------------------------- YAML

    /**
     * A CloudFormation template, with its short-form intrinsics turned into their long form, as CloudFormation
     * reads them: {@code !Ref X} is {@code {Ref: X}}, {@code !Sub s} is {@code {Fn::Sub: s}}, and so on.
     */
    @SuppressWarnings("unchecked")
    static Map<String, Object> readCloudFormation(Path file) {
        return (Map<String, Object>) new Yaml(new IntrinsicsConstructor()).load(read(file));
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> readYaml(Path file) {
        return (Map<String, Object>) new Yaml(new SafeConstructor(new LoaderOptions())).load(read(file));
    }

    static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static final class IntrinsicsConstructor extends SafeConstructor {
        IntrinsicsConstructor() {
            super(new LoaderOptions());
            yamlMultiConstructors.put("!", new AbstractConstruct() {
                @Override
                public Object construct(Node node) {
                    String tag = node.getTag().getValue().substring(1);
                    String name = tag.equals("Ref") || tag.equals("Condition") ? tag : "Fn::" + tag;
                    Object value;
                    if (node instanceof ScalarNode s) {
                        value = constructScalar(s);
                    } else if (node instanceof SequenceNode s) {
                        value = constructSequence(s);
                    } else {
                        value = constructMapping((MappingNode) node);
                    }
                    return Map.of(name, value);
                }
            });
        }
    }

    /** Walks a path of map keys and list indexes, failing with the path when a step is missing. */
    @SuppressWarnings("unchecked")
    static <T> T at(Object root, Object... path) {
        Object node = root;
        StringBuilder walked = new StringBuilder();
        for (Object step : path) {
            walked.append('/').append(step);
            if (step instanceof Integer i && node instanceof List<?> list && i < list.size()) {
                node = list.get(i);
            } else if (node instanceof Map<?, ?> map && map.containsKey(step)) {
                node = map.get(step);
            } else {
                throw new AssertionError("The template has nothing at " + walked);
            }
        }
        return (T) node;
    }

    // ------------------------------------------------------------------------------------- values and environments

    /**
     * The value CloudFormation would pass with the parameters' defaults: a literal as written, {@code Ref} to a
     * parameter its {@code Default}, {@code Fn::If} its first branch (the one that sets something), a Secrets
     * Manager dynamic reference {@link #SECRET}.
     */
    static String resolve(Map<String, Object> template, Object value) {
        if (value instanceof Map<?, ?> m && m.size() == 1) {
            var e = m.entrySet().iterator().next();
            switch ((String) e.getKey()) {
                case "Ref" -> {
                    Map<String, Object> parameter = at(template, "Parameters", e.getValue());
                    return String.valueOf(parameter.get("Default"));
                }
                case "Fn::If" -> {
                    return resolve(template, ((List<?>) e.getValue()).get(1));
                }
                case "Fn::Sub" -> {
                    String s = String.valueOf(e.getValue());
                    if (s.startsWith("{{resolve:secretsmanager:")) {
                        return SECRET;
                    }
                    throw new AssertionError("Cannot resolve Fn::Sub " + s + " without a stack");
                }
                default -> throw new AssertionError("Cannot resolve " + value + " without a stack");
            }
        }
        return String.valueOf(value);
    }

    /** {@code Environment.Variables} of the SAM function (zip). */
    static Map<String, String> lambdaEnvironment() {
        return lambdaEnvironment(lambdaTemplate());
    }

    /** {@code Environment.Variables} of the SAM function in {@code template}. */
    static Map<String, String> lambdaEnvironment(Path template) {
        Map<String, Object> t = readCloudFormation(template);
        Map<String, Object> vars = at(t, "Resources", "UnmaskFunction", "Properties", "Environment", "Variables");
        Map<String, String> env = new LinkedHashMap<>();
        vars.forEach((k, v) -> env.put(k, resolve(t, v)));
        return env;
    }

    /** The GPU task's {@code Environment} and {@code Secrets}, over the image's {@code ENV} (the task's win). */
    static Map<String, String> gpuTaskEnvironment() {
        Map<String, Object> t = readCloudFormation(gpuTemplate());
        Map<String, Object> container = at(t, "Resources", "TaskDefinition", "Properties", "ContainerDefinitions", 0);
        Map<String, String> env = new LinkedHashMap<>(dockerfileEnvironment());
        for (Map<String, Object> e : InfraTemplates.<List<Map<String, Object>>>at(container, "Environment")) {
            env.put((String) e.get("Name"), resolve(t, e.get("Value")));
        }
        List<?> secrets = listOrEmpty(t, container.get("Secrets"));
        for (Object s : secrets) {
            env.put((String) ((Map<?, ?>) s).get("Name"), SECRET);
        }
        return env;
    }

    private static List<?> listOrEmpty(Map<String, Object> template, Object value) {
        if (value instanceof Map<?, ?> m && m.containsKey("Fn::If")) {
            return listOrEmpty(template, ((List<?>) m.get("Fn::If")).get(1));
        }
        return value instanceof List<?> l ? l : List.of();
    }

    /** The Knative container's {@code env}, over the image's {@code ENV}; {@code valueFrom} a secret is {@link #SECRET}. */
    static Map<String, String> knativeEnvironment() {
        Map<String, String> env = new LinkedHashMap<>(dockerfileEnvironment());
        for (Map<String, Object> e : InfraTemplates.<List<Map<String, Object>>>at(knativeContainer(), "env")) {
            env.put((String) e.get("name"), e.containsKey("valueFrom") ? SECRET : String.valueOf(e.get("value")));
        }
        return env;
    }

    static Map<String, Object> knativeContainer() {
        return at(readYaml(knativeService()), "spec", "template", "spec", "containers", 0);
    }

    /** The {@code ENV} instructions of the GPU Dockerfile ({@code ENV A=1 B="x y"}, continued lines joined). */
    static Map<String, String> dockerfileEnvironment() {
        Map<String, String> env = new LinkedHashMap<>();
        for (String instruction : dockerInstructions(gpuDockerfile(), "ENV")) {
            for (String pair : splitWords(instruction)) {
                int eq = pair.indexOf('=');
                if (eq < 0) {
                    throw new AssertionError(
                            "Write ENV as NAME=value (e.g. ENV UNMASK_PACKAGE=/opt/unmask/package); got: " + pair);
                }
                env.put(pair.substring(0, eq), pair.substring(eq + 1));
            }
        }
        return env;
    }

    /** The arguments of every instruction {@code keyword} in {@code dockerfile}. */
    static List<String> dockerInstructions(Path dockerfile, String keyword) {
        List<String> found = new ArrayList<>();
        String joined = read(dockerfile).replace("\\\n", " ");
        for (String line : joined.split("\n")) {
            String l = line.strip();
            if (l.startsWith(keyword + " ")) {
                found.add(l.substring(keyword.length()).strip());
            }
        }
        return found;
    }

    private static List<String> splitWords(String s) {
        List<String> words = new ArrayList<>();
        StringBuilder w = new StringBuilder();
        boolean quoted = false;
        for (char c : s.toCharArray()) {
            if (c == '"') {
                quoted = !quoted;
            } else if (Character.isWhitespace(c) && !quoted) {
                if (!w.isEmpty()) {
                    words.add(w.toString());
                    w.setLength(0);
                }
            } else {
                w.append(c);
            }
        }
        if (!w.isEmpty()) {
            words.add(w.toString());
        }
        return words;
    }
}
