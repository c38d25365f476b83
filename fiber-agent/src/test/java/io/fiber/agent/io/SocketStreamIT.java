package io.fiber.agent.io;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * How a stream connection ends, seen by a body blocked on it: the peer's close is EOF (-1, and
 * {@code readAllBytes} returns everything sent before it); the peer's reset is
 * {@code SocketException: Connection reset}; a half-close is EOF for one direction while the other
 * still carries the reply.
 */
class SocketStreamIT {
    private static final byte[] REQUEST = randomBytes(300_000);

    @OnEachKind
    void peerCloseIsEof(Kind kind) throws Exception {
        try (Loopback.Sockets s = Loopback.sockets()) {
            InputStream in = s.near().getInputStream();
            Body<Integer> body = Body.start(kind, in::read).awaitBlockedIn("Socket$SocketInputStream.read");
            long closed = System.nanoTime();
            s.far().close();
            Outcome<Integer> eof = body.outcome();
            assertEquals(-1, eof.value());
            eof.assertEndedPromptlyAfter(closed);
            assertEquals(-1, Body.run(kind, in::read).value(), "EOF again on the next read");
        }
    }

    /** More than the socket buffers hold, so the body blocks and wakes many times before EOF. */
    @OnEachKind
    void readAllBytesReturnsEverythingSentBeforeTheClose(Kind kind) throws Exception {
        try (Loopback.Sockets s = Loopback.sockets()) {
            Body<byte[]> body = Body.start(kind, s.near().getInputStream()::readAllBytes);
            try (OutputStream out = s.far().getOutputStream()) {
                out.write(REQUEST);
            }
            assertArrayEquals(REQUEST, body.outcome().value());
        }
    }

    @OnEachKind
    void peerResetIsConnectionReset(Kind kind) throws Exception {
        try (Loopback.Sockets s = Loopback.sockets()) {
            InputStream in = s.near().getInputStream();
            Body<Integer> body = Body.start(kind, in::read).awaitBlockedIn("Socket$SocketInputStream.read");
            long reset = System.nanoTime();
            s.far().setSoLinger(true, 0);
            s.far().close();
            Outcome<Integer> outcome = body.outcome();
            outcome.threw(SocketException.class, "Connection reset");
            outcome.assertEndedPromptlyAfter(reset);
            Body.run(kind, in::read).threw(SocketException.class, "Connection reset");
        }
    }

    /** The body is the client: it sends, shuts down its output, and still reads the server's reply. */
    @OnEachKind
    void halfClosedClientReadsTheReply(Kind kind) throws Exception {
        try (ServerSocket listener = Loopback.listen(1)) {
            FutureTask<Integer> server = new FutureTask<>(() -> {
                try (Socket s = listener.accept()) {
                    int received = s.getInputStream().readAllBytes().length;
                    s.getOutputStream().write(("got " + received).getBytes(StandardCharsets.US_ASCII));
                    return received;
                }
            });
            Thread.ofPlatform().name("half-close-server").start(server);
            String reply = Body.run(kind, () -> {
                try (Socket s = new Socket(Loopback.ADDRESS, listener.getLocalPort())) {
                    s.getOutputStream().write(REQUEST);
                    s.shutdownOutput();
                    return new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
                }
            }).value();
            assertEquals("got " + REQUEST.length, reply);
            assertEquals(REQUEST.length, server.get(Body.LIMIT.toMillis(), TimeUnit.MILLISECONDS));
        }
    }

    /** The body is the server: its read ends at the client's half-close, then it replies. */
    @OnEachKind
    void serverReadsToTheHalfCloseThenReplies(Kind kind) throws Exception {
        try (Loopback.Sockets s = Loopback.sockets()) {
            Body<Integer> body = Body.start(kind, () -> {
                int received = s.near().getInputStream().readAllBytes().length;
                s.near().getOutputStream().write(("got " + received).getBytes(StandardCharsets.US_ASCII));
                s.near().shutdownOutput();
                return received;
            });
            s.far().getOutputStream().write(REQUEST);
            body.awaitBlockedIn("Socket$SocketInputStream.read");
            s.far().shutdownOutput();
            assertTrue(s.far().isOutputShutdown());
            s.far().setSoTimeout((int) Body.LIMIT.toMillis());
            String reply = new String(s.far().getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            assertEquals("got " + REQUEST.length, reply);
            assertEquals(REQUEST.length, body.outcome().value());
        }
    }

    private static byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        new Random(42).nextBytes(b);
        return b;
    }
}
