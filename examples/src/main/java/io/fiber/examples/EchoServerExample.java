package io.fiber.examples;

import io.fiber.Fiber;
import io.fiber.FiberScheduler;
import io.fiber.FiberScope;
import io.fiber.Fibers;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;

/**
 * An echo server written as plain blocking {@code java.net} code, one fiber per connection: a fiber
 * accepts connections and forks a fiber for each, which copies what it reads back to the sender.
 * Nothing in the connection code knows about fibers. Under the agent
 * ({@code -javaagent:fiber-agent.jar}) the fibers' blocking accept, read and write wait in their
 * carrier's epoll reactor instead of on the JDK's poller threads; the scheduler's {@code io waits}
 * counters show it.
 *
 * <p>The connection fibers live in a {@link FiberScope} owned by the accept fiber, so when
 * {@link #stop} closes the listening socket the scope cancels the connections still open and waits
 * for their fibers: none outlives the server.
 *
 * <p>From the command line: {@code ./run example echo [port]} (0 or none: a free port), then for
 * example {@code nc 127.0.0.1 PORT}. In-process: {@code int port = new EchoServerExample(scheduler).start(0)}.
 * It listens on the loopback address only.
 */
public final class EchoServerExample implements AutoCloseable {
    private static final int BACKLOG = 1024;

    private final FiberScheduler scheduler;
    private ServerSocket listener;
    private Fiber<Void> acceptor;

    /** A server whose fibers run on {@code scheduler}; the caller owns (and closes) the scheduler. */
    public EchoServerExample(FiberScheduler scheduler) {
        this.scheduler = scheduler;
    }

    public static void main(String[] args) throws IOException, InterruptedException {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 0;
        FiberScheduler scheduler = Fibers.defaultScheduler();
        EchoServerExample server = new EchoServerExample(scheduler);
        System.out.println("echo server listening on 127.0.0.1:" + server.start(port) + ", one fiber per connection; Ctrl-C stops it");
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.stop();
            System.out.print("echo server stopped\n" + scheduler.stats());
        }));
        server.awaitStop();
    }

    /**
     * Listens on {@code port} of the loopback address (0: a free port) and starts accepting.
     *
     * @return the port it listens on
     */
    public synchronized int start(int port) throws IOException {
        if (listener != null) {
            throw new IllegalStateException("echo server already started on port " + listener.getLocalPort());
        }
        listener = new ServerSocket(port, BACKLOG, InetAddress.getLoopbackAddress());
        acceptor = scheduler.spawn("echo-acceptor", () -> {
            acceptConnections();
            return null;
        });
        return listener.getLocalPort();
    }

    private void acceptConnections() {
        try (FiberScope connections = FiberScope.open(scheduler, null)) {
            while (true) {
                Socket connection = listener.accept();
                connections.fork(() -> echo(connection));
            }
        } catch (IOException e) {
            if (!listener.isClosed()) {
                System.err.println("echo server: accept failed, stopping: " + e);
            }
        }
    }

    /** Sends back everything the client sends, until it closes the connection or the server stops. */
    private static void echo(Socket connection) {
        try (connection) {
            connection.setTcpNoDelay(true);
            connection.getInputStream().transferTo(connection.getOutputStream());
        } catch (IOException gone) {
            // the client reset the connection, or stop() cancelled this fiber, which closed the socket
        }
    }

    /** Waits until the server has stopped: {@link #stop}, or a failed accept. */
    public void awaitStop() throws InterruptedException {
        acceptor.join();
    }

    /**
     * Stops accepting, closes the open connections and waits until every fiber of the server has
     * ended. Idempotent; does nothing if the server never started.
     */
    public synchronized void stop() {
        if (listener == null) {
            return;
        }
        try {
            listener.close();
        } catch (IOException e) {
            System.err.println("echo server: closing the listener failed: " + e);
        }
        boolean interrupted = false;
        while (!acceptor.isDone()) {
            try {
                acceptor.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        stop();
    }
}
