package dev.unmask.agent;

import dev.unmask.engine.request.Phrasing;
import dev.unmask.engine.request.RequestField;

/**
 * The command line's names for the engine's request fields: the one table that makes the planner's violations read
 * as flags ({@code --steps must be ..., e.g. --steps 32; got 33}).
 */
enum CliFields implements Phrasing {
    /** generate, run, bench: the length is {@code --gen-length} */
    GENERATE("--gen-length"),
    /** infill with {@code --length} */
    INFILL("--length");

    private final String lengthFlag;

    CliFields(String lengthFlag) {
        this.lengthFlag = lengthFlag;
    }

    @Override
    public String name(RequestField field) {
        return switch (field) {
            case PROMPT -> "the prompt";
            case LENGTH -> lengthFlag;
            case BLOCK_LENGTH -> "--block-length";
            case STEPS -> "--steps";
            case TEMPERATURE -> "--temperature";
            case TOP_K -> "--top-k";
            case TOP_P -> "--top-p";
            case CFG_SCALE -> "--cfg-scale";
            case THRESHOLD -> "--threshold";
            case FACTOR -> "--factor";
            case MAX_TOKENS -> "--max-tokens";
            case STOP -> "--stop";
            case REMASKING -> "--remasking";
            case CONFIDENCE -> "--confidence";
            case ALG -> "--alg";
            case ALG_TEMP -> "--alg-temp";
            case EPS -> "--eps";
            case RESPONSE_SCHEMA -> "--json-schema";
            case CACHE -> "--cache";
            case CACHE_REFRESH -> "--cache-refresh";
        };
    }

    @Override
    public String example(RequestField field, String value) {
        if (field == RequestField.RESPONSE_SCHEMA) {
            return "--json-schema FILE holding " + value;
        }
        return field == RequestField.PROMPT ? value : name(field) + " " + value;
    }
}
