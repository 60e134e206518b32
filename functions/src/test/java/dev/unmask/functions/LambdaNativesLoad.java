package dev.unmask.functions;

import ai.onnxruntime.OrtEnvironment;
import dev.unmask.engine.text.Tokenizer;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Run by {@link LambdaZipTest} in a JVM of its own whose class path is the unpacked {@code function.zip}'s
 * {@code lib/} (jars without natives) and whose settings are the Lambda template's: loads ONNX Runtime and the
 * tokenizers' library the way the function does, then prints what it loaded.
 *
 * <pre>
 *   java -Donnxruntime.native.path=&lt;task&gt;/native/onnxruntime -cp '&lt;task&gt;/lib/*:test-classes' \
 *       dev.unmask.functions.LambdaNativesLoad models/tiny-llada/tokenizer.json     (ENGINE_CACHE_DIR=&lt;task&gt;/native/djl)
 * </pre>
 */
public final class LambdaNativesLoad {

    public static void main(String[] args) throws Exception {
        // what Engine.open does first: the ONNX Runtime environment loads libonnxruntime and its JNI library
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        System.out.println("onnxruntime " + env.getVersion());
        // the engine's tokenizer: DJL's binding, whose first use loads libtokenizers
        try (Tokenizer tokenizer = Tokenizer.load(Path.of(args[0]))) {
            System.out.println("tokens " + Arrays.toString(tokenizer.encode("Hello", false)));
        }
    }

    private LambdaNativesLoad() {}
}
