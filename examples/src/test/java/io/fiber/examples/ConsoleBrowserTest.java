package io.fiber.examples;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The live console in a real browser: headless Chromium, from Debian's package {@code chromium},
 * driven over the Chrome DevTools Protocol (a WebSocket of the JDK's {@code java.net.http}).
 *
 * <p>The demo's HTTP server ({@link HttpServerExample}) runs in a child JVM under the agent with
 * {@code console=0}, and this test keeps it busy: a stream of {@code GET /hello}, 40 requests at a
 * time parked in {@code GET /sleep}, and {@code GET /file}, whose handler reads a file on its fiber
 * and is flagged by the detector. The page must then show, by itself: the scheduler's carriers with
 * their runs, at least 30 fibers asleep in the handler (an entry per carrier whose timer wakes
 * them), the detector's report of the file read with its stack, lines drawn in the throughput and
 * the scheduling-delay plots, and figures that keep changing
 * (a page that stops updating fails). Last, the server is stopped and the page must say its data is
 * stale. Screenshots go to {@code examples/target/console-browser/}: {@code console.png} (live) and
 * {@code console-stale.png}, with the page's text beside them.
 *
 * <p>Without {@code /usr/bin/chromium} (or {@code $CHROMIUM}) the test is skipped, unless
 * {@code FIBER_REQUIRE_CHROMIUM=1}, as CI's {@code .ci/run} sets after installing it, makes that a
 * failure. Every wait is on a condition with a generous deadline, for a busy two-core machine.
 */
class ConsoleBrowserTest {
    private static final Duration DEADLINE = Duration.ofSeconds(120);
    private static final Path ARTIFACTS = Path.of("target", "console-browser");
    private static final Pattern LISTENING = Pattern.compile("http://127\\.0\\.0\\.1:(\\d+)/");

    /** What the page shows, read by script through the DOM, as JSON. */
    private static final String STATE = """
            (() => {
              const rows = sel => [...document.querySelectorAll(sel)].map(tr => [...tr.cells].map(td => td.textContent));
              const card = document.querySelector('section.scheduler');
              const lines = c => {  // pixels of the first series' color below the legend: the drawn line
                const g = c.getContext('2d'), top = Math.ceil(20 * (window.devicePixelRatio || 1));
                if (c.height <= top) return 0;
                const d = g.getImageData(0, top, c.width, c.height - top).data;
                let n = 0;
                for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i] - 74) < 40 && Math.abs(d[i+1] - 123) < 40 && Math.abs(d[i+2] - 209) < 40) n++;
                return n;
              };
              return JSON.stringify({
                snapshots: +(document.body.dataset.snapshots || 0),
                serverTime: +(document.body.dataset.serverTime || 0),
                stale: document.body.dataset.stale,
                status: document.getElementById('status').textContent,
                scheduler: card ? card.dataset.scheduler : null,
                carriers: card ? rows('section.scheduler .carriers tbody tr') : [],
                alike: rows('#fibers-table tbody tr').map(r => ({count: r[0], state: r[1], rest: r[4]})),
                reports: rows('#detector-table tbody tr').map(r => r.join(' | ')),
                plots: card ? [...card.querySelectorAll('canvas')].map(c => ({plot: c.dataset.plot, linePixels: lines(c)})) : []
              });
            })()""";

    @Test
    void thePageShowsTheRunningServerLiveAndSaysWhenItGoesStale() throws Exception {
        Path chromium = chromium();
        Path agentJar = Path.of(System.getProperty("fiber.agent.jar", "(fiber.agent.jar not set by the pom)"));
        assertTrue(Files.isRegularFile(agentJar), "the agent jar " + agentJar + " is missing: build it first (./run test builds it)");
        Files.createDirectories(ARTIFACTS);
        Path profile = Files.createTempDirectory("console-chromium");
        List<Process> started = new ArrayList<>();
        AtomicBoolean loading = new AtomicBoolean(true);
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        try {
            // The server, under the agent with the console on a free port; both addresses read from its output.
            Process server = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-javaagent:" + agentJar + "=console=0", "-cp", System.getProperty("java.class.path"),
                    HttpServerExample.class.getName(), "0").start();
            started.add(server);
            Lines serverOut = new Lines(server.getInputStream());
            Lines serverErr = new Lines(server.getErrorStream());
            String consoleLine = serverErr.await(l -> l.startsWith("fiber-agent: console at "), "the agent's console line");
            String serverLine = serverOut.await(l -> l.startsWith("HTTP server listening on "), "the server's address");
            URI console = URI.create(match(LISTENING, consoleLine));
            URI http = URI.create(match(LISTENING, serverLine));

            Thread load = Thread.ofPlatform().daemon().name("console-test-load").start(() -> load(client, http, loading));

            // Chromium, with the DevTools protocol on a port it picks and prints.
            Process browser = new ProcessBuilder(chromium.toString(), "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
                    "--user-data-dir=" + profile, "--window-size=1280,2200", "--remote-debugging-port=0",
                    "--remote-allow-origins=*", "about:blank").start();
            started.add(browser);
            browser.getOutputStream().close();
            Lines browserErr = new Lines(browser.getErrorStream());
            new Lines(browser.getInputStream());
            String devtools = browserErr.await(l -> l.startsWith("DevTools listening on ws://"), "Chromium's DevTools address");
            URI browserWs = URI.create(devtools.substring("DevTools listening on ".length()).trim());
            try (Cdp page = Cdp.connect(client, pageTarget(client, browserWs))) {
                page.call("Page.navigate", Map.of("url", console.toString()));

                Map<String, Object> live = waitForPage(page, "the console to show the server live", s -> {
                    return ((Number) s.get("snapshots")).intValue() >= 4 && "false".equals(s.get("stale"))
                            && carriersWithRuns(s) > 0 && sleepingFibers(s) >= 30 && fileReport(s)
                            && plotLine(s, "throughput") > 20 && plotLine(s, "latency") > 20;
                });
                // Not a picture of the past: the server's clock and the carriers' runs move on.
                long runsBefore = totalRuns(live);
                long timeBefore = ((Number) live.get("serverTime")).longValue();
                Map<String, Object> later = waitForPage(page, "the figures to change", s ->
                        ((Number) s.get("serverTime")).longValue() >= timeBefore + 2_000 && totalRuns(s) > runsBefore
                                && "false".equals(s.get("stale")));
                assertEquals("fiber", later.get("scheduler"), "the server's default scheduler: " + later);
                screenshot(page, ARTIFACTS.resolve("console.png"));
                Files.writeString(ARTIFACTS.resolve("console.txt"), later.toString());

                // The server stops: the page must not go on showing its last figures as live.
                loading.set(false);
                load.join(TimeUnit.SECONDS.toMillis(30));
                server.destroy();
                assertTrue(server.waitFor(30, TimeUnit.SECONDS), "the server stops");
                Map<String, Object> stale = waitForPage(page, "the page to say its data is stale", s ->
                        "true".equals(s.get("stale")) && String.valueOf(s.get("status")).startsWith("STALE: no answer for "));
                screenshot(page, ARTIFACTS.resolve("console-stale.png"));
                Files.writeString(ARTIFACTS.resolve("console-stale.txt"), stale.toString());
            }
        } finally {
            loading.set(false);
            for (Process p : started) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor(30, TimeUnit.SECONDS);
            }
            client.close();
            deleteTree(profile);
        }
    }

    // ---- what the page must show ----------------------------------------------------------------------

    @SuppressWarnings("unchecked")
    private static long carriersWithRuns(Map<String, Object> s) {
        return ((List<List<String>>) s.get("carriers")).stream()
                .filter(row -> row.get(0).startsWith("fiber-carrier-") && number(row.get(3)) > 0).count();
    }

    @SuppressWarnings("unchecked")
    private static long totalRuns(Map<String, Object> s) {
        return ((List<List<String>>) s.get("carriers")).stream().mapToLong(row -> number(row.get(3))).sum();
    }

    @SuppressWarnings("unchecked")
    private static long sleepingFibers(Map<String, Object> s) {
        return ((List<Map<String, Object>>) s.get("alike")).stream()
                .filter(a -> String.valueOf(a.get("state")).startsWith("TIMED_WAITING")
                        && String.valueOf(a.get("rest")).contains("HttpServerExample.sleep("))
                .mapToLong(a -> number(String.valueOf(a.get("count")))).sum(); // an entry per carrier whose timer wakes them
    }

    @SuppressWarnings("unchecked")
    private static boolean fileReport(Map<String, Object> s) {
        return ((List<String>) s.get("reports")).stream()
                .anyMatch(r -> r.contains("FILE_IO") && r.contains("fiber-carrier-") && r.contains("java.nio.file.Files.readString(")
                        && r.contains("io.fiber.examples.HttpServerExample.lambda$start$"));
    }

    @SuppressWarnings("unchecked")
    private static long plotLine(Map<String, Object> s, String plot) {
        return ((List<Map<String, Object>>) s.get("plots")).stream().filter(p -> plot.equals(p.get("plot")))
                .mapToLong(p -> ((Number) p.get("linePixels")).longValue()).sum();
    }

    private static long number(String text) {
        String digits = text.replace(",", "").trim();
        return digits.matches("\\d+") ? Long.parseLong(digits) : -1;
    }

    /** Reads the page's state until {@code condition} holds; fails with the last state and a screenshot otherwise. */
    private static Map<String, Object> waitForPage(Cdp page, String what, Predicate<Map<String, Object>> condition) throws Exception {
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        Map<String, Object> state = Map.of();
        while (System.nanoTime() < deadline) {
            Object value = page.evaluate(STATE);
            if (value instanceof String json) {
                @SuppressWarnings("unchecked")
                Map<String, Object> parsed = (Map<String, Object>) Json.parse(json);
                state = parsed;
                if (condition.test(state)) {
                    return state;
                }
            }
            Thread.sleep(500);
        }
        try {
            screenshot(page, ARTIFACTS.resolve("console-failed.png"));
        } catch (Exception e) {
            // the failure below says what matters
        }
        fail("waited " + DEADLINE.toSeconds() + " s for " + what + "; the page showed: " + state
                + " (screenshot: " + ARTIFACTS.resolve("console-failed.png").toAbsolutePath() + ")");
        return state;
    }

    private static void screenshot(Cdp page, Path file) throws Exception {
        @SuppressWarnings("unchecked")
        Map<String, Object> result = (Map<String, Object>) page.call("Page.captureScreenshot", Map.of("format", "png"));
        Files.write(file, Base64.getDecoder().decode((String) result.get("data")));
    }

    // ---- the load on the server ---------------------------------------------------------------------

    /** Keeps 40 requests asleep in the handler, a stream of hellos, and a file read every few seconds. */
    private static void load(HttpClient client, URI http, AtomicBoolean loading) {
        AtomicInteger sleeping = new AtomicInteger();
        long nextFile = 0;
        while (loading.get()) {
            while (sleeping.get() < 40) {
                sleeping.incrementAndGet();
                client.sendAsync(get(http.resolve("/sleep?ms=8000")), HttpResponse.BodyHandlers.discarding())
                        .whenComplete((r, e) -> sleeping.decrementAndGet());
            }
            if (System.nanoTime() > nextFile) {
                nextFile = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
                client.sendAsync(get(http.resolve("/file")), HttpResponse.BodyHandlers.discarding());
            }
            try {
                client.send(get(http.resolve("/hello")), HttpResponse.BodyHandlers.discarding());
                Thread.sleep(5);
            } catch (IOException e) {
                // the server is stopping
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private static HttpRequest get(URI uri) {
        return HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30)).build();
    }

    // ---- Chromium and its DevTools protocol -------------------------------------------------------------

    private static Path chromium() {
        String given = System.getenv("CHROMIUM");
        Path path = Path.of(given != null && !given.isBlank() ? given : "/usr/bin/chromium");
        if (!Files.isExecutable(path)) {
            String why = "no Chromium at " + path + " (Debian: apt-get install chromium; or set $CHROMIUM)";
            if ("1".equals(System.getenv("FIBER_REQUIRE_CHROMIUM"))) {
                fail(why + ", and FIBER_REQUIRE_CHROMIUM=1 requires it");
            }
            Assumptions.abort(why);
        }
        return path;
    }

    /** The WebSocket address of the browser's page (its first tab), from its /json/list. */
    private static URI pageTarget(HttpClient client, URI browserWs) throws Exception {
        URI list = URI.create("http://" + browserWs.getAuthority() + "/json/list");
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        while (System.nanoTime() < deadline) {
            String body = client.send(get(list), HttpResponse.BodyHandlers.ofString()).body();
            for (Object target : (List<?>) Json.parse(body)) {
                Map<?, ?> t = (Map<?, ?>) target;
                if ("page".equals(t.get("type")) && t.get("webSocketDebuggerUrl") != null) {
                    return URI.create((String) t.get("webSocketDebuggerUrl"));
                }
            }
            Thread.sleep(200);
        }
        throw new AssertionError("Chromium listed no page at " + list);
    }

    /** One DevTools session: a command is a JSON message with an id, answered by a message with that id. */
    private static final class Cdp implements WebSocket.Listener, AutoCloseable {
        private final Map<Integer, CompletableFuture<Map<String, Object>>> pending = new ConcurrentHashMap<>();
        private final AtomicInteger ids = new AtomicInteger();
        private final StringBuilder partial = new StringBuilder();
        private WebSocket socket;

        static Cdp connect(HttpClient client, URI page) throws Exception {
            Cdp cdp = new Cdp();
            cdp.socket = client.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(30)).buildAsync(page, cdp)
                    .get(60, TimeUnit.SECONDS);
            return cdp;
        }

        /** Sends {@code method} with {@code params}; returns its result, or fails with its error. */
        Object call(String method, Map<String, Object> params) throws Exception {
            int id = ids.incrementAndGet();
            CompletableFuture<Map<String, Object>> answer = new CompletableFuture<>();
            pending.put(id, answer);
            Map<String, Object> message = new LinkedHashMap<>();
            message.put("id", id);
            message.put("method", method);
            message.put("params", params);
            socket.sendText(Json.write(message), true).get(30, TimeUnit.SECONDS);
            Map<String, Object> reply = answer.get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
            if (reply.containsKey("error")) {
                throw new AssertionError(method + " failed: " + reply.get("error"));
            }
            return reply.get("result");
        }

        /** The value of a script expression in the page; null while the page cannot run it (navigating). */
        Object evaluate(String expression) throws Exception {
            Map<?, ?> result = (Map<?, ?>) call("Runtime.evaluate", Map.of("expression", expression, "returnByValue", true));
            if (result.containsKey("exceptionDetails")) {
                return null;
            }
            return ((Map<?, ?>) result.get("result")).get("value");
        }

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            partial.append(data);
            if (last) {
                @SuppressWarnings("unchecked")
                Map<String, Object> message = (Map<String, Object>) Json.parse(partial.toString());
                partial.setLength(0);
                Object id = message.get("id");
                if (id instanceof Number n) {
                    CompletableFuture<Map<String, Object>> f = pending.remove(n.intValue());
                    if (f != null) {
                        f.complete(message);
                    }
                }
            }
            webSocket.request(1);
            return null;
        }

        @Override
        public void close() {
            socket.abort();
        }
    }

    /** A process's output, line by line, kept for waiting on and for failure messages. */
    private static final class Lines {
        private final List<String> lines = new ArrayList<>();

        Lines(InputStream in) {
            Thread.ofPlatform().daemon().start(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                    for (String line; (line = r.readLine()) != null; ) {
                        synchronized (this) {
                            lines.add(line);
                            notifyAll();
                        }
                    }
                } catch (IOException e) {
                    // the process ended
                }
            });
        }

        synchronized String await(Predicate<String> wanted, String what) throws InterruptedException {
            long deadline = System.nanoTime() + DEADLINE.toNanos();
            while (true) {
                for (String line : lines) {
                    if (wanted.test(line)) {
                        return line;
                    }
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new AssertionError("no " + what + " in " + DEADLINE.toSeconds() + " s; the output so far:\n"
                            + String.join("\n", lines));
                }
                wait(TimeUnit.NANOSECONDS.toMillis(left) + 1);
            }
        }
    }

    private static String match(Pattern pattern, String line) {
        Matcher m = pattern.matcher(line);
        assertTrue(m.find(), "no address in: " + line);
        return m.group();
    }

    private static void deleteTree(Path dir) {
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a temporary profile left behind is harmless
        }
    }

    /** Just enough JSON for the DevTools protocol: parse into maps, lists, strings, numbers, booleans; write maps of those. */
    static final class Json {
        private final String s;
        private int i;

        private Json(String s) {
            this.s = s;
        }

        static Object parse(String text) {
            Json j = new Json(text);
            Object v = j.value();
            j.blanks();
            if (j.i != text.length()) {
                throw new IllegalArgumentException("trailing text at " + j.i + " in " + text);
            }
            return v;
        }

        private void blanks() {
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
        }

        private Object value() {
            blanks();
            char c = s.charAt(i);
            switch (c) {
                case '{' -> {
                    Map<String, Object> m = new LinkedHashMap<>();
                    i++;
                    blanks();
                    if (s.charAt(i) == '}') {
                        i++;
                        return m;
                    }
                    while (true) {
                        blanks();
                        String key = string();
                        blanks();
                        expect(':');
                        m.put(key, value());
                        blanks();
                        if (s.charAt(i++) == '}') {
                            return m;
                        }
                    }
                }
                case '[' -> {
                    List<Object> l = new ArrayList<>();
                    i++;
                    blanks();
                    if (s.charAt(i) == ']') {
                        i++;
                        return l;
                    }
                    while (true) {
                        l.add(value());
                        blanks();
                        if (s.charAt(i++) == ']') {
                            return l;
                        }
                    }
                }
                case '"' -> {
                    return string();
                }
                default -> {
                    if (s.startsWith("true", i)) {
                        i += 4;
                        return true;
                    }
                    if (s.startsWith("false", i)) {
                        i += 5;
                        return false;
                    }
                    if (s.startsWith("null", i)) {
                        i += 4;
                        return null;
                    }
                    int start = i;
                    while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) {
                        i++;
                    }
                    return Double.parseDouble(s.substring(start, i));
                }
            }
        }

        private void expect(char c) {
            if (s.charAt(i++) != c) {
                throw new IllegalArgumentException("expected '" + c + "' at " + (i - 1));
            }
        }

        private String string() {
            expect('"');
            StringBuilder b = new StringBuilder();
            while (true) {
                char c = s.charAt(i++);
                if (c == '"') {
                    return b.toString();
                }
                if (c != '\\') {
                    b.append(c);
                    continue;
                }
                char e = s.charAt(i++);
                switch (e) {
                    case 'n' -> b.append('\n');
                    case 't' -> b.append('\t');
                    case 'r' -> b.append('\r');
                    case 'b' -> b.append('\b');
                    case 'f' -> b.append('\f');
                    case 'u' -> {
                        b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                        i += 4;
                    }
                    default -> b.append(e); // " \ /
                }
            }
        }

        static String write(Object v) {
            if (v instanceof Map<?, ?> m) {
                StringBuilder b = new StringBuilder("{");
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    if (b.length() > 1) {
                        b.append(',');
                    }
                    b.append(write(String.valueOf(e.getKey()))).append(':').append(write(e.getValue()));
                }
                return b.append('}').toString();
            }
            if (v instanceof String str) {
                StringBuilder b = new StringBuilder("\"");
                for (char c : str.toCharArray()) {
                    if (c == '"' || c == '\\') {
                        b.append('\\').append(c);
                    } else if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
                return b.append('"').toString();
            }
            return String.valueOf(v); // numbers, booleans
        }
    }
}
