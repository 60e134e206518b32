package dev.unmask.functions;

import static dev.unmask.functions.InfraTemplates.at;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.smallrye.config.EnvConfigSource;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import io.smallrye.config.WithName;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The settings the deployment templates pass are the ones the functions read, so that the two cannot drift apart:
 * the expected names come from {@link UnmaskConfig} (by reflection, as SmallRye maps them) and from
 * {@code application.properties}, never from a copy in this test. Health paths are checked over HTTP by
 * {@link InfraHealthPathTest}.
 */
class InfraSettingsTest {

    /** Each deployment target and the environment its template gives the process (image ENV included). */
    enum Target {
        LAMBDA(InfraTemplates::lambdaEnvironment),
        LAMBDA_IMAGE(() -> InfraTemplates.lambdaEnvironment(InfraTemplates.lambdaImageTemplate())),
        GPU_ECS(InfraTemplates::gpuTaskEnvironment),
        GPU_IMAGE(InfraTemplates::dockerfileEnvironment),
        KNATIVE(InfraTemplates::knativeEnvironment);

        final Supplier<Map<String, String>> environment;

        Target(Supplier<Map<String, String>> environment) {
            this.environment = environment;
        }
    }

    /** Variables the templates may set that are no {@code unmask.*} setting, and who reads them. */
    private static final Map<String, String> OTHER_VARIABLES = Map.of(
            "DJL_CACHE_DIR", "DJL (ai.djl.util.Utils.getCacheDir): where the tokenizer's native library is extracted",
            "ENGINE_CACHE_DIR",
                    "DJL (ai.djl.util.Utils.getEngineCacheDir): where it looks for the tokenizer's native library first",
            "JAVA_TOOL_OPTIONS", "the JVM itself",
            "JAVA_HOME", "the image: where the JRE is",
            "PATH", "the image: finds java");

    private static final String PREFIX = UnmaskConfig.class
            .getAnnotation(io.smallrye.config.ConfigMapping.class)
            .prefix();

    // ----------------------------------------------------------------------------------------------- the tests

    @ParameterizedTest
    @EnumSource(Target.class)
    void everyVariableATemplateSetsIsOneTheFunctionsRead(Target target) {
        List<Pattern> readable = configEnvironmentNames();
        Map<String, String> indirect = applicationPropertiesVariables();
        List<String> unread = new ArrayList<>();
        for (String name : target.environment.get().keySet()) {
            boolean read = indirect.containsKey(name)
                    || OTHER_VARIABLES.containsKey(name)
                    || readable.stream().anyMatch(p -> p.matcher(name).matches());
            if (!read) {
                unread.add(name);
            }
        }
        assertTrue(
                unread.isEmpty(),
                target + " sets " + unread + ", which nothing reads. The functions read "
                        + configProperties().stream()
                                .map(InfraSettingsTest::environmentName)
                                .toList() + " (from " + UnmaskConfig.class.getSimpleName()
                        + ") and " + indirect.keySet() + " (from application.properties)");
    }

    @ParameterizedTest
    @EnumSource(Target.class)
    void theValuesATemplateSetsAreTheValuesTheFunctionsRead(Target target) throws IOException {
        Map<String, String> env = target.environment.get();
        Map<String, String> read = readThroughTheMapping(env);
        Map<String, String> indirect = applicationPropertiesVariables();
        for (var e : env.entrySet()) {
            if (!e.getKey().startsWith(PREFIX.toUpperCase() + "_") && !indirect.containsKey(e.getKey())) {
                continue;
            }
            String property = indirect.containsKey(e.getKey())
                    ? indirect.get(e.getKey())
                    : read.keySet().stream()
                            .filter(p -> environmentName(p).equals(e.getKey()))
                            .findFirst()
                            .orElseThrow(
                                    () -> new AssertionError(target + ": " + e.getKey() + " maps to no property of "
                                            + UnmaskConfig.class.getSimpleName() + "; read: " + read.keySet()));
            assertEquals(e.getValue(), read.get(property), target + ": " + e.getKey() + " should set " + property);
        }
    }

    @Test
    void theLambdaBuildServesTheVariablesThatMakeSnapStartUseful() throws IOException {
        Map<String, String> read = readThroughTheMapping(InfraTemplates.lambdaEnvironment());
        assertEquals("false", read.get(PREFIX + ".load-in-background"), "load during init, before the snapshot");
        assertEquals("true", read.get(PREFIX + ".warm-up"));
        assertEquals("1", read.get(PREFIX + ".batch.max-size"), "one event at a time per execution environment");
        Map<String, Object> function = at(
                InfraTemplates.readCloudFormation(InfraTemplates.lambdaTemplate()),
                "Resources",
                "UnmaskFunction",
                "Properties");
        assertEquals(Map.of("ApplyOn", "PublishedVersions"), function.get("SnapStart"));
        assertEquals("live", function.get("AutoPublishAlias"));
        assertEquals(
                512,
                InfraTemplates.<Integer>at(function, "EphemeralStorage", "Size"),
                "SnapStart refuses /tmp above 512 MB");
    }

    @Test
    void theLambdaHandlerIsQuarkussEntryPointThePrimingHookLooksFor() throws Exception {
        String handler = at(
                InfraTemplates.readCloudFormation(InfraTemplates.lambdaTemplate()),
                "Resources",
                "UnmaskFunction",
                "Properties",
                "Handler");
        assertEquals(SnapStartPriming.LAMBDA_RUNTIME_CLASS + "::handleRequest", handler);
        if (SnapStartPriming.lambdaBuild()) { // -Plambda: the class is there, with the method Lambda calls
            Class<?> c = Class.forName(SnapStartPriming.LAMBDA_RUNTIME_CLASS);
            Method m = c.getMethod(
                    "handleRequest",
                    InputStream.class,
                    OutputStream.class,
                    Class.forName("com.amazonaws.services.lambda.runtime.Context"));
            assertTrue(Modifier.isPublic(m.getModifiers()));
        }
        assertEquals(
                List.of("[\"" + handler + "\"]"),
                InfraTemplates.dockerInstructions(InfraTemplates.lambdaImageDockerfile(), "CMD"),
                "the Lambda image's CMD");
        Map<String, Object> image = InfraTemplates.readCloudFormation(InfraTemplates.lambdaImageTemplate());
        assertEquals("Image", at(image, "Resources", "UnmaskFunction", "Properties", "PackageType"));
        Path generated = InfraTemplates.repoRoot().resolve("functions/target/sam.jvm.yaml");
        if (Files.exists(generated)) { // what Quarkus generated in the last -Plambda package
            Map<String, Object> sam = InfraTemplates.readCloudFormation(generated);
            for (Object resource :
                    InfraTemplates.<Map<String, Object>>at(sam, "Resources").values()) {
                assertEquals(handler, at(resource, "Properties", "Handler"), "the handler in " + generated);
            }
        }
    }

    @Test
    void theLambdaCodeIsTheZipOfTheLambdaBuild() {
        String codeUri = at(
                InfraTemplates.readCloudFormation(InfraTemplates.lambdaTemplate()),
                "Resources",
                "UnmaskFunction",
                "Properties",
                "CodeUri");
        Path zip = InfraTemplates.lambdaTemplate().getParent().resolve(codeUri).normalize();
        assertEquals(InfraTemplates.repoRoot().resolve("functions/target/function.zip"), zip);
    }

    @Test
    void everyContainerListensOnThePortTheFunctionsServe() throws IOException {
        int port = Integer.parseInt(applicationProperties().getProperty("quarkus.http.port"));
        assertEquals(
                List.of(String.valueOf(port)),
                InfraTemplates.dockerInstructions(InfraTemplates.gpuDockerfile(), "EXPOSE"),
                "EXPOSE in the Dockerfile");

        Map<String, Object> gpu = InfraTemplates.readCloudFormation(InfraTemplates.gpuTemplate());
        assertEquals(
                port,
                InfraTemplates.<Integer>at(
                        gpu,
                        "Resources",
                        "TaskDefinition",
                        "Properties",
                        "ContainerDefinitions",
                        0,
                        "PortMappings",
                        0,
                        "ContainerPort"),
                "the ECS task's container port");
        assertEquals(
                port,
                InfraTemplates.<Integer>at(
                        gpu, "Resources", "Service", "Properties", "LoadBalancers", 0, "ContainerPort"),
                "the port the ECS service registers with the load balancer");

        assertEquals(
                port,
                InfraTemplates.<Integer>at(InfraTemplates.knativeContainer(), "ports", 0, "containerPort"),
                "Knative's containerPort");
    }

    @Test
    void eachImageCopiesThePackageWhereItsTemplateLooksForIt() {
        // the GPU image: ENV UNMASK_PACKAGE names the folder the package is copied to
        String gpuPackage = InfraTemplates.dockerfileEnvironment().get("UNMASK_PACKAGE");
        assertTrue(
                copiesTo(InfraTemplates.gpuDockerfile(), gpuPackage + "/"),
                "the GPU Dockerfile copies no package to " + gpuPackage);
        // the Lambda image: /var/task is LAMBDA_TASK_ROOT in AWS's Java base image
        String lambdaPackage = InfraTemplates.lambdaEnvironment(InfraTemplates.lambdaImageTemplate())
                .get("UNMASK_PACKAGE");
        assertTrue(
                copiesTo(
                        InfraTemplates.lambdaImageDockerfile(),
                        lambdaPackage.replace("/var/task", "${LAMBDA_TASK_ROOT}") + "/"),
                "the Lambda Dockerfile copies no package to " + lambdaPackage);
    }

    private static boolean copiesTo(Path dockerfile, String destination) {
        return InfraTemplates.dockerInstructions(dockerfile, "COPY").stream()
                .anyMatch(c -> c.endsWith(" " + destination));
    }

    @Test
    void theDerivationSeesEverySettingOfTheMapping() {
        // guards the reflection the other tests rely on: a setting added to UnmaskConfig shows up here by itself
        List<String> names = configProperties();
        assertTrue(names.contains(PREFIX + ".batch.max-size"), names::toString);
        assertTrue(names.contains(PREFIX + ".models.*.path"), names::toString);
        assertTrue(names.contains(PREFIX + ".api-keys"), names::toString);
        assertEquals("UNMASK_LIMITS_MAX_CANVAS_TOKENS", environmentName(PREFIX + ".limits.max-canvas-tokens"));
        assertFalse(configEnvironmentNames().stream()
                .anyMatch(p -> p.matcher("UNMASK_BATCH_MAX_SZE").matches()));
    }

    // ------------------------------------------------------------------------ what the functions read, derived

    /** Every property of the mapping, e.g. {@code unmask.batch.max-size}, {@code unmask.models.*.path}. */
    static List<String> configProperties() {
        List<String> names = new ArrayList<>();
        collect(UnmaskConfig.class, PREFIX, names);
        return names;
    }

    private static void collect(Class<?> group, String prefix, List<String> names) {
        for (Method m : group.getDeclaredMethods()) {
            if (Modifier.isStatic(m.getModifiers()) || m.isDefault() || m.isSynthetic() || m.getParameterCount() > 0) {
                continue;
            }
            String name = prefix + "." + propertyName(m);
            Type type = m.getGenericReturnType();
            if (raw(type) == Optional.class) {
                type = argument(type, 0);
            }
            if (raw(type) == Map.class) {
                name += ".*";
                type = argument(type, 1);
            }
            if (isGroup(raw(type))) {
                collect(raw(type), name, names);
            } else {
                names.add(name);
            }
        }
    }

    /** The environment variables SmallRye maps onto those properties (a map key: any upper-case word). */
    static List<Pattern> configEnvironmentNames() {
        return configProperties().stream()
                .map(p -> Pattern.compile(Arrays.stream(environmentName(p).split("_\\*_", -1))
                        .map(Pattern::quote)
                        .collect(Collectors.joining("_[A-Z0-9_]+_"))))
                .toList();
    }

    /** SmallRye's rule: upper case, every character that is not a letter or digit becomes {@code _}. */
    static String environmentName(String property) {
        return property.replace(".*.", "_*_").replaceAll("[^A-Za-z0-9*]", "_").toUpperCase();
    }

    private static String propertyName(Method m) {
        WithName withName = m.getAnnotation(WithName.class);
        if (withName != null) {
            return withName.value();
        }
        return m.getName().replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase();
    }

    private static boolean isGroup(Class<?> c) {
        return c.isInterface() && c.getEnclosingClass() == UnmaskConfig.class;
    }

    private static Class<?> raw(Type t) {
        return t instanceof ParameterizedType p ? (Class<?>) p.getRawType() : (Class<?>) t;
    }

    private static Type argument(Type t, int index) {
        return ((ParameterizedType) t).getActualTypeArguments()[index];
    }

    // ------------------------------------------------------------------------- application.properties and SmallRye

    private static URL applicationPropertiesUrl() {
        URL url = UnmaskConfig.class.getClassLoader().getResource("application.properties");
        if (url == null) {
            fail("application.properties is not on the class path");
        }
        return url;
    }

    private static Properties applicationProperties() throws IOException {
        Properties p = new Properties();
        try (InputStream in = applicationPropertiesUrl().openStream()) {
            p.load(in);
        }
        return p;
    }

    /** Variables that application.properties reads itself, e.g. {@code UNMASK_PACKAGE} → the property it sets. */
    static Map<String, String> applicationPropertiesVariables() {
        Map<String, String> vars = new TreeMap<>();
        Pattern ref = Pattern.compile("\\$\\{([A-Z][A-Z0-9_]*)[:}]");
        try {
            Properties p = applicationProperties();
            for (String key : p.stringPropertyNames()) {
                Matcher m = ref.matcher(p.getProperty(key));
                while (m.find()) {
                    vars.put(m.group(1), key);
                }
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return vars;
    }

    /**
     * Loads {@link UnmaskConfig} as the service would in production: application.properties (no profile) under the
     * template's environment, through SmallRye's own environment mapping; answers every property it read, as text.
     */
    static Map<String, String> readThroughTheMapping(Map<String, String> env) throws IOException {
        SmallRyeConfig config = new SmallRyeConfigBuilder()
                .addDefaultInterceptors()
                .withSources(new PropertiesConfigSource(applicationPropertiesUrl(), 250))
                .withSources(new EnvConfigSource(env, 300))
                .withMapping(UnmaskConfig.class)
                .build();
        Map<String, String> values = new TreeMap<>();
        walk(UnmaskConfig.class, config.getConfigMapping(UnmaskConfig.class), PREFIX, values);
        return values;
    }

    private static void walk(Class<?> group, Object instance, String prefix, Map<String, String> values) {
        for (Method m : group.getDeclaredMethods()) {
            if (Modifier.isStatic(m.getModifiers()) || m.isDefault() || m.isSynthetic() || m.getParameterCount() > 0) {
                continue;
            }
            Object value;
            try {
                value = m.invoke(instance);
            } catch (ReflectiveOperationException e) {
                throw new AssertionError(e);
            }
            if (value instanceof Optional<?> o) {
                if (o.isEmpty()) {
                    continue;
                }
                value = o.get();
            }
            String name = prefix + "." + propertyName(m);
            if (value instanceof Map<?, ?> map) {
                Class<?> valueType = raw(argument(m.getGenericReturnType(), 1));
                for (var e : map.entrySet()) {
                    leafOrGroup(valueType, e.getValue(), name + "." + e.getKey(), values);
                }
            } else {
                Type type = m.getGenericReturnType();
                leafOrGroup(raw(type) == Optional.class ? raw(argument(type, 0)) : raw(type), value, name, values);
            }
        }
    }

    private static void leafOrGroup(Class<?> type, Object value, String name, Map<String, String> values) {
        if (isGroup(type)) {
            walk(type, value, name, values);
        } else if (value instanceof Collection<?> c) {
            values.put(name, c.stream().map(String::valueOf).collect(Collectors.joining(",")));
        } else {
            values.put(name, String.valueOf(value));
        }
    }

    @Test
    void readingThroughTheMappingSeesAnEnvironmentVariable() throws IOException {
        // the harness itself: an environment variable reaches the mapping, a default stays a default
        Map<String, String> read = readThroughTheMapping(Map.of("UNMASK_BATCH_MAX_SIZE", "3"));
        assertEquals("3", read.get(PREFIX + ".batch.max-size"));
        assertEquals("64", read.get(PREFIX + ".batch.max-queue"));
    }
}
