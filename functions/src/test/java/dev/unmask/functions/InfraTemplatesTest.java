package dev.unmask.functions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code infra/validate.sh} in the build: every CloudFormation/SAM template passes cfn-lint and every Kubernetes
 * manifest its schema, and a broken copy of each fails. Skipped, with the reason, only where cfn-lint is not
 * installed ({@code pip install cfn-lint}).
 */
class InfraTemplatesTest {

    record Run(int exitCode, String output) {}

    /** A copy of a template with one mistake, and what the validator must say about it. */
    record Breakage(String template, String from, String to, String expectedMessage) {
        @Override
        public String toString() {
            return template + ": '" + from + "' -> '" + to + "'";
        }
    }

    private static final boolean CFN_LINT_INSTALLED = cfnLintInstalled();

    private static boolean cfnLintInstalled() {
        try {
            return run(List.of("cfn-lint", "--version")).exitCode() == 0;
        } catch (IOException e) {
            return false;
        }
    }

    @BeforeEach
    void needsCfnLint() {
        Assumptions.assumeTrue(
                CFN_LINT_INSTALLED,
                "cfn-lint is not installed, so infra/validate.sh cannot run: pip install cfn-lint (skipping)");
    }

    @Test
    void everyTemplateAndManifestIsValid() throws IOException {
        Run r = validate(List.of());
        assertEquals(0, r.exitCode(), "infra/validate.sh failed:\n" + r.output());
        assertTrue(r.output().contains("aws/lambda/template.yaml: valid"), r.output());
        assertTrue(r.output().contains("aws/gpu/template.yaml: valid"), r.output());
        assertTrue(r.output().contains("k8s/knative-service.yaml: valid"), r.output());
    }

    static Stream<Breakage> breakages() {
        return Stream.of(
                new Breakage("aws/lambda/template.yaml", "Runtime: java21", "Runtime: java7", "E3030"),
                new Breakage(
                        "aws/lambda/template.yaml",
                        "ApplyOn: PublishedVersions",
                        "ApplyOn: Always",
                        "'Always' is not one of"),
                new Breakage("aws/gpu/template.yaml", "      HealthCheckPort: traffic-port\n", "", "E3049"),
                new Breakage(
                        "aws/gpu/template.yaml",
                        "TargetGroupArn: !Ref TargetGroup",
                        "TargetGroupArn: !Ref TargetGrop",
                        "TargetGrop"),
                new Breakage(
                        "k8s/knative-service.yaml", "containerPort: 8080", "containerPort: \"8080\"", "containerPort"),
                new Breakage("k8s/knative-service.yaml", "min-scale: \"0\"", "min-scale: 0", "min-scale"),
                new Breakage("k8s/knative-service.yaml", "readinessProbe:", "readinesProbe:", "readinesProbe"));
    }

    @ParameterizedTest
    @MethodSource("breakages")
    void aBrokenCopyFailsValidation(Breakage b, @TempDir Path dir) throws IOException {
        String original = Files.readString(InfraTemplates.infra(b.template()));
        assertTrue(original.contains(b.from()), "the template no longer contains '" + b.from() + "': update this test");
        Path broken = dir.resolve(Path.of(b.template()).getFileName());
        Files.writeString(broken, original.replace(b.from(), b.to()));

        Run r = validate(List.of(broken.toString()));
        assertEquals(1, r.exitCode(), "validate.sh accepted " + b + ":\n" + r.output());
        assertTrue(
                r.output().contains(b.expectedMessage()), "expected '" + b.expectedMessage() + "' in:\n" + r.output());
        assertTrue(r.output().contains(broken.toString()), "the message names the file:\n" + r.output());
    }

    private static Run validate(List<String> files) throws IOException {
        List<String> command = new ArrayList<>(
                List.of("bash", InfraTemplates.infra("validate.sh").toString()));
        command.addAll(files);
        return run(command);
    }

    private static Run run(List<String> command) throws IOException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        try {
            if (!p.waitFor(5, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new AssertionError(command + " did not finish in 5 minutes");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
        return new Run(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    }
}
