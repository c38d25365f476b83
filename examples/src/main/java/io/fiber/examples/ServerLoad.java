package io.fiber.examples;

import io.fiber.FiberScheduler;
import io.fiber.SchedulerStats;
import io.fiber.bridge.FiberBridge;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.URL;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The demo's second part: the {@link EchoServer} and the {@link HttpServerExample}, each on a fiber
 * scheduler of its own, under load from {@link LoadGenerator} clients on platform threads of this
 * same JVM. For each server it prints the throughput, the latency percentiles, the errors and the
 * server scheduler's statistics; then whether the agent rerouted the fibers' socket waits into the
 * carriers' epoll reactors, which the scheduler counts as {@code io waits}.
 *
 * <p>Checks: no client errors, some round trips, every server fiber ended once its server stopped,
 * and, when the agent is loaded, io waits above zero. Without the agent (the tests run so) the
 * socket waits go through the JDK's pollers, io waits stay at 0, and that is reported, not failed.
 */
final class ServerLoad {
    static final int ECHO_CONNECTIONS = 100;
    static final int ECHO_MESSAGE_BYTES = 64;
    static final int HTTP_CLIENTS = 50;
    static final Duration WARM_UP = Duration.ofMillis(500);

    private final int carriers;
    private final Duration measured;
    private final PrintStream out;
    private final List<String> problems = new ArrayList<>();

    ServerLoad(int carriers, Duration measured, PrintStream out) {
        this.carriers = carriers;
        this.measured = measured;
        this.out = out;
    }

    /** Runs both loads, prints them, and returns 0 when every check passed, else 1. */
    int runAndCheck() throws IOException {
        out.printf(Locale.ROOT, "load: servers on fibers, clients on platform threads of this JVM;"
                + " %.1f s warm-up, then %d s measured, per server%n", WARM_UP.toMillis() / 1e3, measured.toSeconds());
        SchedulerStats echo = loadEchoServer();
        SchedulerStats http = loadHttpServer();
        reportRerouting(echo.ioWaits(), http.ioWaits());
        if (problems.isEmpty()) {
            out.println("OK: no errors under load, every server fiber ended");
        } else {
            problems.forEach(p -> out.println("FAILED: " + p));
        }
        return problems.isEmpty() ? 0 : 1;
    }

    private SchedulerStats loadEchoServer() throws IOException {
        FiberScheduler scheduler = FiberScheduler.builder().name("echo").carriers(carriers).build();
        try (scheduler; EchoServer server = new EchoServer(scheduler)) {
            int port = server.start(0);
            LoadGenerator.Result result = LoadGenerator.run(ECHO_CONNECTIONS, WARM_UP, measured, () -> new EchoClient(port));
            report("echo", ECHO_CONNECTIONS + " connections x " + ECHO_MESSAGE_BYTES + "-byte round trips", "round trips", result);
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
    private SchedulerStats loadHttpServer() throws IOException {
        System.setProperty("http.maxConnections", Integer.toString(HTTP_CLIENTS));
        FiberScheduler scheduler = FiberScheduler.builder().name("http").carriers(carriers).build();
        try (scheduler; HttpServerExample server = new HttpServerExample(scheduler)) {
            URL hello = URI.create("http://127.0.0.1:" + server.start(0) + "/hello").toURL();
            LoadGenerator.Client getHello = () -> {
                HttpURLConnection request = (HttpURLConnection) hello.openConnection();
                int status = request.getResponseCode();
                String body;
                try (InputStream in = request.getInputStream()) { // reading it to the end frees the connection for reuse
                    body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                }
                if (status != 200 || !body.equals("hello from a fiber\n")) {
                    throw new IOException("GET /hello answered " + status + " '" + body + "'");
                }
            };
            LoadGenerator.Result result = LoadGenerator.run(HTTP_CLIENTS, WARM_UP, measured, () -> getHello);
            report("http", HTTP_CLIENTS + " clients x GET /hello, keep-alive", "requests", result);
        }
        return checkAllEnded(scheduler);
    }

    private void report(String server, String load, String unit, LoadGenerator.Result r) {
        out.printf(Locale.ROOT, "  %-5s %s: %,.0f %s/s, errors %d%s%n", server, load, r.perSecond(), unit, r.errors(),
                r.firstError() == null ? "" : " (first: " + r.firstError() + ")");
        out.printf(Locale.ROOT, "        latency %s (%,d samples)%n", r.latency(), r.latency().count());
        if (r.errors() > 0) {
            problems.add(server + ": " + r.errors() + " of " + r.clients() + " clients failed, the first with " + r.firstError());
        }
        if (r.roundTrips() == 0) {
            problems.add(server + ": no round trip completed in " + measured.toSeconds() + " s");
        }
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

    /** One echo connection; each round trip sends a numbered message and expects it back, byte for byte. */
    private static final class EchoClient implements LoadGenerator.Client {
        private final Socket socket;
        private final InputStream in;
        private final OutputStream out;
        private final byte[] message = new byte[ECHO_MESSAGE_BYTES];
        private long sent;

        EchoClient(int port) throws IOException {
            socket = new Socket(InetAddress.getLoopbackAddress(), port);
            socket.setTcpNoDelay(true);
            in = socket.getInputStream();
            out = socket.getOutputStream();
            Arrays.fill(message, (byte) 'x');
        }

        @Override
        public void call() throws IOException {
            ByteBuffer.wrap(message).putLong(0, ++sent);
            out.write(message);
            byte[] reply = in.readNBytes(message.length);
            if (!Arrays.equals(message, reply)) {
                throw new IOException("echo of message " + sent + " differs: sent " + message.length
                        + " bytes, got back " + reply.length + " that do not match");
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
