package dev.unmask.engine.request;

/**
 * How a surface names the request's fields in its messages: the one field-to-name table of the command line, of the
 * OpenAI API, and the engine's own ({@link #ENGINE}).
 */
public interface Phrasing {

    /** The field as the surface's user knows it, e.g. {@code --steps} or {@code 'steps'}. */
    String name(RequestField field);

    /** An example setting, e.g. {@code --steps 32} or {@code "steps": 32}. */
    String example(RequestField field, String value);

    /** The engine's names ({@code gen_length}, {@code steps}, ...), for callers of the engine itself. */
    Phrasing ENGINE = new Phrasing() {
        @Override
        public String name(RequestField field) {
            return field.id();
        }

        @Override
        public String example(RequestField field, String value) {
            return field.id() + " " + value;
        }
    };
}
