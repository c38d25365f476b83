package io.fiber.agent.io;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

import java.io.IOException;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * HTTP/1.1 clients from the body against the JDK's {@code HttpServer} on loopback (an ephemeral
 * port, handlers on the server's own platform thread): {@link HttpURLConnection} GET and POST, and
 * a synchronous {@link HttpClient#send}. The POST carries 100 KB each way, so both sides block
 * more than once. {@code HttpURLConnection} keeps connections alive between tests, so one opened by
 * a fiber may be reused by a plain virtual thread, or the other way round, as in an application.
 */
class HttpIT {
    private static final String LARGE = "fiber ".repeat(100_000 / 6);
    private static HttpServer server;
    private static URI base;

    @BeforeAll
    static void startServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress(Loopback.ADDRESS, 0), 16);
        server.createContext("/hello", exchange -> reply(exchange, "hello " + exchange.getRequestMethod()));
        server.createContext("/upper", exchange -> reply(exchange,
                new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8).toUpperCase(Locale.ROOT)));
        server.start();
        base = URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    @AfterAll
    static void stopServer() {
        server.stop(0);
    }

    private static void reply(HttpExchange exchange, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(200, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    @OnEachKind
    void httpUrlConnectionGet(Kind kind) {
        String response = Body.run(kind, () -> {
            HttpURLConnection c = (HttpURLConnection) base.resolve("/hello").toURL().openConnection();
            try {
                return c.getResponseCode() + " " + new String(c.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            } finally {
                c.disconnect();
            }
        }).value();
        assertEquals("200 hello GET", response);
    }

    @OnEachKind
    void httpUrlConnectionPost(Kind kind) {
        String response = Body.run(kind, () -> {
            HttpURLConnection c = (HttpURLConnection) base.resolve("/upper").toURL().openConnection();
            try {
                c.setRequestMethod("POST");
                c.setDoOutput(true);
                try (OutputStream out = c.getOutputStream()) {
                    out.write(LARGE.getBytes(StandardCharsets.UTF_8));
                }
                return c.getResponseCode() + " " + new String(c.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            } finally {
                c.disconnect();
            }
        }).value();
        assertEquals("200 " + LARGE.toUpperCase(Locale.ROOT), response);
    }

    @OnEachKind
    void httpClientSend(Kind kind) {
        try (HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
            String response = Body.run(kind, () -> {
                HttpResponse<String> get = client.send(HttpRequest.newBuilder(base.resolve("/hello")).build(),
                        HttpResponse.BodyHandlers.ofString());
                HttpResponse<String> post = client.send(HttpRequest.newBuilder(base.resolve("/upper"))
                                .POST(HttpRequest.BodyPublishers.ofString(LARGE)).build(),
                        HttpResponse.BodyHandlers.ofString());
                return get.version() + " " + get.statusCode() + " " + get.body() + " | "
                        + post.version() + " " + post.statusCode() + " " + post.body().equals(LARGE.toUpperCase(Locale.ROOT));
            }).value();
            assertEquals("HTTP_1_1 200 hello GET | HTTP_1_1 200 true", response);
        }
    }
}
