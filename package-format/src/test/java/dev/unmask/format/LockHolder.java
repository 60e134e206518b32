package dev.unmask.format;

import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A separate process that owns a folder as a writer does: it creates and locks {@code <folder>.lock}, creates the
 * folder, says "owned" and waits to be killed. The sweep tests run it to have a live owner in another process, and
 * kill it with {@code destroyForcibly} (SIGKILL) to have a dead one.
 */
public final class LockHolder {
    public static void main(String[] args) throws Exception {
        Path folder = Path.of(args[0]);
        FileChannel channel = FileChannel.open(
                folder.resolveSibling(folder.getFileName() + PackageFolders.LOCK_SUFFIX),
                StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE);
        if (channel.tryLock() == null) {
            throw new IllegalStateException("not locked");
        }
        java.nio.file.Files.createDirectories(folder.resolve("model.onnx.data.part"));
        System.out.println("owned");
        System.out.flush();
        Thread.sleep(120_000); // killed long before
    }
}
