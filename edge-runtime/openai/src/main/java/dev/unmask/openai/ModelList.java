package dev.unmask.openai;

import java.util.List;

/** {@code GET /v1/models}: {@code {"object": "list", "data": [{"id", "object": "model", "created", "owned_by"}]}}. */
public record ModelList(String object, List<Model> data) {

    public ModelList {
        data = List.copyOf(data);
    }

    public static ModelList of(List<Model> data) {
        return new ModelList("list", data);
    }

    /** {@code GET /v1/models/{id}}. */
    public record Model(String id, String object, long created, String ownedBy) {
        public static Model of(String id, long created, String ownedBy) {
            return new Model(id, "model", created, ownedBy);
        }
    }
}
