package io.fiber.examples;

import com.sun.net.httpserver.Filter;
import com.sun.net.httpserver.HttpContext;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import io.fiber.AdmissionPolicy;
import io.fiber.FiberRejectedException;
import io.fiber.FiberScheduler;
import io.fiber.Fibers;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import javax.sql.DataSource;

/**
 * The JDK's own {@link HttpServer} with one fiber per exchange: its executor is
 * {@code exchange -> scheduler.spawn(exchange)}, so the handlers are ordinary blocking code that runs
 * in fibers. Endpoints:
 *
 * <ul>
 *   <li>{@code GET /hello}: {@code hello from a fiber};</li>
 *   <li>{@code GET /sleep?ms=N}: sleeps N ms (0 to 10,000) in the fiber, then answers
 *       {@code slept N ms}; thousands can sleep at once, each costs a parked fiber only;</li>
 *   <li>{@code POST /echo}: answers with the request body;</li>
 *   <li>{@code GET /db?id=N}: looks item N up in the database ({@link DemoDatabase}: a query through
 *       a pooled connection, in the fiber) and answers {@code item N: item-N, P cents}; 404 when
 *       there is no such item, 503 when the server has no database;</li>
 *   <li>{@code GET /file}: answers with a small file the server wrote at start, read with
 *       {@code Files.readString} in the fiber: file I/O holds the carrier, and this is the handler
 *       the blocking-call detector flags (the demo's {@code --show-detector}).</li>
 *   <li>{@code GET /work?ms=M&kb=K}: a request that costs something while in flight: it holds a
 *       buffer of K KiB (0 to 65,536) and computes over it for about M ms of CPU (0 to 10,000), in
 *       slices of about 1 ms with a yield between them, so requests in flight share the carriers;
 *       answers {@code worked M ms over K KiB}. What {@code ./run bench overload} loads.</li>
 * </ul>
 *
 * <p>With {@code --max-fibers N} (a scheduler built with {@code maxLiveFibers}) at most N exchanges
 * are in flight. At the bound the policy decides: {@code N:reject} (the default here) answers
 * {@code 503 Service Unavailable} at once, written by the JDK's dispatcher thread itself, so a
 * refused client gets a clean answer; {@code N:wait} makes the dispatcher wait for an exchange to end
 * (back pressure: new connections then wait in the kernel's accept queue); {@code N:wait=Tms} waits
 * at most T ms, then answers 503.
 *
 * The server's dispatcher, a platform thread of the JDK's, accepts connections and waits for each
 * request to arrive; the fiber then reads the request, runs the handler and writes the response.
 *
 * <p>From the command line: {@code ./run example http [port] [--db JDBC-URL --db-user U --db-password P]}
 * (port 0 or none: a free one; no {@code --db}: an in-memory H2 database), then for example
 * {@code curl 127.0.0.1:PORT/hello}. In-process:
 * {@code int port = new HttpServerExample(scheduler, dataSource).start(0)}. It listens on the
 * loopback address only.
 */
public final class HttpServerExample implements AutoCloseable {
    static final int MAX_SLEEP_MS = 10_000;
    private static final int BACKLOG = 1024;
    /** How long {@link #stop} lets exchanges in flight finish before it closes their connections. */
    private static final int STOP_GRACE_SECONDS = 1;

    static final String FILE_CONTENT = "served by a handler that blocks its carrier on file I/O\n";

    static final String USAGE = "usage: HttpServerExample [port] [--max-fibers N[:reject|:wait|:wait=Tms]] [--work-rounds R] ["
            + DemoDatabase.Settings.OPTIONS + "]";
    static final int MAX_WORK_MS = 10_000;
    static final int MAX_WORK_KB = 65_536;
    /** Set on the dispatcher thread while it answers an exchange that the bound on live fibers refused. */
    private static final ThreadLocal<FiberRejectedException> REFUSED = new ThreadLocal<>();

    private final FiberScheduler scheduler;
    private final DataSource database;
    private HttpServer server;
    private Path file;

    /** A server without a database ({@code /db} answers 503) whose exchanges run on fibers of {@code scheduler}. */
    public HttpServerExample(FiberScheduler scheduler) {
        this(scheduler, null);
    }

    /**
     * A server whose exchanges run on fibers of {@code scheduler} and whose {@code /db} queries
     * {@code database} (null: none); the caller owns (and closes) both.
     */
    public HttpServerExample(FiberScheduler scheduler, DataSource database) {
        this.scheduler = scheduler;
        this.database = database;
    }

    /** The dispatcher is not a daemon thread, so the JVM runs until Ctrl-C. */
    public static void main(String[] args) throws IOException {
        int port = 0;
        DemoDatabase.Settings settings = DemoDatabase.Settings.IN_MEMORY_H2;
        String maxFibers = null;
        try {
            for (int i = 0; i < args.length; i++) {
                if (args[i].equals("--max-fibers")) {
                    if (i + 1 == args.length) {
                        throw new IllegalArgumentException("option --max-fibers needs a value");
                    }
                    maxFibers = args[++i];
                    boundedScheduler(maxFibers).close(); // checks the value now
                } else if (args[i].equals("--work-rounds")) {
                    if (i + 1 == args.length) {
                        throw new IllegalArgumentException("option --work-rounds needs a value");
                    }
                    int rounds = Integer.parseInt(args[++i]);
                    if (rounds < 1) {
                        throw new IllegalArgumentException("option --work-rounds needs 1 or more, not " + rounds);
                    }
                    WorkUnit.fix(rounds);
                } else if (DemoDatabase.Settings.isOption(args[i])) {
                    if (i + 1 == args.length) {
                        throw new IllegalArgumentException("option " + args[i] + " needs a value");
                    }
                    settings = settings.with(args[i], args[++i]);
                } else {
                    port = Integer.parseInt(args[i]);
                }
            }
            settings = settings.checked();
        } catch (IllegalArgumentException e) { // NumberFormatException included
            System.err.println("HttpServerExample: " + e.getMessage() + "\n" + USAGE);
            System.exit(2);
        }
        DemoDatabase db;
        try {
            db = DemoDatabase.open(settings);
        } catch (SQLException e) {
            System.err.println("HttpServerExample: " + e.getMessage());
            System.exit(1);
            return;
        }
        FiberScheduler scheduler = maxFibers == null ? Fibers.defaultScheduler() : boundedScheduler(maxFibers);
        HttpServerExample server = new HttpServerExample(scheduler, db.dataSource());
        port = server.start(port);
        System.out.println("HTTP server listening on http://127.0.0.1:" + port + "/ (/hello, /sleep?ms=N, POST /echo,"
                + " /file, /work?ms=M&kb=K, /db?id=1.." + DemoDatabase.ROWS + " on " + db.description() + "), one fiber per exchange"
                + (maxFibers == null ? "" : ", at most " + scheduler.maxLiveFibers() + " at once (" + scheduler.admissionPolicy() + ")")
                + "; a /work unit is " + WorkUnit.rounds() + " hash rounds; Ctrl-C stops it");
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.stop();
            db.close();
            System.out.print("HTTP server stopped\n" + scheduler.stats());
        }));
    }

    /** A scheduler with the bound of {@code --max-fibers N[:reject|:wait|:wait=Tms]}; reject when no policy is given. */
    static FiberScheduler boundedScheduler(String value) {
        String[] parts = value.split(":", 2);
        int max;
        try {
            max = Integer.parseInt(parts[0]);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--max-fibers " + value + ": N must be a whole number");
        }
        String policy = parts.length == 1 ? "reject" : parts[1];
        AdmissionPolicy admission;
        if (policy.equals("reject")) {
            admission = AdmissionPolicy.REJECT;
        } else if (policy.equals("wait")) {
            admission = AdmissionPolicy.WAIT;
        } else if (policy.matches("wait=[0-9]{1,7}ms")) {
            admission = AdmissionPolicy.waitAtMost(Duration.ofMillis(Long.parseLong(policy.substring(5, policy.length() - 2))));
        } else {
            throw new IllegalArgumentException("--max-fibers " + value + ": the policy must be reject, wait or wait=Tms");
        }
        return FiberScheduler.builder().name("http").maxLiveFibers(max, admission).build();
    }

    /**
     * Listens on {@code port} of the loopback address (0: a free port) and starts serving.
     *
     * @return the port it listens on
     */
    public synchronized int start(int port) throws IOException {
        if (server != null) {
            throw new IllegalStateException("HTTP server already started on port " + server.getAddress().getPort());
        }
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), BACKLOG);
        server.setExecutor(exchange -> {
            try {
                scheduler.spawn(exchange);
            } catch (FiberRejectedException refused) {
                refuse(exchange, refused);
            }
        });
        context("/hello", HttpServerExample::hello);
        context("/sleep", HttpServerExample::sleep);
        context("/echo", HttpServerExample::echo);
        context("/db", this::lookUp);
        context("/work", HttpServerExample::work);
        file = Files.createTempFile("fiber-http-example", ".txt");
        Files.writeString(file, FILE_CONTENT);
        Path served = file;
        context("/file", exchange -> respond(exchange, 200, Files.readString(served)));
        WorkUnit.calibrate();
        warmUpDateHeader();
        server.start();
        return server.getAddress().getPort();
    }

    /** A context whose exchanges, when the bound on live fibers refused them, are answered 503 instead. */
    private void context(String path, HttpHandler handler) {
        HttpContext context = server.createContext(path, handler);
        context.getFilters().add(new Filter() {
            @Override
            public void doFilter(HttpExchange exchange, Chain chain) throws IOException {
                FiberRejectedException refused = REFUSED.get();
                if (refused == null) {
                    chain.doFilter(exchange);
                    return;
                }
                exchange.getResponseHeaders().set("Connection", "close");
                exchange.getResponseHeaders().set("Retry-After", "1");
                respond(exchange, 503, "busy: " + refused.maxLiveFibers() + " requests in flight already; try again\n");
            }

            @Override
            public String description() {
                return "503 for exchanges the bound on live fibers refused";
            }
        });
    }

    /**
     * Answers an exchange the bound refused, on the dispatcher thread that handed it over: the
     * request is read and answered 503 by the filter above, a few microseconds of work, so the
     * client learns at once rather than from a connection dropped or a timeout.
     */
    private static void refuse(Runnable exchange, FiberRejectedException refused) {
        REFUSED.set(refused);
        try {
            exchange.run();
        } finally {
            REFUSED.remove();
        }
    }

    /**
     * Formats one {@code Date} header the way the JDK's server does, here on the starting thread: the
     * first one loads the JDK's time-zone names, over 100 ms on a cold JVM, and in the first request's
     * fiber the detector's long-run report would show it (a run that holds its carrier that long).
     */
    private static void warmUpDateHeader() {
        DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss zzz", Locale.US)
                .withZone(ZoneId.of("GMT"))
                .format(Instant.now());
    }

    /**
     * Stops accepting, lets the exchanges in flight finish (for a second at most) and closes the
     * connections. Idempotent; does nothing if the server never started.
     */
    public synchronized void stop() {
        if (server != null) {
            server.stop(STOP_GRACE_SECONDS);
            try {
                Files.deleteIfExists(file);
            } catch (IOException e) {
                // a temporary file left behind is harmless
            }
        }
    }

    @Override
    public void close() {
        stop();
    }

    private static void hello(HttpExchange exchange) throws IOException {
        respond(exchange, 200, Fibers.inFiber() ? "hello from a fiber\n" : "hello from a thread that is not a fiber\n");
    }

    private static void sleep(HttpExchange exchange) throws IOException {
        int ms = sleepMillis(exchange.getRequestURI().getQuery());
        if (ms < 0) {
            respond(exchange, 400, "usage: /sleep?ms=N with N from 0 to " + MAX_SLEEP_MS + "\n");
            return;
        }
        try {
            Fibers.sleep(Duration.ofMillis(ms));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("sleep interrupted: the server is stopping");
        }
        respond(exchange, 200, "slept " + ms + " ms\n");
    }

    private static void work(HttpExchange exchange) throws IOException {
        int ms = queryParameter(exchange.getRequestURI().getQuery(), "ms");
        int kb = queryParameter(exchange.getRequestURI().getQuery(), "kb");
        if (ms < 0 || ms > MAX_WORK_MS || kb < 0 || kb > MAX_WORK_KB) {
            respond(exchange, 400, "usage: /work?ms=M&kb=K with M from 0 to " + MAX_WORK_MS + " and K from 0 to " + MAX_WORK_KB + "\n");
            return;
        }
        byte[] held = new byte[kb * 1024];
        long sum = 0;
        for (int i = 0; i < ms; i++) {
            sum += WorkUnit.run(held, i);
            Thread.yield(); // a fiber's yield: requests in flight share the carriers
        }
        respond(exchange, 200, "worked " + ms + " ms over " + kb + " KiB" + (sum == 42 ? "!" : "") + "\n");
    }

    /** About 1 ms of CPU over a buffer: a hash of its bytes, repeated as often as a millisecond took at start. */
    static final class WorkUnit {
        private static volatile int rounds = 1;
        /** Set by {@code --work-rounds}: the unit is that many rounds, not what a millisecond took at start. */
        private static volatile boolean fixed;

        private WorkUnit() { }

        /**
         * Makes a unit {@code n} rounds wherever the server starts: a benchmark that starts servers one
         * after another passes the first one's calibration, so a busier moment does not make later
         * servers' units smaller and their requests cheaper.
         */
        static void fix(int n) {
            rounds = n;
            fixed = true;
        }

        static int rounds() {
            return rounds;
        }

        /** Measures, on the starting thread, how many rounds of the hash take about 1 ms here (unless {@link #fix fixed}). */
        static void calibrate() {
            if (fixed) {
                return;
            }
            byte[] sample = new byte[4096];
            long warm = System.nanoTime();
            for (int i = 0; System.nanoTime() - warm < 300_000_000; i++) { // until the JIT has compiled it
                hash(sample, i);
            }
            long start = System.nanoTime();
            int n = 0;
            while (System.nanoTime() - start < 20_000_000) {
                hash(sample, n++);
            }
            rounds = Math.max(1, n / 20);
        }

        /** One unit: touches every page of {@code held} (so it is resident) and hashes 4 KiB {@code rounds} times. */
        static long run(byte[] held, int salt) {
            for (int i = 0; i < held.length; i += 4096) {
                held[i] = (byte) (held[i] + salt);
            }
            byte[] block = new byte[4096];
            long sum = 0;
            for (int r = 0; r < rounds; r++) {
                sum += hash(block, salt + r);
            }
            return sum;
        }

        private static long hash(byte[] block, int salt) {
            long h = salt;
            for (byte b : block) {
                h = h * 31 + b;
            }
            block[salt & (block.length - 1)] = (byte) h;
            return h;
        }
    }

    /** The number N of {@code name=N} among a query's {@code &}-separated parameters, or -1. */
    static int queryParameter(String query, String name) {
        if (query == null) {
            return -1;
        }
        for (String part : query.split("&")) {
            if (part.startsWith(name + "=")) {
                return queryNumber(part, name + "=");
            }
        }
        return -1;
    }

    /** N of a query {@code ms=N}, or -1 when the query is missing, malformed or out of range. */
    static int sleepMillis(String query) {
        int ms = queryNumber(query, "ms=");
        return ms <= MAX_SLEEP_MS ? ms : -1;
    }

    /** The number N of a query {@code name=N}, or -1 when the query is missing, malformed or negative. */
    private static int queryNumber(String query, String name) {
        if (query == null || !query.startsWith(name)) {
            return -1;
        }
        try {
            return Math.max(-1, Integer.parseInt(query.substring(name.length())));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private void lookUp(HttpExchange exchange) throws IOException {
        if (database == null) {
            respond(exchange, 503, "this server has no database\n");
            return;
        }
        int id = queryNumber(exchange.getRequestURI().getQuery(), "id=");
        if (id < 0) {
            respond(exchange, 400, "usage: /db?id=N with N from 1 to " + DemoDatabase.ROWS + "\n");
            return;
        }
        String answer;
        try {
            answer = DemoDatabase.lookUp(database, id);
        } catch (SQLException e) {
            respond(exchange, 500, "database error: " + e.getMessage() + "\n");
            return;
        }
        if (answer == null) {
            respond(exchange, 404, "no item " + id + "\n");
        } else {
            respond(exchange, 200, answer);
        }
    }

    private static void echo(HttpExchange exchange) throws IOException {
        if (!exchange.getRequestMethod().equals("POST")) {
            exchange.getResponseHeaders().set("Allow", "POST");
            respond(exchange, 405, "use POST: the response is the request body\n");
            return;
        }
        byte[] body = exchange.getRequestBody().readAllBytes();
        exchange.getResponseHeaders().set("Content-Type", "application/octet-stream");
        send(exchange, 200, body);
    }

    private static void respond(HttpExchange exchange, int status, String text) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
        send(exchange, status, text.getBytes(StandardCharsets.UTF_8));
    }

    /** Sends the status and body, and ends the exchange. */
    private static void send(HttpExchange exchange, int status, byte[] body) throws IOException {
        try (exchange) {
            exchange.sendResponseHeaders(status, body.length == 0 ? -1 : body.length); // 0 would mean chunked
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        }
    }
}
