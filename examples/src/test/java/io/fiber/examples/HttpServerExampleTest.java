package io.fiber.examples;

import io.fiber.FiberScheduler;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The HTTP example on a scheduler of its own, with {@link HttpClient} requests from JDK virtual
 * threads: each endpoint's status and body from several clients at once (database lookups in the
 * demo's in-memory H2 database included), sleeps that overlap rather than queue, the error answers,
 * the load client's check of a database answer, and every exchange fiber ended after stop().
 */
class HttpServerExampleTest {
    private FiberScheduler scheduler;
    private DemoDatabase database;
    private HttpServerExample server;
    private HttpClient http;
    private URI base;

    @BeforeEach
    void start() throws IOException, SQLException {
        scheduler = FiberScheduler.builder().name("http-test").carriers(2).build();
        database = DemoDatabase.open(DemoDatabase.Settings.IN_MEMORY_H2);
        server = new HttpServerExample(scheduler, database.dataSource());
        base = URI.create("http://127.0.0.1:" + server.start(0));
        http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    }

    @AfterEach
    void stop() {
        http.close();
        server.stop();
        scheduler.close();
        database.close();
    }

    private HttpResponse<String> get(String pathAndQuery) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(base.resolve(pathAndQuery)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<byte[]> post(String path, byte[] body) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(base.resolve(path)).POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(),
                HttpResponse.BodyHandlers.ofByteArray());
    }

    @Test
    void concurrentClientsGetTheirOwnAnswersFromEveryEndpoint() throws Exception {
        int clients = 20;
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> done = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                int client = c;
                done.add(threads.submit(() -> {
                    HttpResponse<String> hello = get("/hello");
                    assertEquals(200, hello.statusCode());
                    assertEquals("hello from a fiber\n", hello.body(), "the handler runs in a fiber");

                    byte[] body = ("client " + client + " ").repeat(1 + client * 50).getBytes();
                    HttpResponse<byte[]> echoed = post("/echo", body);
                    assertEquals(200, echoed.statusCode());
                    assertArrayEquals(body, echoed.body());

                    HttpResponse<String> slept = get("/sleep?ms=" + client);
                    assertEquals(200, slept.statusCode());
                    assertEquals("slept " + client + " ms\n", slept.body());

                    int id = 1 + client * 47;
                    HttpResponse<String> item = get("/db?id=" + id);
                    assertEquals(200, item.statusCode());
                    assertEquals(DemoDatabase.answer(id), item.body());
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
        }
    }

    @Test
    void sleepsOverlapInsteadOfQueueing() throws Exception {
        int clients = 50;
        int ms = 300;
        long start = System.nanoTime();
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<HttpResponse<String>>> responses = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                responses.add(threads.submit(() -> get("/sleep?ms=" + ms)));
            }
            for (Future<HttpResponse<String>> r : responses) {
                assertEquals(200, r.get().statusCode());
                assertEquals("slept " + ms + " ms\n", r.get().body());
            }
        }
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        assertTrue(took.compareTo(Duration.ofMillis(ms * 10L)) < 0,
                clients + " sleeps of " + ms + " ms took " + took.toMillis() + " ms: they did not run at once");
    }

    @Test
    void largeBodyIsEchoedWhole() throws Exception {
        byte[] body = new byte[4 << 20];
        new Random(7).nextBytes(body);
        HttpResponse<byte[]> echoed = post("/echo", body);
        assertEquals(200, echoed.statusCode());
        assertEquals(body.length, echoed.body().length);
        assertTrue(Arrays.equals(body, echoed.body()), "the echoed body differs");
    }

    @Test
    void badRequestsGetErrorStatuses() throws Exception {
        for (String bad : List.of("/sleep", "/sleep?ms=soon", "/sleep?ms=-1", "/sleep?ms=" + (HttpServerExample.MAX_SLEEP_MS + 1))) {
            HttpResponse<String> r = get(bad);
            assertEquals(400, r.statusCode(), bad);
            assertTrue(r.body().startsWith("usage: /sleep?ms=N"), bad + ": " + r.body());
        }
        HttpResponse<String> getEcho = get("/echo");
        assertEquals(405, getEcho.statusCode());
        assertEquals("POST", getEcho.headers().firstValue("Allow").orElse(""));
        assertEquals(404, get("/nothing-here").statusCode());
        for (String bad : List.of("/db", "/db?id=first", "/db?id=-3", "/db?name=x")) {
            HttpResponse<String> r = get(bad);
            assertEquals(400, r.statusCode(), bad);
            assertEquals("usage: /db?id=N with N from 1 to " + DemoDatabase.ROWS + "\n", r.body(), bad);
        }
        HttpResponse<String> missing = get("/db?id=" + (DemoDatabase.ROWS + 1));
        assertEquals(404, missing.statusCode());
        assertEquals("no item " + (DemoDatabase.ROWS + 1) + "\n", missing.body());
    }

    @Test
    void withoutADatabaseDbAnswers503() throws Exception {
        try (HttpServerExample noDatabase = new HttpServerExample(scheduler)) {
            URI uri = URI.create("http://127.0.0.1:" + noDatabase.start(0) + "/db?id=1");
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(503, r.statusCode());
            assertEquals("this server has no database\n", r.body());
        }
    }

    /** What makes the demo exit 1 on a wrong database answer: its load clients' check. */
    @Test
    void theLoadClientsCheckCatchesAWrongDatabaseAnswer() throws Exception {
        ServerLoad.expect(base.resolve("/db?id=7").toURL(), DemoDatabase.answer(7));
        try (Connection c = database.dataSource().getConnection(); Statement s = c.createStatement()) {
            assertEquals(1, s.executeUpdate("update " + DemoDatabase.TABLE + " set price_cents = price_cents + 1 where id = 7"));
        }
        IOException wrong = assertThrows(IOException.class, () -> ServerLoad.expect(base.resolve("/db?id=7").toURL(),
                DemoDatabase.answer(7)));
        assertTrue(wrong.getMessage().contains("GET /db?id=7 answered 200 'item 7: item-7, " + (DemoDatabase.priceCents(7) + 1)
                + " cents', expected '" + DemoDatabase.answer(7).strip() + "'"), wrong.getMessage());
        IOException notFound = assertThrows(IOException.class, () -> ServerLoad.expect(base.resolve("/db?id=0").toURL(), "x"));
        assertTrue(notFound.getMessage().contains("answered 404 'no item 0'"), notFound.getMessage());
    }

    @Test
    void stopEndsEveryExchangeFiber() throws Exception {
        for (int i = 0; i < 10; i++) {
            assertEquals(200, get("/hello").statusCode());
        }
        server.stop();
        scheduler.shutdown();
        assertTrue(scheduler.awaitTermination(Duration.ofSeconds(5)), "every exchange fiber ended: " + scheduler.stats());
        assertTrue(scheduler.stats().fibersSpawned() >= 10, "a fiber per exchange: " + scheduler.stats());
        assertEquals(0, scheduler.stats().fibersAlive());
    }
}
