package dev.unmask.packager.quant;

import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * A weight-only quantization scheme for {@code com.microsoft::MatMulNBits}: code width, block size along
 * K, symmetric or with zero points, and the {@code accuracy_level} the node is emitted with.
 *
 * <p>CLI spelling ({@link #parse}, {@link #toString}): {@code <bits>[:block=N][:sym|:asym][:acc=L]}, options
 * in any order, e.g. {@code int4}, {@code int8}, {@code int4:block=128:asym}, {@code int4:acc=fp32}.
 * Defaults are onnxruntime-genai's: block 32, symmetric, accuracy level 4 (int8 activations on CPU).
 */
public record QuantScheme(
        QuantBits bits, int blockSize, Symmetry symmetry, AccuracyLevel accuracyLevel, boolean integerGemm) {

    /** Block sizes offered: ORT accepts any power of two ≥ 16; these are the ones we test and publish. */
    public static final Set<Integer> BLOCK_SIZES = Set.of(32, 64, 128);

    /**
     * {@code block=channel}: one scale per output channel (the whole K), int8 symmetric only, emitted as
     * {@code com.microsoft::DynamicQuantizeMatMul} instead of MatMulNBits ({@link ChannelInt8Weights}): the activations
     * are quantized to uint8 per tensor at run time and the product runs in MLAS's u8s8 integer GEMM (AVX-512 VNNI,
     * AMX where the CPU has it), which on the 200 M model is several times faster than both fp32 and MatMulNBits'
     * int8-compute kernel (docs/benchmarks.md, "Quantized compute").
     */
    public static final int PER_CHANNEL = 0;

    public static final int DEFAULT_BLOCK_SIZE = 32;
    public static final AccuracyLevel DEFAULT_ACCURACY_LEVEL = AccuracyLevel.INT8;

    static final String EXAMPLES =
            "int4, int8, int4:block=128, int4:block=64:asym, int8:acc=fp32, int8:block=channel, int4:qgemm";

    public static final QuantScheme INT4 =
            new QuantScheme(QuantBits.INT4, DEFAULT_BLOCK_SIZE, Symmetry.SYMMETRIC, DEFAULT_ACCURACY_LEVEL);
    public static final QuantScheme INT8 =
            new QuantScheme(QuantBits.INT8, DEFAULT_BLOCK_SIZE, Symmetry.SYMMETRIC, DEFAULT_ACCURACY_LEVEL);

    /** A MatMulNBits scheme (or, for {@link #PER_CHANNEL}, the int8 integer GEMM). */
    public QuantScheme(QuantBits bits, int blockSize, Symmetry symmetry, AccuracyLevel accuracyLevel) {
        this(bits, blockSize, symmetry, accuracyLevel, blockSize == PER_CHANNEL);
    }

    /**
     * @param integerGemm {@code :qgemm} (int4) or {@code block=channel} (int8): the product runs in
     *     {@code DynamicQuantizeMatMul}'s u8s8 integer GEMM instead of MatMulNBits; int4 blocks are MatMulNBits'
     *     codes and scales, stored as native {@code INT4} and turned into per-channel int8 by constant-folded graph
     *     nodes at session creation ({@link ChannelInt8Weights#linearFromSignedInt4})
     */
    public QuantScheme {
        Objects.requireNonNull(bits, "quantization scheme needs bits (int4 or int8)");
        Objects.requireNonNull(symmetry, "quantization scheme needs a symmetry (sym or asym)");
        Objects.requireNonNull(accuracyLevel, "quantization scheme needs an accuracy level (0..4)");
        if (blockSize == PER_CHANNEL) {
            if (bits != QuantBits.INT8 || symmetry != Symmetry.SYMMETRIC || accuracyLevel != AccuracyLevel.INT8) {
                throw new IllegalArgumentException("block=channel is int8, symmetric, int8 compute only"
                        + " (DynamicQuantizeMatMul), e.g. int8:block=channel; for " + bits.label()
                        + " use block=32, 64 or 128, e.g. " + bits.label() + ":block=32");
            }
            if (!integerGemm) {
                throw new IllegalArgumentException("block=channel runs in the integer GEMM, e.g. int8:block=channel");
            }
        } else if (integerGemm
                && (bits != QuantBits.INT4 || symmetry != Symmetry.SYMMETRIC || accuracyLevel != AccuracyLevel.INT8)) {
            throw new IllegalArgumentException("qgemm is int4, symmetric, int8 compute (e.g. int4:qgemm);"
                    + " for int8 the integer GEMM is int8:block=channel");
        } else if (!BLOCK_SIZES.contains(blockSize)) {
            throw new IllegalArgumentException("Block size " + blockSize + " is not allowed: use 32, 64 or 128,"
                    + " e.g. " + bits.label() + ":block=" + (blockSize > 64 ? 128 : 32));
        }
    }

    /** True for {@code block=channel}: per-output-channel int8, {@code DynamicQuantizeMatMul}. */
    public boolean perChannel() {
        return blockSize == PER_CHANNEL;
    }

    /**
     * Parses the CLI spelling. Throws {@link IllegalArgumentException} with a message that names the bad
     * part and shows correct examples.
     */
    public static QuantScheme parse(String text) {
        if (text == null || text.isBlank()) {
            throw bad(text, "it is empty");
        }
        String[] parts = text.trim().toLowerCase(Locale.ROOT).split(":", -1);
        QuantBits bits = QuantBits.fromLabel(parts[0]);
        if (bits == null) {
            throw bad(text, "'" + parts[0] + "' is not a bit width; start with int4 or int8");
        }
        Integer blockSize = null;
        Symmetry symmetry = null;
        AccuracyLevel accuracy = null;
        boolean qgemm = false;
        for (int i = 1; i < parts.length; i++) {
            String part = parts[i];
            if (part.equals("sym") || part.equals("asym")) {
                if (symmetry != null) {
                    throw bad(text, "sym/asym given twice");
                }
                symmetry = part.equals("sym") ? Symmetry.SYMMETRIC : Symmetry.ASYMMETRIC;
            } else if (part.equals("qgemm")) {
                qgemm = true;
            } else if (part.startsWith("block=")) {
                if (blockSize != null) {
                    throw bad(text, "block= given twice");
                }
                String value = part.substring("block=".length());
                if (value.equals("channel")) {
                    blockSize = PER_CHANNEL;
                    continue;
                }
                try {
                    blockSize = Integer.parseInt(value);
                } catch (NumberFormatException e) {
                    throw bad(
                            text,
                            "block='" + value + "' is not a number; use block=32, block=64, block=128"
                                    + " or block=channel (int8)");
                }
                if (!BLOCK_SIZES.contains(blockSize)) {
                    throw bad(text, "block size " + blockSize + " is not allowed; use block=32, block=64 or block=128");
                }
            } else if (part.startsWith("acc=")) {
                if (accuracy != null) {
                    throw bad(text, "acc= given twice");
                }
                String value = part.substring("acc=".length());
                accuracy = AccuracyLevel.parse(value);
                if (accuracy == null) {
                    throw bad(
                            text,
                            "acc='" + value + "' is not an accuracy level;"
                                    + " use acc=0..4 or acc=unset|fp32|fp16|bf16|int8");
                }
            } else {
                throw bad(
                        text,
                        "unknown option '" + part + "'; options are block=32|64|128|channel, sym, asym, acc=0..4,"
                                + " qgemm");
            }
        }
        try {
            int block = blockSize == null ? DEFAULT_BLOCK_SIZE : blockSize;
            return new QuantScheme(
                    bits,
                    block,
                    symmetry == null ? Symmetry.SYMMETRIC : symmetry,
                    accuracy == null ? DEFAULT_ACCURACY_LEVEL : accuracy,
                    qgemm || block == PER_CHANNEL);
        } catch (IllegalArgumentException e) {
            throw bad(text, e.getMessage());
        }
    }

    private static IllegalArgumentException bad(String text, String why) {
        return new IllegalArgumentException(
                "Bad quantization scheme '" + text + "': " + why + ". Examples: " + EXAMPLES);
    }

    public QuantScheme withAccuracyLevel(AccuracyLevel level) {
        return new QuantScheme(bits, blockSize, symmetry, level, integerGemm);
    }

    public QuantScheme withBlockSize(int size) {
        return new QuantScheme(bits, size, symmetry, accuracyLevel, integerGemm);
    }

    public QuantScheme withSymmetry(Symmetry s) {
        return new QuantScheme(bits, blockSize, s, accuracyLevel, integerGemm);
    }

    /** Number of blocks along K: {@code ceil(K / block_size)}; 1 for {@link #perChannel()}. */
    public int kBlocks(int k) {
        return perChannel() ? 1 : (k + blockSize - 1) / blockSize;
    }

    /** Canonical spelling, every option explicit, e.g. {@code int4:block=32:sym:acc=4}; parses back to this. */
    @Override
    public String toString() {
        return bits.label() + ":block=" + (perChannel() ? "channel" : Integer.toString(blockSize)) + ":"
                + symmetry.label() + ":acc=" + accuracyLevel.value() + (integerGemm && !perChannel() ? ":qgemm" : "");
    }
}
