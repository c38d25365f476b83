package io.fiber.benchmarks.echo;

import io.fiber.benchmarks.runner.CommandLine;

import io.fiber.load.ClientLoop;
import io.fiber.load.ClosedLoopLoad;
import io.fiber.load.EchoConnection;
import io.fiber.load.LatencyHistogram;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The echo benchmark's load driver, a program of its own so it runs in a separate JVM (and on its
 * own core) from the server it measures.
 *
 * <pre>
 * java -cp benchmarks.jar io.fiber.benchmarks.echo.EchoLoadDriver --port P [--host 127.0.0.1]
 *     [--connections 1] [--idle 0] [--warmup 5] [--duration 10] [--threads CPUS] [--hold-until-stdin-eof]
 * </pre>
 *
 * It opens {@code --idle} connections that stay silent, then {@code --connections} active ones, and
 * runs the active ones as a closed-loop load ({@link ClosedLoopLoad}, the harness the demo uses too):
 * each has one {@link EchoConnection#MESSAGE_SIZE}-byte message in flight, checked byte for byte when
 * its echo is back. Only round trips completed in the measured period (after {@code --warmup}) count,
 * and their latencies go into a {@link LatencyHistogram}. A wrong echo, or any other client failure,
 * ends the run and fails it.
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
        List<EchoConnection> connections = new ArrayList<>();
        try {
            long connectStart = System.nanoTime();
            for (int i = 0; i < config.idleConnections(); i++) {
                connections.add(EchoConnection.open(server, -1 - i)); // never sends: only holds the server's memory
            }
            List<EchoConnection> active = new ArrayList<>();
            for (int i = 0; i < config.connections(); i++) {
                EchoConnection connection = EchoConnection.open(server, i);
                connections.add(connection);
                active.add(connection);
            }
            print(out, String.format(Locale.ROOT, "%s active=%d idle=%d in %d ms", CONNECTED, config.connections(),
                    config.idleConnections(), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - connectStart)));

            List<ClientLoop> clients = active.size() == 1
                    ? List.of(ClientLoop.blocking(active.getFirst()))
                    : EchoConnection.selectorLoops(active, config.threads());
            ClosedLoopLoad.Result load = ClosedLoopLoad.run(clients, config.warmup(), config.duration(),
                    ClosedLoopLoad.OnFailure.STOP_THE_RUN, new ClosedLoopLoad.Phases() {
                        @Override
                        public void measuring() {
                            print(out, MEASURE_START);
                        }

                        @Override
                        public void measured() {
                            print(out, MEASURE_END);
                        }
                    });
            if (load.firstFailure() != null) {
                throw new IOException("a client connection failed", load.firstFailure());
            }
            LatencyHistogram latencies = load.latency();
            Result result = new Result(load.roundTrips(), load.seconds(), latencies.percentile(50), latencies.percentile(99),
                    latencies.percentile(99.9), latencies.max());
            print(out, result.line());
            if (config.holdUntilStdinEof()) {
                System.in.transferTo(OutputStream.nullOutputStream());
            }
            return result;
        } finally {
            connections.forEach(EchoConnection::close);
        }
    }

    private static void print(PrintStream out, String line) {
        out.println(line);
        out.flush();
    }
}
