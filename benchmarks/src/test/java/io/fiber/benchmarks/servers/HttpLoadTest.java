package io.fiber.benchmarks.servers;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The servers benchmark's load against a small server that answers as {@code AtScaleServer} does
 * (after 10 ms instead of a downstream's 100): it counts what it should, and a wrong answer is a
 * failure, never a request served.
 */
class HttpLoadTest {
    private HttpServer server;
    private final AtomicBoolean lie = new AtomicBoolean();

    private HttpLoad start() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1000);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/", exchange -> {
            String n = exchange.getRequestURI().getQuery().substring(2);
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            String downstream = lie.get() ? "delayed 0" : "delayed " + n;
            byte[] body = ("n=" + n + " downstream=" + downstream + " in-flight 1 thread=test\n").getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
        return new HttpLoad(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getAddress().getPort()));
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.stop(0);
        }
    }

    @Test
    void aClosedLoopCountsTheAnswersInItsWindowOnly() throws Exception {
        HttpLoad.Result result = start().closedLoop(20, Duration.ofMillis(300), Duration.ofSeconds(1));
        assertEquals(0, result.failed(), result.firstFailure());
        // 20 clients, each at most one request per 10 ms: under 2,000 in the one-second window.
        assertTrue(result.answered() > 50 && result.answered() < 2_000, "answered " + result.answered());
        assertEquals(result.answered(), result.latency().count());
        assertEquals(1, result.answeredBySecond().length, "one second measured");
        assertEquals(result.answered(), java.util.Arrays.stream(result.answeredBySecond()).sum(), "each answer counted in its second");
        assertTrue(result.latency().percentile(50) >= 10_000_000L, "no answer comes before the server's 10 ms");
        assertEquals(1.0, result.seconds(), 1e-9);
    }

    @Test
    void heldConnectionsStayOpenAndSendAtTheirPace() throws Exception {
        HttpLoad load = start();
        // 50 connections, a request every 250 ms each: about 200 a second, over one connection each.
        HttpLoad.Result result = load.held(50, Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1));
        assertEquals(0, result.failed(), result.firstFailure());
        assertTrue(result.answered() >= 120 && result.answered() <= 210, "answered " + result.answered() + " of about 190");
        assertEquals(result.sentInAll(), result.passedInAll());
    }

    @Test
    void aWrongAnswerIsAFailureNamedByTheFirstOne() throws Exception {
        HttpLoad load = start();
        lie.set(true);
        HttpLoad.Result result = load.closedLoop(5, Duration.ZERO, Duration.ofMillis(500));
        assertEquals(0, result.answered());
        assertTrue(result.failed() > 0);
        assertTrue(result.firstFailure().startsWith("unexpected answer to n="), result.firstFailure());
    }

    @Test
    void eachServerRunsWithoutTheAgentAndUnderItWithTheOptionsForItsKind() {
        assertEquals("threads=fibers", ServersBenchmark.sides("classic").get(1).agentOptions().orElseThrow());
        assertTrue(ServersBenchmark.sides("classic").get(0).agentOptions().isEmpty());
        assertEquals("", ServersBenchmark.sides("tomcat").get(1).agentOptions().orElseThrow(), "the agent's defaults");
        assertEquals("threads=fibers,detector=off", ServersBenchmark.withExtra("threads=fibers", "detector=off"));
        assertEquals("detector=off", ServersBenchmark.withExtra("", "detector=off"));
        assertEquals("threads=fibers", ServersBenchmark.withExtra("threads=fibers", ""));
        assertEquals(2.5, io.fiber.benchmarks.runner.Medians.median(new double[] {4, 1, 2, 3}));
        assertEquals(3, io.fiber.benchmarks.runner.Medians.median(new double[] {3, 9, 1}));
    }

    @Test
    void theJitCountersOfAProcessAreReadFromOutsideIt() throws Exception {
        long pid = ProcessHandle.current().pid(); // this test JVM, which has compiled something by now
        io.fiber.benchmarks.runner.ProcessStats stats = io.fiber.benchmarks.runner.ProcessStats.create();
        JitCounters before = JitCounters.of(pid, stats);
        JitCounters after = JitCounters.of(pid, stats);
        assertTrue(before.compiles() > 0 && before.loadedClasses() > 0 && before.uptimeSeconds() > 0, before.describe());
        JitCounters between = after.minus(before);
        assertTrue(between.compiles() >= 0 && between.uptimeSeconds() >= 0, between.describe());
        assertTrue(before.describe().contains(before.compiles() + " compilations"), before.describe());
    }
}
