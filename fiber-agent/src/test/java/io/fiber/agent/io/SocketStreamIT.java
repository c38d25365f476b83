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
 * still carries the reply. Reads and writes of array slices move exactly those bytes, a write larger
 * than the socket buffers arrives whole, and a write to a reset connection fails as the JDK's does.
 * Under the agent a fiber's reads and writes are the reactor's own system calls, so each of these
 * runs on a fiber, a plain virtual thread and a platform thread (which keeps the JDK's), in the JVM
 * with the agent and in the one without.
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

    /** A read into the middle of an array fills exactly the slice asked for; a write from the middle sends exactly its slice. */
    @OnEachKind
    void slicesAreReadAndWrittenInPlace(Kind kind) throws Exception {
        slicesAreReadAndWrittenInPlace(task -> Body.run(kind, task));
    }

    @org.junit.jupiter.api.Test
    void slicesAreReadAndWrittenInPlaceOnAPlatformThread() throws Exception {
        slicesAreReadAndWrittenInPlace(SocketStreamIT::onPlatformThread);
    }

    private static void slicesAreReadAndWrittenInPlace(Runner runner) throws Exception {
        try (Loopback.Sockets s = Loopback.sockets()) {
            byte[] sent = randomBytes(100);
            runner.run(() -> {
                s.near().getOutputStream().write(sent, 10, 50);
                return null;
            }).value();
            byte[] got = new byte[80];
            java.util.Arrays.fill(got, (byte) 7);
            s.far().setSoTimeout((int) Body.LIMIT.toMillis());
            int n = 0;
            while (n < 50) {
                int r = s.far().getInputStream().read(got, 20 + n, 50 - n);
                assertTrue(r > 0, "the 50 bytes arrive");
                n += r;
            }
            assertArrayEquals(java.util.Arrays.copyOfRange(sent, 10, 60), java.util.Arrays.copyOfRange(got, 20, 70));
            s.far().getOutputStream().write(sent, 0, 30);
            byte[] into = new byte[64];
            java.util.Arrays.fill(into, (byte) 7);
            int read = (Integer) runner.run(() -> s.near().getInputStream().read(into, 5, 40)).value();
            assertTrue(read > 0 && read <= 30, "read " + read);
            assertArrayEquals(java.util.Arrays.copyOfRange(sent, 0, read), java.util.Arrays.copyOfRange(into, 5, 5 + read));
            assertEquals(7, into[4], "nothing before the slice");
            assertEquals(7, into[5 + read], "nothing after what was read");
        }
    }

    /** One write of a slice many times the socket buffers: the body waits for room again and again, and every byte arrives in order. */
    @OnEachKind
    void aWriteLargerThanTheSocketBuffersArrivesWhole(Kind kind) throws Exception {
        aWriteLargerThanTheSocketBuffersArrivesWhole(task -> Body.run(kind, task));
    }

    @org.junit.jupiter.api.Test
    void aWriteLargerThanTheSocketBuffersArrivesWholeOnAPlatformThread() throws Exception {
        aWriteLargerThanTheSocketBuffersArrivesWhole(SocketStreamIT::onPlatformThread);
    }

    private static void aWriteLargerThanTheSocketBuffersArrivesWhole(Runner runner) throws Exception {
        byte[] big = randomBytes(8_000_007);
        try (Loopback.Sockets s = Loopback.sockets()) {
            FutureTask<byte[]> reader = new FutureTask<>(() -> s.far().getInputStream().readAllBytes());
            Thread.ofPlatform().daemon().start(reader);
            runner.run(() -> {
                OutputStream out = s.near().getOutputStream();
                out.write(big, 3, big.length - 3);
                s.near().shutdownOutput();
                return null;
            }).value();
            assertArrayEquals(java.util.Arrays.copyOfRange(big, 3, big.length), reader.get(Body.LIMIT.toSeconds(), TimeUnit.SECONDS));
        }
    }

    /**
     * Writing to a connection the peer reset fails with the JDK's {@code SocketException} and its
     * message (the C library's text for the error), and so does the next write.
     */
    @OnEachKind
    void writesToAResetConnectionFail(Kind kind) throws Exception {
        writesToAResetConnectionFail(task -> Body.run(kind, task));
    }

    @org.junit.jupiter.api.Test
    void writesToAResetConnectionFailOnAPlatformThread() throws Exception {
        writesToAResetConnectionFail(SocketStreamIT::onPlatformThread);
    }

    private static void writesToAResetConnectionFail(Runner runner) throws Exception {
        try (Loopback.Sockets s = Loopback.sockets()) {
            s.far().setSoLinger(true, 0);
            s.far().close();
            Outcome<Object> first = runner.run(() -> {
                for (int i = 0; i < 1_000; i++) {
                    s.near().getOutputStream().write(REQUEST, 0, 1_000);
                    Thread.sleep(1);
                }
                return "every write succeeded";
            });
            SocketException e = (SocketException) first.thrown();
            assertTrue(e != null && java.util.List.of("Connection reset by peer", "Broken pipe").contains(e.getMessage()), "got " + e);
            Throwable second = runner.run(() -> {
                s.near().getOutputStream().write(REQUEST, 0, 1_000);
                return null;
            }).thrown();
            assertTrue(second instanceof SocketException && java.util.List.of("Connection reset by peer", "Broken pipe", "Socket closed")
                    .contains(second.getMessage()), "got " + second);
        }
    }

    @FunctionalInterface
    private interface Runner {
        Outcome<Object> run(java.util.concurrent.Callable<Object> task) throws Exception;
    }

    /** Runs {@code task} on a new platform thread, which keeps the JDK's own socket code under the agent too. */
    private static <T> Outcome<T> onPlatformThread(java.util.concurrent.Callable<T> task) throws Exception {
        long start = System.nanoTime();
        FutureTask<T> run = new FutureTask<>(task);
        Thread.ofPlatform().daemon().start(run);
        try {
            T value = run.get(Body.LIMIT.toSeconds(), TimeUnit.SECONDS);
            return new Outcome<>(value, null, start, System.nanoTime());
        } catch (java.util.concurrent.ExecutionException e) {
            return new Outcome<>(null, e.getCause(), start, System.nanoTime());
        }
    }

    private static byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        new Random(42).nextBytes(b);
        return b;
    }
}
