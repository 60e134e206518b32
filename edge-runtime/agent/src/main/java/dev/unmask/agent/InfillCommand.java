package dev.unmask.agent;

import dev.unmask.engine.Engine;
import dev.unmask.engine.Generation;
import dev.unmask.engine.decode.DenoisingListener;
import dev.unmask.engine.request.DecodingPlan;
import dev.unmask.engine.request.GenerationRequest;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
        name = "infill",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Write the middle between a prefix and a suffix, or fill the <|mdm_mask|> placeholders of a text.",
            "Prints the middle (with --whole: prefix, middle and suffix) to stdout.",
            "Example: unmask infill --prefix $'def square(x):\\n' --suffix $'\\n\\ndef cube(x):\\n' --length 16"
        })
final class InfillCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--prefix", paramLabel = "<text>", description = "the text before the middle")
    String prefix;

    @Option(names = "--suffix", paramLabel = "<text>", description = "the text after the middle")
    String suffix;

    @Option(
            names = "--length",
            defaultValue = "0",
            paramLabel = "<tokens>",
            description =
                    "tokens in the middle; 0 = automatic (--gen-length, end-of-text tokens dropped) (default: ${DEFAULT-VALUE})")
    int length;

    @Option(
            names = "--text",
            paramLabel = "<text>",
            description = "instead of --prefix/--suffix: a text whose <|mdm_mask|> tokens are filled, all else kept")
    String text;

    @Option(names = "--whole", description = "print prefix + middle + suffix instead of the middle only")
    boolean whole;

    @Mixin
    OutputArgs output;

    @Mixin
    ModelOptions model;

    @Mixin
    DecodingArgs decoding;

    @Override
    public Integer call() {
        if (length < 0) {
            throw new IllegalArgumentException(
                    "--length must be 0 (automatic) or positive, e.g. --length 16; got " + length);
        }
        if (text == null && (prefix == null || suffix == null)) {
            throw new IllegalArgumentException(
                    "Give --prefix and --suffix (e.g. --prefix 'def f(x):' --suffix 'return y'), "
                            + "or --text with <|mdm_mask|> placeholders");
        }
        if (text != null && (prefix != null || suffix != null)) {
            throw new IllegalArgumentException("Use either --text or --prefix/--suffix, not both");
        }
        output.applyLogLevel();
        try (Engine engine = model.open()) {
            output.check(engine);
            GenerationRequest request = decoding.request(
                    text != null
                            ? new GenerationRequest.Prompt.Placeholders(text)
                            : new GenerationRequest.Prompt.Infill(prefix, suffix));
            if (length > 0) {
                request = request.toBuilder().length(length).build();
            }
            DecodingPlan plan = DecodingArgs.plan(engine, request, length > 0 ? CliFields.INFILL : CliFields.GENERATE);
            Generation g = engine.run(plan, DenoisingListener.NONE);
            String shown = g.text();
            if (whole) {
                shown = text != null ? engine.tokenizer().decode(g.denoised().canvas()) : prefix + g.text() + suffix;
            }
            output.report(spec, g, shown, engine);
            return ExitCodes.OK;
        }
    }
}
