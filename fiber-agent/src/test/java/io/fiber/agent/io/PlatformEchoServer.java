package io.fiber.agent.io;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Echoes every connection of a listening socket (plain or TLS) back to its sender, on platform
 * threads, so that only the test's bodies run on fibers or virtual threads.
 */
final class PlatformEchoServer implements AutoCloseable {
    private final ServerSocket listener;
    private final Thread acceptor;
    private final List<Socket> connections = new CopyOnWriteArrayList<>();
    private final List<Thread> echoers = new CopyOnWriteArrayList<>();

    PlatformEchoServer(ServerSocket listener) {
        this.listener = listener;
        this.acceptor = Thread.ofPlatform().name("echo-acceptor").start(this::acceptLoop);
    }

    int port() {
        return listener.getLocalPort();
    }

    private void acceptLoop() {
        try {
            while (true) {
                Socket s = listener.accept();
                connections.add(s);
                echoers.add(Thread.ofPlatform().name("echo").start(() -> echo(s)));
            }
        } catch (IOException closed) {
            // close() closed the listener
        }
    }

    /** Echoes one connection until its peer closes it; also run on fibers by tests that echo there. */
    static void echo(Socket s) {
        try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
            in.transferTo(out);
        } catch (IOException gone) {
            // the client went away, or close() closed the connection: the client's checks report it
        }
    }

    @Override
    public void close() throws IOException, InterruptedException {
        listener.close();
        acceptor.join();
        for (Socket s : connections) {
            s.close();
        }
        for (Thread t : echoers) {
            t.join();
        }
    }
}
