// Where a cold Engine.open goes (issue 17 §2, docs/benchmarks.md "Cold start"): each part of opening a package timed
// in a fresh JVM, first and second time, so that process-wide first-use costs (native libraries, Jinjava, Jackson)
// show apart from the package's own work. A measurement tool, not part of the build.
//
//   ./mvnw -o -q -B package -pl functions -am -DskipTests
//   java -XX:TieredStopAtLevel=1 -cp "functions/target/quarkus-app/lib/main/*" bench/ColdOpenParts.java models/tiny-llada/package
import ai.onnxruntime.*;
import dev.unmask.engine.Engine;
import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.engine.text.*;
import dev.unmask.format.ModelPackage;
import dev.unmask.engine.request.GenerationRequest;
import java.nio.file.Path;
import java.util.List;

public class ColdOpenParts {
    static long t0 = System.nanoTime();
    static void mark(String what, long start) { System.out.printf("%-40s %6d ms (uptime %d)%n", what, (System.nanoTime()-start)/1_000_000, java.lang.management.ManagementFactory.getRuntimeMXBean().getUptime()); }
    public static void main(String[] a) throws Exception {
        Path dir = Path.of(a[0]);
        long t = System.nanoTime(); ModelPackage pkg = ModelPackage.open(dir); mark("ModelPackage.open (checksums)", t);
        t = System.nanoTime(); OrtEnvironment env = OrtEnvironment.getEnvironment(); mark("OrtEnvironment", t);
        for (var lvl : new OrtSession.SessionOptions.OptLevel[]{OrtSession.SessionOptions.OptLevel.ALL_OPT, OrtSession.SessionOptions.OptLevel.EXTENDED_OPT, OrtSession.SessionOptions.OptLevel.BASIC_OPT, OrtSession.SessionOptions.OptLevel.ALL_OPT}) {
            var so = new OrtSession.SessionOptions(); so.setOptimizationLevel(lvl);
            t = System.nanoTime(); var s = env.createSession(pkg.modelFile().toString(), so); mark("createSession " + lvl, t); s.close();
        }
        t = System.nanoTime(); Tokenizer tok = Tokenizer.load(pkg.tokenizerFile()); mark("Tokenizer.load", t);
        t = System.nanoTime(); Tokenizer tok2 = Tokenizer.load(pkg.tokenizerFile()); mark("Tokenizer.load again", t);
        t = System.nanoTime(); CharsPerToken.of(pkg.tokenizerFile()); mark("CharsPerToken.of", t);
        t = System.nanoTime(); CharsPerToken.of(pkg.tokenizerFile()); mark("CharsPerToken.of again", t);
        t = System.nanoTime(); var ct = new ChatTemplate(pkg.manifest().chatTemplate(), "<s>", "</s>"); mark("ChatTemplate new", t);
        t = System.nanoTime(); ct.render(List.of(new ChatMessage("user","Hello")), true); mark("ChatTemplate first render", t);
        t = System.nanoTime(); ct.render(List.of(new ChatMessage("user","Hello")), true); mark("ChatTemplate second render", t);
        t = System.nanoTime(); Engine e = Engine.open(dir, new RuntimeOptions(dev.unmask.engine.model.ExecutionProvider.CPU, 0)); mark("Engine.open (all, warm JVM)", t);
        for (int i = 0; i < 3; i++) {
            t = System.nanoTime(); e.generate(GenerationRequest.builder(new GenerationRequest.Prompt.Chat(List.of(new ChatMessage("user","Hello")))).length(8).blockLength(8).steps(8).build(), null); mark("generate 8x8 #" + i, t);
        }
        for (int i = 0; i < 2; i++) {
            t = System.nanoTime(); e.generate(GenerationRequest.builder(new GenerationRequest.Prompt.Chat(List.of(new ChatMessage("user","Hello")))).length(16).build(), null); mark("generate 16 defaults #" + i, t);
        }
    }
}
