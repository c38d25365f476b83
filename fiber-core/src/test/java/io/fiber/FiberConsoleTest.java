package io.fiber;

import io.fiber.internal.Settings;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The live console's server, in this JVM (the agent's option is tested in fiber-agent's
 * {@code ConsoleIT}): what its JSON holds, that it answers while every carrier is held, its
 * security (loopback only without a token; with one, every request presents it), and the option's
 * grammar. The page itself is checked in a real browser by the examples' {@code ConsoleBrowserTest}.
 */
class FiberConsoleTest {
    private static final String TOKEN = "s3cret-token-0123456789";

    /** A GET with {@code headers} (name, value pairs); no redirects followed. */
    private record Answer(int status, String body, Map<String, List<String>> headers) {
        String header(String name) {
            for (Map.Entry<String, List<String>> e : headers.entrySet()) {
                if (e.getKey() != null && e.getKey().equalsIgnoreCase(name)) {
                    return e.getValue().getFirst();
                }
            }
            return null;
        }
    }

    private static Answer get(URI uri, String... headers) throws IOException {
        return request("GET", uri, headers);
    }

    private static Answer request(String method, URI uri, String... headers) throws IOException {
        HttpURLConnection c = (HttpURLConnection) uri.toURL().openConnection();
        c.setRequestMethod(method);
        c.setInstanceFollowRedirects(false);
        c.setConnectTimeout(10_000);
        c.setReadTimeout(30_000);
        for (int i = 0; i < headers.length; i += 2) {
            c.setRequestProperty(headers[i], headers[i + 1]);
        }
        int status = c.getResponseCode();
        var in = status >= 400 ? c.getErrorStream() : c.getInputStream();
        String body = in == null ? "" : new String(in.readAllBytes(), StandardCharsets.UTF_8);
        Answer a = new Answer(status, body, c.getHeaderFields());
        c.disconnect();
        return a;
    }

    @Test
    void theSnapshotListsEverySchedulerWithItsCarriersGroupsAndTheDetector() throws Exception {
        try (FiberScheduler scheduler = FiberScheduler.builder().name("console <b>&\"x\"").carriers(2).build();
             FiberConsole console = FiberConsole.start(0)) {
            FiberGroup group = scheduler.group("batch").weight(50).build();
            group.spawn(() -> "done").get();
            scheduler.spawn(() -> "done").get();
            assertTrue(FiberConsole.running().isPresent());
            assertEquals("127.0.0.1", console.address().getAddress().getHostAddress());

            Answer page = get(console.uri());
            assertEquals(200, page.status());
            assertTrue(page.body().contains("<title>fiber console</title>"), page.body());
            assertTrue(page.header("Content-Security-Policy").contains("default-src 'none'"), page.headers().toString());
            assertFalse(page.body().contains("http://") || page.body().contains("https://"), "the page loads nothing from elsewhere");

            Answer snapshot = get(console.uri().resolve("/api/snapshot"));
            assertEquals(200, snapshot.status(), snapshot.body());
            assertEquals("application/json", snapshot.header("Content-Type"));
            String json = snapshot.body();
            // The name is the program's data: escaped so that no markup survives, even shown as HTML.
            assertTrue(json.contains("\"name\":\"console \\u003cb\\u003e\\u0026\\\"x\\\"\""), json);
            assertFalse(json.contains("<b>"), json);
            assertTrue(json.contains("\"groups\":[{\"name\":\"batch\",\"weight\":50,"), json);
            assertTrue(json.matches("(?s).*\"fibersSpawned\":2,\"fibersAlive\":0,\"fibersEnded\":2,.*"), json);
            assertTrue(json.contains("\"detector\":{\"available\":false,\"mode\":\"OFF\""), json);
            assertTrue(json.contains("\"busyNanos\":"), json);
        }
    }

    @Test
    void theFiberDumpGroupsFibersByStackLargestFirstAndSendsOnlyTheTopEntries() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        FiberScheduler scheduler = FiberScheduler.builder().name("dumped-by-console").carriers(1).build();
        try (FiberConsole console = FiberConsole.start(0)) {
            List<Fiber<?>> fibers = new ArrayList<>();
            for (int i = 0; i < 300; i++) {
                fibers.add(scheduler.spawn("waiter-" + i, () -> {
                    release.await();
                    return null;
                }));
            }
            for (int i = 0; i < 5; i++) {
                fibers.add(scheduler.spawn("sleeper-" + i, () -> {
                    Fibers.sleep(Duration.ofSeconds(30));
                    return null;
                }));
            }
            waitUntil(() -> scheduler.stats().carriers().getFirst().queueDepth() == 0 && scheduler.stats().injectDepth() == 0);
            Thread.sleep(200);
            Answer dump = get(console.uri().resolve("/api/fibers?scheduler=dumped-by-console&top=1"));
            assertEquals(200, dump.status(), dump.body());
            String json = dump.body();
            assertTrue(json.contains("\"alive\":305,\"distinct\":2,"), json);
            assertTrue(json.matches("(?s).*\"largest\":\\[\\{\"count\":300,\"state\":\"WAITING\",\"minAgeNanos\":-?\\d+,\"maxAgeNanos\":-?\\d+,"
                    + "\"waitsOn\":\"parked on java\\.util\\.concurrent\\.CountDownLatch\\$Sync@.*"), json);
            assertFalse(json.contains("sleeper-"), "only the top entry is sent: " + json);
            assertTrue(json.contains("\"java.base/java.util.concurrent.CountDownLatch.await(CountDownLatch.java:"), json);

            Answer none = get(console.uri().resolve("/api/fibers?scheduler=no-such"));
            assertEquals(404, none.status());
            assertEquals(400, get(console.uri().resolve("/api/fibers?top=many")).status());
        } finally {
            release.countDown();
            scheduler.shutdownNow(); // the sleepers
            scheduler.close();
        }
    }

    /** The console is opened when the carriers are stuck: it must answer then, from threads of its own. */
    @Test
    void itAnswersWhileEveryCarrierIsHeld() throws Exception {
        AtomicBoolean spin = new AtomicBoolean(true);
        CountDownLatch spinning = new CountDownLatch(2);
        FiberScheduler scheduler = FiberScheduler.builder().name("held").carriers(2).handoffAfter(Duration.ZERO).build();
        try (FiberConsole console = FiberConsole.start(0)) {
            for (int i = 0; i < 2; i++) {
                scheduler.spawn(() -> {
                    spinning.countDown();
                    while (spin.get()) {
                        Thread.onSpinWait(); // never yields: with handoff off, its carrier is held
                    }
                });
            }
            assertTrue(spinning.await(30, TimeUnit.SECONDS));
            long t0 = System.nanoTime();
            Answer snapshot = get(console.uri().resolve("/api/snapshot"));
            Answer dump = get(console.uri().resolve("/api/fibers?scheduler=held"));
            assertEquals(200, snapshot.status(), snapshot.body());
            assertTrue(snapshot.body().contains("\"name\":\"held\""), snapshot.body());
            assertEquals(200, dump.status(), dump.body());
            assertTrue(dump.body().contains("\"running\":\"#"), "the dump shows what each carrier runs: " + dump.body());
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(20));
        } finally {
            spin.set(false);
            scheduler.close();
        }
    }

    @Test
    void withoutATokenItServesOnlyLoopbackAndOnlyRequestsForALoopbackHost() throws Exception {
        InetSocketAddress everywhere = new InetSocketAddress(0);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> FiberConsole.start(everywhere, null));
        assertTrue(e.getMessage().contains("would be reachable from other machines, so it needs a token"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> FiberConsole.start(everywhere, "short"));
        assertThrows(IllegalArgumentException.class, () -> FiberConsole.start(everywhere, "has spaces in it, not allowed"));

        try (FiberConsole console = FiberConsole.start(0)) {
            URI snapshot = console.uri().resolve("/api/snapshot");
            int port = console.address().getPort();
            assertTrue(getWithHost(port, "localhost:" + port).startsWith("HTTP/1.1 200 "));
            assertTrue(getWithHost(port, "127.0.0.1").startsWith("HTTP/1.1 200 "));
            assertTrue(getWithHost(port, "[::1]:" + port).startsWith("HTTP/1.1 200 "));
            // A page of another site whose name was rebound to 127.0.0.1 sends its own name.
            String rebound = getWithHost(port, "attacker.example:" + port);
            assertTrue(rebound.startsWith("HTTP/1.1 403 "), rebound);
            assertTrue(rebound.contains("only requests for a loopback host"), rebound);
            assertEquals(405, request("POST", snapshot).status());
            assertEquals(404, get(console.uri().resolve("/etc/passwd")).status());
        }
    }

    @Test
    void withATokenEveryRequestMustPresentIt() throws Exception {
        try (FiberConsole console = FiberConsole.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), TOKEN)) {
            URI snapshot = console.uri().resolve("/api/snapshot");
            Answer none = get(snapshot);
            assertEquals(401, none.status());
            assertTrue(none.body().contains("needs its token"), none.body());
            assertEquals(401, get(console.uri()).status());
            assertEquals(401, get(snapshot, "Authorization", "Bearer " + TOKEN + "x").status());
            assertEquals(401, get(URI.create(snapshot + "?token=wrong-token-0123456789")).status());
            assertEquals(401, get(snapshot, "Cookie", "fiber-console-" + console.address().getPort() + "=" + TOKEN.substring(1)).status());

            assertEquals(200, get(snapshot, "Authorization", "Bearer " + TOKEN).status());
            assertEquals(200, get(snapshot, "Cookie", "a=b; fiber-console-" + console.address().getPort() + "=" + TOKEN).status());
            // With a token any Host is served: the token is the protection.
            assertTrue(getWithHost(console.address().getPort(), "console.example", "Authorization: Bearer " + TOKEN)
                    .startsWith("HTTP/1.1 200 "));

            // ?token= once: a cookie for the next requests, and a redirect that takes the token out of the address.
            Answer first = get(URI.create(console.uri() + "?token=" + TOKEN));
            assertEquals(303, first.status());
            assertEquals("/", first.header("Location"));
            String cookie = first.header("Set-Cookie");
            assertNotNull(cookie);
            assertTrue(cookie.startsWith("fiber-console-" + console.address().getPort() + "=" + TOKEN + ";"), cookie);
            assertTrue(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), cookie);
            Answer page = get(console.uri(), "Cookie", cookie.substring(0, cookie.indexOf(';')));
            assertEquals(200, page.status());
            assertTrue(page.body().contains("<title>fiber console</title>"));
        }
    }

    @Test
    void aTakenPortIsAnIOException() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            assertThrows(IOException.class, () -> FiberConsole.start(taken.getLocalPort()));
        }
    }

    @Test
    void theOptionsGrammar() {
        assertEquals(new InetSocketAddress(InetAddress.getLoopbackAddress(), 8700),
                Settings.CONSOLE.parse("8700", Settings.Source.AGENT_OPTION));
        assertEquals(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                Settings.CONSOLE.parse("localhost:0", Settings.Source.AGENT_OPTION));
        assertEquals("10.1.2.3", Settings.CONSOLE.parse("10.1.2.3:80", Settings.Source.AGENT_OPTION).getAddress().getHostAddress());
        assertTrue(Settings.CONSOLE.parse("[::1]:80", Settings.Source.AGENT_OPTION).getAddress().isLoopbackAddress());
        assertTrue(Settings.CONSOLE.parse("*:8700", Settings.Source.AGENT_OPTION).getAddress().isAnyLocalAddress());
        for (String bad : List.of("", "x", "65536", "-1", "example.org:80", "::1:80", "127.0.0.1:", "1.2.3.4:x")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Settings.CONSOLE.parse(bad, Settings.Source.AGENT_OPTION), bad);
            assertTrue(e.getMessage().startsWith("option console=" + bad + " is invalid: "), e.getMessage());
            assertTrue(e.getMessage().contains("it must be a port from 0 (any free one) to 65535, or HOST:PORT"), e.getMessage());
        }
        assertEquals(TOKEN, Settings.CONSOLE_TOKEN.parse(TOKEN, Settings.Source.AGENT_OPTION));
        IllegalArgumentException shortToken = assertThrows(IllegalArgumentException.class,
                () -> Settings.CONSOLE_TOKEN.parse("abc", Settings.Source.AGENT_OPTION));
        assertTrue(shortToken.getMessage().contains("at least 16 characters"), shortToken.getMessage());
        assertNull(Settings.consoleNeedsToken(new InetSocketAddress(InetAddress.getLoopbackAddress(), 1), null, "x"));
        assertNotNull(Settings.consoleNeedsToken(new InetSocketAddress(1), null, "x"));
        assertNull(Settings.consoleNeedsToken(new InetSocketAddress(1), TOKEN, "x"));
    }

    /**
     * The whole answer to {@code GET /api/snapshot} with this {@code Host} header, over a plain
     * socket: the JDK's HTTP clients will not send a Host of the caller's choosing.
     */
    private static String getWithHost(int port, String host, String... headers) throws IOException {
        try (java.net.Socket socket = new java.net.Socket(InetAddress.getLoopbackAddress(), port)) {
            socket.setSoTimeout(30_000);
            StringBuilder request = new StringBuilder("GET /api/snapshot HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n");
            for (String h : headers) {
                request.append(h).append("\r\n");
            }
            socket.getOutputStream().write(request.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1));
            return new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static void waitUntil(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "condition not met in 30 s");
            Thread.sleep(10);
        }
    }
}
