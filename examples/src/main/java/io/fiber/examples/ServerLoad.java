package io.fiber.examples;

import io.fiber.FiberScheduler;
import io.fiber.SchedulerStats;
import io.fiber.internal.bridge.FiberBridge;
import io.fiber.detector.BlockingCall;
import io.fiber.detector.BlockingCallDetector;
import io.fiber.detector.BlockingCategory;
import io.fiber.load.BlockingClient;
import io.fiber.load.ClientLoop;
import io.fiber.load.ClosedLoopLoad;
import io.fiber.load.EchoConnection;
import io.fiber.load.LatencyHistogram;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.IntStream;

/**
 * The demo's second part: the {@link EchoServerExample} and the {@link HttpServerExample}, each on a fiber
 * scheduler of its own, under a closed-loop load ({@link ClosedLoopLoad}, the harness the echo
 * benchmark's driver uses too) from clients on platform threads of this same JVM, one thread per
 * client. The HTTP server's clients are two groups at once: {@code GET /hello}, and
 * {@code GET /db?id=N}, a query of the {@link DemoDatabase} whose answer each client checks against
 * the row it asked for. For each load it prints the throughput, the latency percentiles, the errors
 * and the server scheduler's statistics; then whether the agent rerouted the fibers' socket waits
 * into the carriers' epoll reactors, which the scheduler counts as {@code io waits}, and what the
 * blocking-call detector flagged in the servers' fibers.
 *
 * <p>Checks: no client errors (a wrong database answer is one), some round trips, every server
 * fiber ended once its server stopped, and, when the agent is loaded, io waits above zero. Without
 * the agent (the tests run so) the socket waits go through the JDK's pollers, io waits stay at 0,
 * and that is reported, not failed. Blocking calls the detector flags are reported, not failed: a
 * database given with {@code --db} may have a driver that blocks.
 */
final class ServerLoad {
    static final int ECHO_CONNECTIONS = 100;
    /** HTTP clients in all, half of them on {@code /hello}, half on {@code /db}. */
    static final int HTTP_CLIENTS = 50;
    static final int HELLO_CLIENTS = HTTP_CLIENTS / 2;
    static final int DB_CLIENTS = HTTP_CLIENTS - HELLO_CLIENTS;
    static final Duration WARM_UP = Duration.ofMillis(500);
    private static final String ECHO = "echo";
    private static final String HTTP = "http";

    private final int carriers;
    private final Duration measured;
    private final DemoDatabase.Settings database;
    private final PrintStream out;
    private final List<String> problems = new ArrayList<>();
    private final List<BlockingCall> flagged = new CopyOnWriteArrayList<>();

    ServerLoad(int carriers, Duration measured, DemoDatabase.Settings database, PrintStream out) {
        this.carriers = carriers;
        this.measured = measured;
        this.database = database;
        this.out = out;
    }

    /**
     * Opens the database, runs both loads, prints them, and returns 0 when every check passed, else 1.
     *
     * @throws SQLException when the database cannot be opened (before any load runs)
     */
    int runAndCheck() throws IOException, SQLException, InterruptedException {
        BlockingCallDetector detector = BlockingCallDetector.get();
        try (DemoDatabase db = DemoDatabase.open(database);
             AutoCloseable listener = detector.isAvailable() ? detector.addListener(this::flaggedInAServer) : null) {
            out.printf(Locale.ROOT, "load: servers on fibers, clients on platform threads of this JVM;"
                    + " %.1f s warm-up, then %d s measured, per server%n", WARM_UP.toMillis() / 1e3, measured.toSeconds());
            SchedulerStats echo = loadEchoServer();
            SchedulerStats http = loadHttpServer(db);
            reportRerouting(echo.ioWaits(), http.ioWaits());
            if (detector.isAvailable()) {
                reportFlagged(detector.mode());
            }
        } catch (IOException | SQLException | InterruptedException | RuntimeException e) {
            throw e;
        } catch (Exception e) { // only the listener's close() declares it; it throws nothing
            throw new IllegalStateException(e);
        }
        if (problems.isEmpty()) {
            out.println("OK: no errors under load, every server fiber ended");
        } else {
            problems.forEach(p -> out.println("FAILED: " + p));
        }
        return problems.isEmpty() ? 0 : 1;
    }

    private SchedulerStats loadEchoServer() throws IOException, InterruptedException {
        FiberScheduler scheduler = FiberScheduler.builder().name(ECHO).carriers(carriers).build();
        try (scheduler; EchoServerExample server = new EchoServerExample(scheduler)) {
            InetSocketAddress address = new InetSocketAddress(InetAddress.getLoopbackAddress(), server.start(0));
            List<EchoConnection> connections = new ArrayList<>();
            try {
                for (int i = 0; i < ECHO_CONNECTIONS; i++) {
                    connections.add(EchoConnection.open(address, i));
                }
                ClosedLoopLoad.Result result = load(connections.stream().map(ClientLoop::blocking).toList());
                report("echo", ECHO_CONNECTIONS + " connections x " + EchoConnection.MESSAGE_SIZE + "-byte round trips",
                        "round trips", result);
            } finally {
                connections.forEach(EchoConnection::close);
            }
        }
        return checkAllEnded(scheduler);
    }

    /**
     * The clients use {@link HttpURLConnection}, which keeps connections alive in a JVM-wide cache of
     * {@code http.maxConnections} idle connections per server, 5 unless set: raised to one per client
     * (before the first use, when the cache reads it), so no client opens a connection per request.
     * ({@code java.net.http.HttpClient} was tried too: from 50 threads on a small machine it capped the
     * run at under 1,000 requests/s, so it measured the client rather than the server.)
     */
    private SchedulerStats loadHttpServer(DemoDatabase db) throws IOException, InterruptedException {
        System.setProperty("http.maxConnections", Integer.toString(HTTP_CLIENTS));
        FiberScheduler scheduler = FiberScheduler.builder().name(HTTP).carriers(carriers).build();
        try (scheduler; HttpServerExample server = new HttpServerExample(scheduler, db.dataSource())) {
            String base = "http://127.0.0.1:" + server.start(0);
            URL hello = URI.create(base + "/hello").toURL();
            BlockingClient getHello = () -> expect(hello, "hello from a fiber\n");
            BlockingClient getItem = () -> {
                int id = ThreadLocalRandom.current().nextInt(1, DemoDatabase.ROWS + 1);
                expect(URI.create(base + "/db?id=" + id).toURL(), DemoDatabase.answer(id));
            };
            FutureTask<ClosedLoopLoad.Result> items = new FutureTask<>(() -> load(times(DB_CLIENTS, getItem)));
            Thread.ofPlatform().name("db-load").start(items);
            ClosedLoopLoad.Result helloResult = load(times(HELLO_CLIENTS, getHello));
            ClosedLoopLoad.Result itemResult;
            try {
                itemResult = items.get();
            } catch (ExecutionException e) {
                throw new IllegalStateException("the /db load failed outside its clients", e.getCause());
            }
            report(HTTP, HELLO_CLIENTS + " clients x GET /hello, keep-alive", "requests", helloResult);
            report("db", DB_CLIENTS + " clients x GET /db?id=N at the same time, each answer checked (" + db.description() + ")",
                    "requests", itemResult);
        }
        return checkAllEnded(scheduler);
    }

    /**
     * The clients' run: a warm-up, then the measured seconds. A client that fails stops, and the
     * others go on, so the report says how many of them failed.
     */
    private ClosedLoopLoad.Result load(List<ClientLoop> clients) throws InterruptedException {
        return ClosedLoopLoad.run(clients, WARM_UP, measured, ClosedLoopLoad.OnFailure.CARRY_ON, ClosedLoopLoad.Phases.NONE);
    }

    /** {@code count} clients on threads of their own, each making the requests of {@code client}, which holds no state. */
    private static List<ClientLoop> times(int count, BlockingClient client) {
        return IntStream.range(0, count).mapToObj(i -> ClientLoop.blocking(client)).toList();
    }

    /** One request; throws unless the status is 200 and the body is {@code expected}. */
    static void expect(URL url, String expected) throws IOException {
        HttpURLConnection request = (HttpURLConnection) url.openConnection();
        int status = request.getResponseCode();
        String body;
        try (InputStream in = status < 400 ? request.getInputStream() : request.getErrorStream()) {
            body = in == null ? "" : new String(in.readAllBytes(), StandardCharsets.UTF_8); // read to the end: the connection is reused
        }
        if (status != 200 || !body.equals(expected)) {
            throw new IOException("GET " + url.getFile() + " answered " + status + " '" + body.strip() + "', expected '"
                    + expected.strip() + "'");
        }
    }

    private void report(String server, String load, String unit, ClosedLoopLoad.Result r) {
        out.printf(Locale.ROOT, "  %-5s %s: %,.0f %s/s, errors %d%s%n", server, load, r.roundTripsPerSecond(), unit,
                r.failedClients(), r.firstFailure() == null ? "" : " (first: " + r.firstFailure() + ")");
        out.printf(Locale.ROOT, "        latency %s (%,d samples)%n", percentiles(r.latency()), r.latency().count());
        if (r.failedClients() > 0) {
            problems.add(server + ": " + r.failedClients() + " of " + r.clients() + " clients failed, the first with "
                    + r.firstFailure());
        }
        if (r.roundTrips() == 0) {
            problems.add(server + ": no round trip completed in " + measured.toSeconds() + " s");
        }
    }

    /** The latency line's percentiles, in milliseconds: {@code p50 0.09  p90 4.19  p99 11.90  p99.9 29.41  max 91.05 ms}. */
    static String percentiles(LatencyHistogram latency) {
        return String.format(Locale.ROOT, "p50 %s  p90 %s  p99 %s  p99.9 %s  max %s ms", millis(latency.percentile(50)),
                millis(latency.percentile(90)), millis(latency.percentile(99)), millis(latency.percentile(99.9)),
                millis(latency.max()));
    }

    private static String millis(long nanos) {
        return String.format(Locale.ROOT, "%.2f", nanos / 1e6);
    }

    /** The scheduler's statistics, printed, once it is closed; a fiber still alive is a problem. */
    private SchedulerStats checkAllEnded(FiberScheduler scheduler) {
        SchedulerStats stats = scheduler.stats();
        out.print(stats);
        if (stats.fibersAlive() != 0) {
            problems.add(stats.fibersAlive() + " fibers of scheduler " + stats.name() + " still alive after its server stopped");
        }
        return stats;
    }

    /**
     * The HTTP server's fibers seldom wait on a socket whatever the agent does: the JDK's
     * {@code HttpServer} waits for each request on its own dispatcher thread and hands the exchange
     * to a fiber once the request has arrived. The echo server's fibers wait for every message.
     */
    private void reportRerouting(long echoIoWaits, long httpIoWaits) {
        if (!FiberBridge.isBridged()) {
            out.println("agent rerouted the servers' socket I/O: no, not launched with -javaagent:fiber-agent.jar"
                    + " (./run demo does that); socket waits went through the JDK's poller threads");
        } else if (echoIoWaits + httpIoWaits > 0) {
            out.printf(Locale.ROOT, "agent rerouted the servers' socket I/O: yes, io waits > 0: %,d echo and %,d HTTP"
                    + " fiber socket waits went to their carriers' epoll reactors%n", echoIoWaits, httpIoWaits);
        } else {
            problems.add("the agent is loaded, yet no fiber socket wait reached a carrier's reactor (io waits 0)");
        }
    }

    /** Collects a call the detector flagged on a carrier of the echo or the HTTP server. */
    private void flaggedInAServer(BlockingCall call) {
        String carrier = call.carrier();
        if (carrier != null && (carrier.startsWith(ECHO + "-carrier-") || carrier.startsWith(HTTP + "-carrier-"))) {
            flagged.add(call);
        }
    }

    /**
     * What the detector flagged in the servers' fibers: nothing, unless a driver given with
     * {@code --db} blocks. Long runs are counted apart: on a machine this small, CPU starvation alone
     * makes some.
     */
    private void reportFlagged(BlockingCallDetector.Mode mode) {
        List<BlockingCall> blocking = flagged.stream().filter(c -> c.category() != BlockingCategory.LONG_RUN).toList();
        long longRuns = flagged.size() - blocking.size();
        String runs = longRuns == 0 ? "" : String.format(Locale.ROOT, " (and %,d long run(s) without yielding)", longRuns);
        if (blocking.isEmpty()) {
            out.println("detector (" + mode.name().toLowerCase(Locale.ROOT) + " mode): no blocking call flagged in the"
                    + " servers' fibers" + runs);
        } else {
            out.printf(Locale.ROOT, "detector (%s mode): %,d blocking call(s) flagged in the servers' fibers%s, the first: %s"
                    + " (a driver that blocks in native code or file I/O needs FiberCompat.offloadingDataSource)%n",
                    mode.name().toLowerCase(Locale.ROOT), blocking.size(), runs, blocking.getFirst().message());
        }
    }
}
