package io.fiber.internal.console;

import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The live console's web server (docs/observability.md, "Live console"): one self-contained page
 * and the JSON it polls, served by the JDK's {@code com.sun.net.httpserver}.
 *
 * <p><b>Threads.</b> The console is opened when something is wrong, often when the carriers are
 * stuck, so nothing of it runs on a carrier or as a fiber: the server's dispatcher and its two
 * handler threads are platform daemon threads. They are created by runtime classes (or by the JDK's
 * own server code), which the agent's {@code threads=fibers} never converts; and daemon, so the
 * console never keeps a program alive. Two handler threads so that a long fiber dump (every fiber's
 * stack) does not hold up the snapshots; at most one dump is made at a time.
 *
 * <p><b>Security.</b> What it shows (thread names, stacks, what fibers wait on) is the program's
 * data. Without a token it serves only a loopback address, and then only requests whose
 * {@code Host} names a loopback host, so a web page the user visits cannot read it through a DNS
 * name rebound to 127.0.0.1. With a token, every request must present it: an
 * {@code Authorization: Bearer} header, the cookie the page's first load sets, or {@code ?token=},
 * which is answered with that cookie and a redirect to the bare address, so the token leaves the
 * address bar. Tokens are compared through their SHA-256 digests with
 * {@link MessageDigest#isEqual}, whose time depends on neither text. Only GET and HEAD are served,
 * and nothing changes the program.
 */
public final class ConsoleServer implements AutoCloseable {
    /** Fiber dump entries sent when the page does not ask; at most {@link #MAX_TOP}. */
    static final int DEFAULT_TOP = 20;
    static final int MAX_TOP = 500;
    private static final String PAGE_RESOURCE = "console.html";
    private static final AtomicInteger SERVERS = new AtomicInteger();

    /** What the console shows; the API implements it, as this layer cannot see the API. */
    public interface Source {
        /** Writes the snapshot the page polls: schedulers, carriers, groups, the detector's reports. */
        void snapshot(Json out);

        /**
         * Writes the fiber dump of the scheduler whose id is {@code scheduler} (null: the first), its
         * {@code top} largest entries; returns false when no such scheduler exists.
         */
        boolean fibers(String scheduler, int top, Json out);
    }

    private final HttpServer server;
    private final ExecutorService handlers;
    private final Source source;
    private final byte[] tokenDigest;
    private final String cookieName;
    private final byte[] page;
    private final ReentrantLock dumping = new ReentrantLock();

    private ConsoleServer(HttpServer server, ExecutorService handlers, Source source, String token, byte[] page) {
        this.server = server;
        this.handlers = handlers;
        this.source = source;
        this.tokenDigest = token == null ? null : digest(token);
        this.cookieName = "fiber-console-" + server.getAddress().getPort(); // cookies are per host, not per port
        this.page = page;
    }

    /**
     * Listens on {@code address} and serves; {@code token} null for none, which only a loopback
     * address may have (the caller checks it with a message of its own).
     *
     * @throws IOException when it cannot listen there (the port is taken, the address is not this machine's)
     */
    public static ConsoleServer start(InetSocketAddress address, String token, Source source) throws IOException {
        if (token == null && !address.getAddress().isLoopbackAddress()) {
            throw new IllegalArgumentException("a console on a non-loopback address needs a token");
        }
        byte[] page;
        try (InputStream in = ConsoleServer.class.getResourceAsStream(PAGE_RESOURCE)) {
            if (in == null) {
                throw new IOException("the console's page " + PAGE_RESOURCE + " is missing from the runtime's jar");
            }
            page = in.readAllBytes();
        }
        int n = SERVERS.incrementAndGet();
        AtomicInteger threads = new AtomicInteger();
        ThreadPoolExecutor handlers = new ThreadPoolExecutor(2, 2, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            // A runtime class's `new Thread`: never rewritten by threads=fibers, so a platform thread.
            Thread t = new Thread(r, "fiber-console-" + (n == 1 ? "" : n + "-") + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        handlers.allowCoreThreadTimeOut(true); // no threads kept while nobody looks
        HttpServer server = HttpServer.create(address, 16);
        ConsoleServer console = new ConsoleServer(server, handlers, source, token, page);
        server.setExecutor(handlers);
        server.createContext("/", console::handle);
        startAsDaemon(server);
        return console;
    }

    /**
     * Starts the server's dispatcher thread, which the JDK creates as daemon only if its creator is:
     * from a daemon thread of ours, so that the console never keeps the JVM alive, whoever starts it
     * (the agent's premain runs on main, a non-daemon thread).
     */
    private static void startAsDaemon(HttpServer server) throws IOException {
        RuntimeException[] failed = {null};
        Thread starter = new Thread(() -> {
            try {
                server.start();
            } catch (RuntimeException e) {
                failed[0] = e;
            }
        }, "fiber-console-start");
        starter.setDaemon(true);
        starter.start();
        boolean interrupted = false;
        while (true) {
            try {
                starter.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (failed[0] != null) {
            server.stop(0);
            throw new IOException("the console's server did not start: " + failed[0], failed[0]);
        }
    }

    /** The address it listens on, with the port chosen when 0 was asked. */
    public InetSocketAddress address() {
        return server.getAddress();
    }

    /** {@code http://HOST:PORT/}, a host a browser on this machine can open (loopback for the wildcard address). */
    public URI uri() {
        InetSocketAddress a = address();
        InetAddress host = a.getAddress().isAnyLocalAddress() ? InetAddress.getLoopbackAddress() : a.getAddress();
        String literal = host.getHostAddress();
        if (literal.indexOf(':') >= 0) {
            int zone = literal.indexOf('%');
            literal = "[" + (zone < 0 ? literal : literal.substring(0, zone)) + "]";
        }
        return URI.create("http://" + literal + ":" + a.getPort() + "/");
    }

    /** Whether requests must present a token. */
    public boolean hasToken() {
        return tokenDigest != null;
    }

    @Override
    public void close() {
        server.stop(0);
        handlers.shutdownNow();
    }

    // ---- requests -------------------------------------------------------------------------------

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            Headers h = exchange.getResponseHeaders();
            h.set("Cache-Control", "no-store");
            h.set("X-Content-Type-Options", "nosniff");
            h.set("X-Frame-Options", "DENY");
            h.set("Referrer-Policy", "no-referrer");
            String method = exchange.getRequestMethod();
            if (!method.equals("GET") && !method.equals("HEAD")) {
                h.set("Allow", "GET, HEAD");
                send(exchange, 405, "text/plain", "the console only reads: GET or HEAD\n");
                return;
            }
            String path = exchange.getRequestURI().getRawPath();
            String query = exchange.getRequestURI().getRawQuery();
            if (!authorized(exchange, path, query)) {
                return;
            }
            switch (path) {
                case "/" -> {
                    h.set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline';"
                            + " connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
                    send(exchange, 200, "text/html; charset=utf-8", page);
                }
                case "/api/snapshot" -> {
                    Json json = new Json();
                    source.snapshot(json);
                    send(exchange, 200, "application/json", json.toString());
                }
                case "/api/fibers" -> fibers(exchange, query);
                default -> send(exchange, 404, "text/plain", "no such page; the console is at /\n");
            }
        } catch (IOException e) {
            throw e; // the client went away: the server closes the exchange
        } catch (RuntimeException | Error e) {
            // A bug of the source must not kill a handler thread silently; say it in the answer.
            try {
                send(exchange, 500, "text/plain", "the console failed: " + e + "\n");
            } catch (IOException | RuntimeException ignored) {
                // headers already sent: nothing more to say
            }
        }
    }

    private void fibers(HttpExchange exchange, String query) throws IOException {
        String scheduler = param(query, "scheduler");
        int top = DEFAULT_TOP;
        String topText = param(query, "top");
        if (topText != null) {
            try {
                top = Math.max(1, Math.min(MAX_TOP, Integer.parseInt(topText)));
            } catch (NumberFormatException e) {
                send(exchange, 400, "text/plain", "top must be a number from 1 to " + MAX_TOP + "\n");
                return;
            }
        }
        // A dump takes every fiber's stack: one at a time, and a second asker is told to come back
        // rather than hold the other handler thread (the snapshots') while it waits.
        if (!dumping.tryLock()) {
            exchange.getResponseHeaders().set("Retry-After", "1");
            send(exchange, 503, "application/json", "{\"busy\":true}");
            return;
        }
        Json json = new Json();
        boolean found;
        try {
            found = source.fibers(scheduler, top, json);
        } finally {
            dumping.unlock();
        }
        if (!found) {
            send(exchange, 404, "application/json", new Json().beginObject().field("error", "no scheduler named " + scheduler)
                    .endObject().toString());
            return;
        }
        send(exchange, 200, "application/json", json.toString());
    }

    /**
     * Whether the request may be served; answers it when not (or with the redirect that strips
     * {@code ?token=}). Without a token, the {@code Host} header must name a loopback host.
     */
    private boolean authorized(HttpExchange exchange, String path, String query) throws IOException {
        if (tokenDigest == null) {
            String host = exchange.getRequestHeaders().getFirst("Host");
            if (host != null && !isLoopbackHost(host)) {
                send(exchange, 403, "text/plain", "this console answers only requests for a loopback host (localhost,"
                        + " 127.0.0.1, [::1]), not for '" + host + "'; give it a token (console.token=) to serve other names\n");
                return false;
            }
            return true;
        }
        String bearer = exchange.getRequestHeaders().getFirst("Authorization");
        if (bearer != null && bearer.startsWith("Bearer ") && matches(bearer.substring("Bearer ".length()).trim())) {
            return true;
        }
        String cookies = exchange.getRequestHeaders().getFirst("Cookie");
        if (cookies != null) {
            for (String cookie : cookies.split(";")) {
                String c = cookie.trim();
                if (c.startsWith(cookieName + "=") && matches(c.substring(cookieName.length() + 1))) {
                    return true;
                }
            }
        }
        String given = param(query, "token");
        if (given != null && matches(given)) {
            exchange.getResponseHeaders().add("Set-Cookie", cookieName + "=" + given + "; Path=/; HttpOnly; SameSite=Strict");
            if (path.equals("/")) {
                exchange.getResponseHeaders().set("Location", "/");
                send(exchange, 303, "text/plain", "token accepted; the console is at /\n");
                return false;
            }
            return true;
        }
        exchange.getResponseHeaders().set("WWW-Authenticate", "Bearer realm=\"fiber console\"");
        send(exchange, 401, "text/plain", "this console needs its token (the agent option console.token):"
                + " open /?token=TOKEN once, and the browser keeps it in a cookie; or send Authorization: Bearer TOKEN\n");
        return false;
    }

    private boolean matches(String given) {
        return MessageDigest.isEqual(digest(given), tokenDigest);
    }

    private static byte[] digest(String token) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }

    /** {@code localhost}, {@code 127.x.x.x} or {@code [::1]}, with or without a port. */
    static boolean isLoopbackHost(String hostHeader) {
        String host = hostHeader.trim();
        if (host.startsWith("[")) {
            int close = host.indexOf(']');
            return close > 0 && host.substring(1, close).equals("::1");
        }
        int colon = host.indexOf(':');
        if (colon >= 0) {
            host = host.substring(0, colon);
        }
        return host.equalsIgnoreCase("localhost") || host.matches("127\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}");
    }

    /** The decoded value of {@code name} in a raw query, or null. */
    static String param(String rawQuery, String name) {
        if (rawQuery == null) {
            return null;
        }
        for (String pair : rawQuery.split("&")) {
            int eq = pair.indexOf('=');
            String key = eq < 0 ? pair : pair.substring(0, eq);
            if (key.equals(name)) {
                try {
                    return URLDecoder.decode(eq < 0 ? "" : pair.substring(eq + 1), StandardCharsets.UTF_8);
                } catch (IllegalArgumentException malformed) {
                    return null;
                }
            }
        }
        return null;
    }

    private static void send(HttpExchange exchange, int status, String type, String body) throws IOException {
        send(exchange, status, type.startsWith("text/plain") ? "text/plain; charset=utf-8" : type, body.getBytes(StandardCharsets.UTF_8));
    }

    private static void send(HttpExchange exchange, int status, String type, byte[] body) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", type);
        boolean head = exchange.getRequestMethod().equals("HEAD");
        exchange.sendResponseHeaders(status, head ? -1 : body.length == 0 ? -1 : body.length);
        if (!head && body.length > 0) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            } catch (UncheckedIOException e) {
                throw e.getCause();
            }
        }
    }
}
