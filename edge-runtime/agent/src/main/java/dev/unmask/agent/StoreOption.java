package dev.unmask.agent;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --store}: where installed models live; shared by the store commands and every command taking a model. */
public final class StoreOption {

    @Option(
            names = "--store",
            paramLabel = "<folder>",
            description = "the model store (default: $UNMASK_HOME/models, else the platform's data folder, "
                    + "e.g. ~/.local/share/unmask/models on Linux)")
    Path store;

    public ModelStore open() {
        return new ModelStore(store != null ? store : ModelStore.defaultRoot());
    }
}
