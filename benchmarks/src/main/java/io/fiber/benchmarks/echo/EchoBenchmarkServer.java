package io.fiber.benchmarks.echo;

import io.fiber.FiberScheduler;
import io.fiber.Fibers;
import io.fiber.load.EchoConnection;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Locale;
import java.util.concurrent.Executor;

/**
 * The server side of the echo benchmark: it reads the load's {@link EchoConnection#MESSAGE_SIZE}-byte
 * messages and writes each one back.
 * The blocking modes read through a buffer, as blocking protocol code does.
 *
 * <pre>
 * java -cp benchmarks.jar io.fiber.benchmarks.echo.EchoBenchmarkServer MODE PORT [READ_BUFFER]    (PORT 0: any free port)
 * </pre>
 *
 * The modes differ only in what runs a connection:
 * <ul>
 *   <li>{@code fiber}: one fiber per connection on the default {@link FiberScheduler} ({@link Fibers#spawn},
 *       carriers = available processors). Needs the JDK hook (the agent or {@code --add-opens
 *       java.base/java.lang=ALL-UNNAMED}); without it the server refuses to start rather than measure
 *       the JDK's scheduler under our name;</li>
 *   <li>{@code vthread}: one JDK virtual thread per connection on the JDK's default scheduler;</li>
 *   <li>{@code platform}: one platform thread per connection, 256 KiB stacks;</li>
 *   <li>{@code netty}: Netty with native epoll ({@link NettyEchoServer}).</li>
 * </ul>
 * The three blocking modes run the same plain {@link ServerSocket}/{@link Socket} code,
 * {@link #echoUntilClosed}, and their accept loop runs on a fiber/thread of the same kind.
 *
 * <p>As a program it prints one line starting with {@value #READY} once it listens (with the port),
 * then serves until its standard input reaches end-of-file or it gets a signal.
 */
public final class EchoBenchmarkServer implements AutoCloseable {
    /**
     * The blocking modes' default read buffer: big enough that a message is a short read, as in any
     * buffered protocol reader, and small enough (10 MB for 10,000 idle connections) that the idle
     * scenario still measures the runtimes rather than the buffers. A third argument sets another
     * (the JDK's default for a {@code BufferedInputStream} is 8 KiB; a server that reads through
     * 16 KiB holds 160 MB of buffers for 10,000 idle connections, on every runtime alike).
     */
    static final int READ_BUFFER_SIZE = 1024;
    /** The first word of the line a server process prints once it accepts connections. */
    public static final String READY = "ready";
    /** Room for a burst of connects (10,000 idle connections) while the accept loop catches up. */
    static final int ACCEPT_BACKLOG = 4096;
    private static final long PLATFORM_STACK_SIZE = 256 * 1024;

    public enum Mode {
        FIBER, VTHREAD, PLATFORM, NETTY;

        /** The mode's name on the command line. */
        public String argument() {
            return name().toLowerCase(Locale.ROOT);
        }

        public static Mode parse(String argument) {
            for (Mode m : values()) {
                if (m.argument().equals(argument)) {
                    return m;
                }
            }
            throw new IllegalArgumentException("unknown mode '" + argument + "': expected fiber, vthread, platform or netty");
        }
    }

    /** How a server of one kind stops accepting and lets go of its resources. */
    @FunctionalInterface
    interface Stopper {
        void stop() throws IOException;
    }

    private final int port;
    private final String description;
    private final Stopper stopper;

    EchoBenchmarkServer(int port, String description, Stopper stopper) {
        this.port = port;
        this.description = description;
        this.stopper = stopper;
    }

    /** Starts a server listening on {@code port} on all local addresses (0: any free port), with the default read buffer. */
    public static EchoBenchmarkServer start(Mode mode, int port) throws IOException, InterruptedException {
        return start(mode, port, READ_BUFFER_SIZE);
    }

    /** Starts a server whose blocking modes read through {@code readBuffer} bytes per connection (Netty sizes its own). */
    public static EchoBenchmarkServer start(Mode mode, int port, int readBuffer) throws IOException, InterruptedException {
        if (readBuffer < 1) {
            throw new IllegalArgumentException("the read buffer needs at least 1 byte, not " + readBuffer);
        }
        return switch (mode) {
            case FIBER -> {
                FiberScheduler scheduler = Fibers.defaultScheduler();
                if (!scheduler.usesOwnCarriers()) {
                    throw new IllegalStateException("mode fiber needs the fiber hook: launch with -javaagent:fiber-agent.jar"
                            + " or --add-opens java.base/java.lang=ALL-UNNAMED (else fibers run on the JDK's scheduler)");
                }
                String metrics = Boolean.getBoolean(METRICS_PROPERTY) ? ", " + scrapeMetricsEverySecond(scheduler) : "";
                yield startBlocking(port, readBuffer, task -> Fibers.spawn(task), "one fiber per connection, " + scheduler + metrics);
            }
            case VTHREAD -> startBlocking(port, readBuffer, task -> Thread.ofVirtual().start(task),
                    "one JDK virtual thread per connection, default scheduler");
            case PLATFORM -> startBlocking(port, readBuffer, task -> Thread.ofPlatform().daemon().stackSize(PLATFORM_STACK_SIZE).start(task),
                    "one platform thread per connection, " + PLATFORM_STACK_SIZE / 1024 + " KiB stacks");
            case NETTY -> NettyEchoServer.start(port);
        };
    }

    /** With this system property true, mode fiber runs with metrics on, as a production server would ({@link #scrapeMetricsEverySecond}). */
    public static final String METRICS_PROPERTY = "fiber.bench.metrics";

    /**
     * Metrics on: the scheduler's meters in Micrometer's Prometheus registry, scraped to text every
     * second by a platform thread as a Prometheus server would, and the MXBean registered (the
     * platform MBean server created). Returns what it did, for the ready line.
     */
    private static String scrapeMetricsEverySecond(FiberScheduler scheduler) {
        java.lang.management.ManagementFactory.getPlatformMBeanServer();
        var registry = new io.micrometer.prometheusmetrics.PrometheusMeterRegistry(io.micrometer.prometheusmetrics.PrometheusConfig.DEFAULT);
        new io.fiber.micrometer.FiberSchedulerMetrics(scheduler).bindTo(registry);
        Thread.ofPlatform().daemon().name("metrics-scraper").start(() -> {
            long bytes = 0;
            while (true) {
                bytes += registry.scrape().length();
                try {
                    Thread.sleep(1_000);
                } catch (InterruptedException e) {
                    return;
                }
                if (bytes < 0) {
                    System.out.println(bytes); // keeps the scrape's result used
                }
            }
        });
        return "metrics scraped every second (" + registry.getMeters().size() + " meters)";
    }

    /** Accepts on a task of {@code spawner}'s kind and serves each connection on a new one. */
    private static EchoBenchmarkServer startBlocking(int port, int readBuffer, Executor spawner, String description) throws IOException {
        ServerSocket serverSocket = new ServerSocket(port, ACCEPT_BACKLOG);
        spawner.execute(() -> acceptUntilClosed(serverSocket, readBuffer, spawner));
        return new EchoBenchmarkServer(serverSocket.getLocalPort(), description + ", " + readBuffer + "-byte read buffer",
                serverSocket::close);
    }

    private static void acceptUntilClosed(ServerSocket serverSocket, int readBuffer, Executor spawner) {
        while (true) {
            Socket connection;
            try {
                connection = serverSocket.accept();
            } catch (IOException e) {
                if (!serverSocket.isClosed()) {
                    System.err.println("echo server: accept failed, no more connections are accepted: " + e);
                }
                return;
            }
            spawner.execute(() -> echoUntilClosed(connection, readBuffer));
        }
    }

    /**
     * The one connection handler of the blocking modes: echoes whole messages until the peer closes.
     * It reads through a buffer, as blocking protocol code does (JDBC drivers, HTTP parsers): each
     * socket read asks for up to {@code readBuffer} bytes, as Netty's and the C server's ask for
     * more than a message.
     */
    static void echoUntilClosed(Socket connection, int readBuffer) {
        try (connection) {
            connection.setTcpNoDelay(true);
            InputStream in = new BufferedInputStream(connection.getInputStream(), readBuffer);
            OutputStream out = connection.getOutputStream();
            byte[] message = new byte[EchoConnection.MESSAGE_SIZE];
            while (in.readNBytes(message, 0, message.length) == message.length) {
                out.write(message);
            }
        } catch (IOException e) {
            // The peer reset the connection (the load driver closes with SO_LINGER 0): it is over.
        }
    }

    public int port() {
        return port;
    }

    /** What runs the connections, for the ready line and reports. */
    public String description() {
        return description;
    }

    /** Stops accepting; open connections end when their peers close them. */
    @Override
    public void close() throws IOException {
        stopper.stop();
    }

    public static void main(String[] args) throws Exception {
        Mode mode;
        int port;
        int readBuffer;
        try {
            if (args.length != 2 && args.length != 3) {
                throw new IllegalArgumentException("expected 2 or 3 arguments, got " + args.length);
            }
            mode = Mode.parse(args[0]);
            port = Integer.parseInt(args[1]);
            readBuffer = args.length == 3 ? Integer.parseInt(args[2]) : READ_BUFFER_SIZE;
        } catch (IllegalArgumentException e) {   // NumberFormatException included
            System.err.println("echo server: " + e.getMessage());
            System.err.println("usage: EchoBenchmarkServer fiber|vthread|platform|netty PORT [READ_BUFFER]   (PORT 0: any free port;"
                    + " READ_BUFFER: bytes per connection of the blocking modes, default " + READ_BUFFER_SIZE + ")");
            System.exit(2);
            return;
        }
        try (EchoBenchmarkServer server = start(mode, port, readBuffer)) {
            System.out.println(READY + " port=" + server.port() + " mode=" + mode.argument()
                    + " cpus=" + Runtime.getRuntime().availableProcessors() + " pid=" + ProcessHandle.current().pid()
                    + " (" + server.description() + ")");
            System.out.flush();
            System.in.transferTo(OutputStream.nullOutputStream());   // serve until the launcher closes our stdin
        }
        System.exit(0);
    }
}
