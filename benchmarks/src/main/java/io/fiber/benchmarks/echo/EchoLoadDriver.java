package io.fiber.benchmarks.echo;

import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The echo benchmark's load driver, a program of its own so it runs in a separate JVM (and on its
 * own core) from the server it measures.
 *
 * <pre>
 * java -cp benchmarks.jar io.fiber.benchmarks.echo.EchoLoadDriver --port P [--host 127.0.0.1]
 *     [--connections 1] [--idle 0] [--warmup 5] [--duration 10] [--threads CPUS] [--hold-until-stdin-eof]
 * </pre>
 *
 * It opens {@code --idle} connections that stay silent, then {@code --connections} active ones. Each
 * active connection runs a closed loop with one message outstanding: send 64 bytes, wait for all 64 to
 * come back, check that they are byte for byte what was sent (each message carries its connection's
 * pattern and a sequence number, so a lost, reordered or mixed-up echo fails the run), then send the
 * next. Only round trips completed in the measured period (after {@code --warmup}) count, and their
 * latencies go into a {@link LatencyHistogram}.
 *
 * <p>The client must not be the bottleneck, so it uses the cheapest shape for the load: one thread in
 * blocking reads for a single connection (a ping-pong: no selector in the path), and otherwise one
 * NIO selector loop per thread ({@code --threads}, default the available processors) with the
 * connections spread over them, never a thread per connection.
 *
 * <p>Output, one line each, for the runner ({@link EchoBenchmark}) to act on: {@value #CONNECTED},
 * {@value #MEASURE_START}, {@value #MEASURE_END} (it samples the server's CPU time at these two), and
 * {@link Result#line()}. With {@code --hold-until-stdin-eof} the connections stay open after that
 * until standard input ends, so the runner can read the server's memory with every connection still
 * up. Connections are closed with {@code SO_LINGER 0}, so a run leaves no sockets in TIME_WAIT.
 */
public final class EchoLoadDriver {
    public static final String CONNECTED = "connected";
    public static final String MEASURE_START = "measure-start";
    public static final String MEASURE_END = "measure-end";
    /** The first word of the result line. */
    public static final String RESULT = "result";
    /** How long the end of a run waits for a client thread before it closes the connections under it. */
    private static final Duration STOP_GRACE = Duration.ofSeconds(10);

    private EchoLoadDriver() { }

    /** What to run; see the class comment for the options. */
    public record Config(String host, int port, int connections, int idleConnections, Duration warmup, Duration duration,
                         int threads, boolean holdUntilStdinEof) {
        public Config {
            if (port <= 0 || connections < 1 || idleConnections < 0 || threads < 1) {
                throw new IllegalArgumentException("need --port > 0, --connections >= 1, --idle >= 0, --threads >= 1");
            }
        }

        static Config parse(String[] args) {
            CommandLine line = CommandLine.parse(args,
                    Set.of("--host", "--port", "--connections", "--idle", "--warmup", "--duration", "--threads"),
                    Set.of("--hold-until-stdin-eof"));
            return new Config(line.string("--host", "127.0.0.1"), line.integer("--port", 0),
                    line.integer("--connections", 1), line.integer("--idle", 0),
                    line.seconds("--warmup", Duration.ofSeconds(5)), line.seconds("--duration", Duration.ofSeconds(10)),
                    line.integer("--threads", Runtime.getRuntime().availableProcessors()),
                    line.flag("--hold-until-stdin-eof"));
        }
    }

    /** The measured period: round trips, their rate and latency percentiles. */
    public record Result(long roundTrips, double seconds, long p50Nanos, long p99Nanos, long p999Nanos, long maxNanos) {
        public double roundTripsPerSecond() {
            return roundTrips / seconds;
        }

        /** The line the driver prints; {@link #parse} reads it back. */
        public String line() {
            return String.format(Locale.ROOT, "%s round_trips=%d seconds=%.3f rt_per_s=%.1f p50_ns=%d p99_ns=%d p999_ns=%d max_ns=%d",
                    RESULT, roundTrips, seconds, roundTripsPerSecond(), p50Nanos, p99Nanos, p999Nanos, maxNanos);
        }

        public static Result parse(String line) {
            Map<String, String> fields = new HashMap<>();
            for (String word : line.trim().split(" +")) {
                int eq = word.indexOf('=');
                if (eq > 0) {
                    fields.put(word.substring(0, eq), word.substring(eq + 1));
                }
            }
            try {
                return new Result(Long.parseLong(fields.get("round_trips")), Double.parseDouble(fields.get("seconds")),
                        Long.parseLong(fields.get("p50_ns")), Long.parseLong(fields.get("p99_ns")),
                        Long.parseLong(fields.get("p999_ns")), Long.parseLong(fields.get("max_ns")));
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("not a driver result line: " + line, e);
            }
        }
    }

    public static void main(String[] args) {
        Config config;
        try {
            config = Config.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("echo driver: " + e.getMessage());
            System.err.println("usage: EchoLoadDriver --port P [--host H] [--connections N] [--idle N] [--warmup S] [--duration S]"
                    + " [--threads N] [--hold-until-stdin-eof]");
            System.exit(2);
            return;
        }
        try {
            run(config, System.out);
        } catch (Exception e) {
            System.err.println("echo driver failed: " + e);
            System.exit(1);
        }
        System.exit(0);
    }

    /** Runs the load as {@code config} says, printing the progress lines and the result line to {@code out}. */
    public static Result run(Config config, PrintStream out) throws IOException, InterruptedException {
        InetSocketAddress server = new InetSocketAddress(config.host(), config.port());
        List<SocketChannel> channels = new ArrayList<>();
        RunControl control = new RunControl();
        List<Thread> threads = new ArrayList<>();
        try {
            long connectStart = System.nanoTime();
            for (int i = 0; i < config.idleConnections(); i++) {
                channels.add(SocketChannel.open(server));
            }
            List<Connection> active = new ArrayList<>();
            for (int i = 0; i < config.connections(); i++) {
                SocketChannel channel = SocketChannel.open(server);
                channels.add(channel);
                channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
                active.add(new Connection(i, channel));
            }
            print(out, String.format(Locale.ROOT, "%s active=%d idle=%d in %d ms", CONNECTED, config.connections(),
                    config.idleConnections(), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - connectStart)));

            List<ClientLoop> loops = clientLoops(active, config.threads(), control);
            for (int i = 0; i < loops.size(); i++) {
                threads.add(Thread.ofPlatform().name("echo-driver-" + i).start(loops.get(i)));
            }
            control.throwIfFailedWithin(config.warmup());
            control.startMeasuring();
            long start = System.nanoTime();
            print(out, MEASURE_START);
            control.throwIfFailedWithin(config.duration());
            control.stop();
            double seconds = (System.nanoTime() - start) / 1e9;
            print(out, MEASURE_END);
            if (!joinOrClose(threads, channels)) {
                throw new IOException("no echo for " + STOP_GRACE.toSeconds() + " s after the measured period: the server stopped answering");
            }
            control.throwIfFailedWithin(Duration.ZERO);

            LatencyHistogram latencies = new LatencyHistogram();
            long roundTrips = 0;
            for (ClientLoop loop : loops) {
                latencies.add(loop.latencies);
                roundTrips += loop.roundTrips;
            }
            Result result = new Result(roundTrips, seconds, latencies.percentile(50), latencies.percentile(99),
                    latencies.percentile(99.9), latencies.max());
            print(out, result.line());
            if (config.holdUntilStdinEof()) {
                System.in.transferTo(OutputStream.nullOutputStream());
            }
            return result;
        } finally {
            control.stop();
            joinOrClose(threads, channels);
            closeWithReset(channels);
        }
    }

    /** One blocking client for a single connection; otherwise up to {@code threads} selector loops sharing the connections. */
    private static List<ClientLoop> clientLoops(List<Connection> active, int threads, RunControl control) {
        if (active.size() == 1) {
            return List.of(new BlockingClient(active.getFirst(), control));
        }
        int loopCount = Math.min(threads, active.size());
        List<List<Connection>> shares = new ArrayList<>();
        for (int i = 0; i < loopCount; i++) {
            shares.add(new ArrayList<>());
        }
        for (Connection c : active) {
            shares.get(c.id % loopCount).add(c);
        }
        List<ClientLoop> loops = new ArrayList<>();
        for (List<Connection> share : shares) {
            loops.add(new SelectorClient(share, control));
        }
        return loops;
    }

    private static void print(PrintStream out, String line) {
        out.println(line);
        out.flush();
    }

    /**
     * Waits for the client threads. A thread still blocked after {@link #STOP_GRACE} (waiting for an
     * echo that does not come) is freed by closing the sockets under it, and the result is false.
     */
    private static boolean joinOrClose(List<Thread> threads, List<SocketChannel> channels) throws InterruptedException {
        long deadline = System.nanoTime() + STOP_GRACE.toNanos();
        for (Thread t : threads) {
            t.join(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
        }
        if (threads.stream().noneMatch(Thread::isAlive)) {
            return true;
        }
        closeWithReset(channels);
        for (Thread t : threads) {
            t.join();
        }
        return false;
    }

    private static void closeWithReset(List<SocketChannel> channels) {
        for (SocketChannel channel : channels) {
            try {
                if (channel.isOpen()) {
                    channel.setOption(StandardSocketOptions.SO_LINGER, 0);
                    channel.close();
                }
            } catch (IOException e) {
                // Closing anyway; nothing more to do for this socket.
            }
        }
    }

    /** The run's phase, shared by the main thread and the client threads, and the first failure of any client. */
    private static final class RunControl {
        private static final int WARMING_UP = 0;
        private static final int MEASURING = 1;
        private static final int STOPPED = 2;

        private volatile int phase = WARMING_UP;
        private final AtomicReference<Throwable> failure = new AtomicReference<>();
        private final CountDownLatch failed = new CountDownLatch(1);

        boolean measuring() {
            return phase == MEASURING;
        }

        boolean stopped() {
            return phase == STOPPED;
        }

        void startMeasuring() {
            phase = MEASURING;
        }

        void stop() {
            phase = STOPPED;
        }

        void fail(Throwable t) {
            if (!stopped() && failure.compareAndSet(null, t)) {
                failed.countDown();
            }
        }

        /** Waits {@code period}, or less if a client fails, and then throws that failure. */
        void throwIfFailedWithin(Duration period) throws IOException, InterruptedException {
            if (failed.await(period.toNanos(), TimeUnit.NANOSECONDS)) {
                throw new IOException("a client connection failed", failure.get());
            }
        }
    }

    /** One active connection's closed loop: the message in flight, its echo, and when it was sent. */
    private static final class Connection {
        final int id;
        final SocketChannel channel;
        private final byte[] messageBytes = new byte[EchoBenchmarkServer.MESSAGE_SIZE];
        private final byte[] echoBytes = new byte[EchoBenchmarkServer.MESSAGE_SIZE];
        private final ByteBuffer message = ByteBuffer.wrap(messageBytes);
        private final ByteBuffer echo = ByteBuffer.wrap(echoBytes);
        private long sequence;
        private long sentAt;

        Connection(int id, SocketChannel channel) {
            this.id = id;
            this.channel = channel;
            for (int i = Long.BYTES; i < messageBytes.length; i++) {
                messageBytes[i] = (byte) (id * 31 + i);
            }
        }

        /**
         * Sends the next message. One message is in flight per connection and the last one was echoed
         * in full, so the socket's send buffer has room and the write loop never spins in practice.
         */
        void send() throws IOException {
            message.clear();
            message.putLong(0, ++sequence);
            sentAt = System.nanoTime();
            while (message.hasRemaining()) {
                channel.write(message);
            }
        }

        /** Reads what the socket has; true once the whole echo is in. Blocks only on a blocking channel. */
        boolean receive() throws IOException {
            if (channel.read(echo) < 0) {
                throw new EOFException("connection " + id + ": the server closed it");
            }
            return !echo.hasRemaining();
        }

        /** Checks the complete echo against the message and returns the round trip's latency in ns. */
        long verifyEcho() throws IOException {
            long latency = System.nanoTime() - sentAt;
            if (!Arrays.equals(messageBytes, echoBytes)) {
                throw new IOException("connection " + id + ": the echo of message " + sequence + " differs from what was sent");
            }
            echo.clear();
            return latency;
        }
    }

    /** A client thread: its connections' round trips, counted (with latencies) only while measuring. */
    private abstract static class ClientLoop implements Runnable {
        final RunControl control;
        final LatencyHistogram latencies = new LatencyHistogram();
        long roundTrips;

        ClientLoop(RunControl control) {
            this.control = control;
        }

        final void completed(long latencyNanos) {
            if (control.measuring()) {
                roundTrips++;
                latencies.record(latencyNanos);
            }
        }

        @Override
        public final void run() {
            try {
                exchangeUntilStopped();
            } catch (UncheckedIOException e) {
                control.fail(e.getCause());
            } catch (Exception | Error e) {
                control.fail(e);
            }
        }

        abstract void exchangeUntilStopped() throws IOException;
    }

    /** Ping-pong on one connection with blocking reads: the lowest-latency client for a single connection. */
    private static final class BlockingClient extends ClientLoop {
        private final Connection connection;

        BlockingClient(Connection connection, RunControl control) {
            super(control);
            this.connection = connection;
        }

        @Override
        void exchangeUntilStopped() throws IOException {
            while (!control.stopped()) {
                connection.send();
                boolean complete;
                do {
                    complete = connection.receive();
                } while (!complete);
                completed(connection.verifyEcho());
            }
        }
    }

    /** Many connections on one NIO selector: a read-ready connection completes its round trip and sends the next message. */
    private static final class SelectorClient extends ClientLoop {
        private static final long SELECT_TIMEOUT_MS = 100;
        private final List<Connection> connections;

        SelectorClient(List<Connection> connections, RunControl control) {
            super(control);
            this.connections = connections;
        }

        @Override
        void exchangeUntilStopped() throws IOException {
            try (Selector selector = Selector.open()) {
                for (Connection c : connections) {
                    c.channel.configureBlocking(false);
                    c.channel.register(selector, SelectionKey.OP_READ, c);
                }
                for (Connection c : connections) {
                    c.send();
                }
                while (!control.stopped()) {
                    selector.select(this::onReadable, SELECT_TIMEOUT_MS);
                }
            }
        }

        private void onReadable(SelectionKey key) {
            Connection c = (Connection) key.attachment();
            try {
                if (c.receive()) {
                    completed(c.verifyEcho());
                    c.send();
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
