package dev.unmask.agent;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.channels.SocketChannel;
import java.util.function.BooleanSupplier;

/**
 * Tells whether the client of a waiting exchange hung up, so that a whole (non-stream) answer nobody will read stops
 * costing the batch a place. A stream finds out when a write fails; a request that only waits writes nothing, and the
 * JDK server does not watch a connection while its handler runs, nor gives the handler its socket. So the socket is
 * taken from the server's own classes, which the jar's manifest opens ({@code Add-Opens:
 * jdk.httpserver/sun.net.httpserver}; tests: the surefire argLine), and asked with a 1 ms read: end of stream = gone.
 * Without that access (another launcher) the watch never fires and requests run to their end, as before.
 */
final class ClientWatch {

    /** How often a waiting request asks. */
    static final long POLL_MILLIS = 200;

    private static final Method CONNECTION; // ExchangeImpl.getConnection()
    private static final Method CHANNEL; // HttpConnection.getChannel()
    private static final Field IMPL; // HttpExchangeImpl.impl
    private static final Field CLOSE; // ExchangeImpl.close: close the connection after the answer

    static {
        Method connection = null;
        Method channel = null;
        Field impl = null;
        Field close = null;
        try {
            Class<?> exchangeImpl = Class.forName("sun.net.httpserver.ExchangeImpl");
            impl = Class.forName("sun.net.httpserver.HttpExchangeImpl").getDeclaredField("impl");
            connection = exchangeImpl.getDeclaredMethod("getConnection");
            close = exchangeImpl.getDeclaredField("close");
            channel = Class.forName("sun.net.httpserver.HttpConnection").getDeclaredMethod("getChannel");
            impl.setAccessible(true);
            connection.setAccessible(true);
            close.setAccessible(true);
            channel.setAccessible(true);
        } catch (ReflectiveOperationException | RuntimeException e) { // not opened: no watch
            connection = null;
        }
        CONNECTION = connection;
        CHANNEL = channel;
        IMPL = impl;
        CLOSE = close;
    }

    private ClientWatch() {}

    /** Whether this JVM lets the agent watch its clients (the manifest's or the argLine's Add-Opens). */
    static boolean available() {
        return CONNECTION != null;
    }

    /** A check that is true once the client of {@code exchange} has closed its end; never true when unavailable. */
    static BooleanSupplier of(HttpExchange exchange) {
        if (!available()) {
            return () -> false;
        }
        Object impl;
        Socket socket;
        try {
            impl = IMPL.get(exchange);
            socket = ((SocketChannel) CHANNEL.invoke(CONNECTION.invoke(impl))).socket();
        } catch (ReflectiveOperationException | RuntimeException e) {
            return () -> false;
        }
        boolean[] gone = {false};
        long[] asked = {0}; // a stream asks between every two events: probe the socket at most every POLL_MILLIS
        return () -> {
            if (gone[0]) {
                return true;
            }
            long now = System.nanoTime();
            if (now - asked[0] < POLL_MILLIS * 1_000_000 && asked[0] != 0) {
                return false;
            }
            asked[0] = now;
            try {
                // the request was read whole, so nothing is due on this connection but its end (or, from a client
                // that pipelines, the next request: then that byte is lost, and the connection closes after this
                // answer so that the client sends it again)
                socket.setSoTimeout(1);
                int b = socket.getInputStream().read();
                if (b >= 0) {
                    CLOSE.setBoolean(impl, true);
                    return false;
                }
                gone[0] = true;
            } catch (SocketTimeoutException e) {
                return false;
            } catch (IOException | ReflectiveOperationException | RuntimeException e) {
                gone[0] = true; // reset, or closed under us
            } finally {
                try {
                    socket.setSoTimeout(0);
                } catch (IOException ignored) {
                    // closed
                }
            }
            return gone[0];
        };
    }
}
