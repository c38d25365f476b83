package io.fiber.examples;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
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
 * </ul>
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

    static final String USAGE = "usage: HttpServerExample [port] [" + DemoDatabase.Settings.OPTIONS + "]";

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
        try {
            for (int i = 0; i < args.length; i++) {
                if (DemoDatabase.Settings.isOption(args[i])) {
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
        FiberScheduler scheduler = Fibers.defaultScheduler();
        HttpServerExample server = new HttpServerExample(scheduler, db.dataSource());
        port = server.start(port);
        System.out.println("HTTP server listening on http://127.0.0.1:" + port + "/ (/hello, /sleep?ms=N, POST /echo,"
                + " /file, /db?id=1.." + DemoDatabase.ROWS + " on " + db.description() + "), one fiber per exchange;"
                + " Ctrl-C stops it");
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.stop();
            db.close();
            System.out.print("HTTP server stopped\n" + scheduler.stats());
        }));
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
        server.setExecutor(exchange -> scheduler.spawn(exchange));
        server.createContext("/hello", HttpServerExample::hello);
        server.createContext("/sleep", HttpServerExample::sleep);
        server.createContext("/echo", HttpServerExample::echo);
        server.createContext("/db", this::lookUp);
        file = Files.createTempFile("fiber-http-example", ".txt");
        Files.writeString(file, FILE_CONTENT);
        Path served = file;
        server.createContext("/file", exchange -> respond(exchange, 200, Files.readString(served)));
        warmUpDateHeader();
        server.start();
        return server.getAddress().getPort();
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
