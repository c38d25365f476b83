package io.fiber.agent.io;

import io.fiber.FiberTimeoutException;
import io.fiber.Timeout;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An {@link io.fiber.Timeout} that passes while the body waits on a real loopback socket (issue
 * #16): exactly what the caller gets, and whether the socket is still usable afterwards.
 *
 * <ul>
 *   <li>In our reactor (the agent is present and the body is a fiber on our carriers): the deadline
 *       wakes the wait without an interrupt, and the call throws {@link SocketTimeoutException}
 *       (message: the deadline's) whose cause is the {@link FiberTimeoutException}; the timeout counts
 *       as reported, so {@code close()} adds nothing; the socket, channel or listener stays open and
 *       the next call gets what the peer sends.</li>
 *   <li>Elsewhere (no agent, or a plain virtual thread on the JDK's poller): the deadline
 *       interrupts, the JDK closes the socket, the call throws what an interrupt gives
 *       ({@code SocketException: Closed by interrupt}, or {@link ClosedByInterruptException} for a
 *       channel), and {@code close()} clears the interrupt and adds the {@link FiberTimeoutException}
 *       as suppressed.</li>
 *   <li>A {@link Selector} wait is interrupted everywhere (the JDK's select returns early and does
 *       not close the selector); a platform thread's socket read ignores the interrupt.</li>
 * </ul>
 * In every case the interrupt status is clear after the try block.
 */
class TimeoutIT {
    private static final boolean AGENT = Boolean.getBoolean("fiber.test.agent");
    private static final int TIMEOUT_MILLIS = 200;
    private static final Duration TIMEOUT = Duration.ofMillis(TIMEOUT_MILLIS);
    private static final String DEADLINE = "deadline of PT0.2S passed";

    /** Whether a body of {@code kind} waits for sockets in its carrier's reactor: under the agent, a plain virtual thread is a fiber too. */
    private static boolean inReactor(Kind kind) {
        return AGENT;
    }

    /**
     * Runs {@code io} on a thread of {@code kind} inside {@code try (Timeout t = Timeout.after(200 ms))};
     * {@code interruptedAfter} gets the body's interrupt status after the try block.
     */
    private static <T> Outcome<T> underTimeout(Kind kind, AtomicBoolean interruptedAfter, Callable<T> io) {
        return Body.run(kind, () -> {
            try {
                try (Timeout t = Timeout.after(TIMEOUT)) {
                    return io.call();
                }
            } finally {
                interruptedAfter.set(Thread.currentThread().isInterrupted());
            }
        });
    }

    /** The reactor case: a {@code SocketTimeoutException} caused by the deadline, nothing suppressed. */
    private static void assertSocketTimeout(Outcome<?> outcome) {
        SocketTimeoutException e = outcome.threw(SocketTimeoutException.class, DEADLINE);
        FiberTimeoutException cause = assertInstanceOf(FiberTimeoutException.class, e.getCause(), "the cause is the deadline");
        assertEquals(TIMEOUT, cause.timeout());
        assertEquals(0, e.getSuppressed().length, "close() does not report the deadline a second time");
        outcome.assertTookAbout(TIMEOUT_MILLIS);
    }

    /** The interrupt case: what the JDK throws for an interrupt, with the deadline suppressed (close()'s). */
    private static void assertClosedByInterrupt(Outcome<?> outcome, Class<? extends Throwable> type, String message) {
        Throwable e = outcome.threw(type, message);
        assertEquals(1, e.getSuppressed().length, "close() reports the deadline: " + e);
        FiberTimeoutException suppressed = assertInstanceOf(FiberTimeoutException.class, e.getSuppressed()[0]);
        assertEquals(TIMEOUT, suppressed.timeout());
        assertNull(e.getCause());
        outcome.assertTookAbout(TIMEOUT_MILLIS);
    }

    @OnEachKind
    void socketRead(Kind kind) throws Exception {
        try (Loopback.Sockets s = Loopback.sockets()) {
            InputStream in = s.near().getInputStream();
            AtomicBoolean interrupted = new AtomicBoolean();
            Outcome<Integer> outcome = underTimeout(kind, interrupted, in::read);
            assertFalse(interrupted.get(), "no interrupt is left behind");
            if (inReactor(kind)) {
                assertSocketTimeout(outcome);
                assertFalse(s.near().isClosed(), "the socket stays open");
                Body<Integer> later = Body.start(kind, in::read).awaitBlockedIn("Socket$SocketInputStream.read");
                s.far().getOutputStream().write(42);
                assertEquals(42, later.outcome().value(), "the next read gets what the peer writes after the timeout");
            } else {
                assertClosedByInterrupt(outcome, SocketException.class, "Closed by interrupt");
                assertTrue(s.near().isClosed(), "the JDK closes the socket of an interrupted virtual thread");
            }
        }
    }

    @OnEachKind
    void socketChannelRead(Kind kind) throws Exception {
        try (Loopback.Channels c = Loopback.channels()) {
            AtomicBoolean interrupted = new AtomicBoolean();
            Outcome<Integer> outcome = underTimeout(kind, interrupted, () -> c.near().read(ByteBuffer.allocate(16)));
            assertFalse(interrupted.get(), "no interrupt is left behind");
            if (inReactor(kind)) {
                assertSocketTimeout(outcome);
                assertTrue(c.near().isOpen(), "the channel stays open");
                ByteBuffer buffer = ByteBuffer.allocate(16);
                Body<Integer> later = Body.start(kind, () -> c.near().read(buffer)).awaitBlockedIn("SocketChannelImpl.read");
                c.far().write(ByteBuffer.wrap(new byte[] {42}));
                assertEquals(1, later.outcome().value());
                assertEquals(42, buffer.get(0), "the next read gets what the peer writes after the timeout");
            } else {
                assertClosedByInterrupt(outcome, ClosedByInterruptException.class, null);
                assertFalse(c.near().isOpen(), "an interrupt closes the channel");
            }
        }
    }

    /** A {@code SocketChannel}'s socket adaptor: its stream reads through the channel. */
    @OnEachKind
    void socketAdaptorRead(Kind kind) throws Exception {
        try (Loopback.Channels c = Loopback.channels()) {
            InputStream in = c.near().socket().getInputStream();
            AtomicBoolean interrupted = new AtomicBoolean();
            Outcome<Integer> outcome = underTimeout(kind, interrupted, in::read);
            assertFalse(interrupted.get(), "no interrupt is left behind");
            if (inReactor(kind)) {
                assertSocketTimeout(outcome);
                assertTrue(c.near().isOpen(), "the channel stays open");
                Body<Integer> later = Body.start(kind, in::read).awaitBlockedIn("SocketChannelImpl.blockingRead");
                c.far().write(ByteBuffer.wrap(new byte[] {42}));
                assertEquals(42, later.outcome().value(), "the next read gets what the peer writes after the timeout");
            } else {
                assertClosedByInterrupt(outcome, ClosedByInterruptException.class, null);
                assertFalse(c.near().isOpen(), "an interrupt closes the channel");
            }
        }
    }

    @OnEachKind
    void serverSocketAccept(Kind kind) throws Exception {
        try (ServerSocket listener = Loopback.listen(1)) {
            AtomicBoolean interrupted = new AtomicBoolean();
            Outcome<Socket> outcome = underTimeout(kind, interrupted, listener::accept);
            assertFalse(interrupted.get(), "no interrupt is left behind");
            if (inReactor(kind)) {
                assertSocketTimeout(outcome);
                assertFalse(listener.isClosed(), "the listener stays open");
                Body<Socket> later = Body.start(kind, listener::accept).awaitBlockedIn("ServerSocket.accept");
                try (Socket client = new Socket(Loopback.ADDRESS, listener.getLocalPort());
                     Socket accepted = later.outcome().value()) {
                    assertEquals(client.getLocalSocketAddress(), accepted.getRemoteSocketAddress());
                }
            } else {
                assertClosedByInterrupt(outcome, SocketException.class, "Closed by interrupt");
                assertTrue(listener.isClosed());
            }
        }
    }

    /**
     * A write blocked on a full send buffer (the peer does not read). In the reactor the socket stays
     * open, and a part of the data, of unknown length, was sent: the peer gets it, then whatever is
     * written next.
     */
    @OnEachKind
    void socketWrite(Kind kind) throws Exception {
        try (Loopback.Sockets s = Loopback.sockets()) {
            OutputStream out = s.near().getOutputStream();
            byte[] more = new byte[64 << 20]; // far more than loopback's socket buffers
            AtomicBoolean interrupted = new AtomicBoolean();
            Outcome<Void> outcome = underTimeout(kind, interrupted, () -> {
                out.write(more);
                return null;
            });
            assertFalse(interrupted.get(), "no interrupt is left behind");
            if (inReactor(kind)) {
                assertSocketTimeout(outcome);
                assertFalse(s.near().isClosed(), "the socket stays open");
                CompletableFuture<Long> drained = CompletableFuture.supplyAsync(() -> {
                    try {
                        return s.far().getInputStream().transferTo(OutputStream.nullOutputStream());
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                });
                Outcome<Void> next = Body.run(kind, () -> {
                    out.write(1);
                    s.near().shutdownOutput();
                    return null;
                });
                next.value();
                long got = drained.get(Body.LIMIT.toMillis(), TimeUnit.MILLISECONDS);
                assertTrue(got > 1 && got < more.length + 1, "the peer got the part sent before the timeout, then the next write: " + got);
            } else {
                assertClosedByInterrupt(outcome, SocketException.class, "Closed by interrupt");
                assertTrue(s.near().isClosed());
            }
        }
    }

    /**
     * A connect (the listener's accept queue is full, so the SYN is dropped): a failed connect
     * closes the socket whatever ended it, so only the exception differs.
     */
    @OnEachKind
    void socketConnect(Kind kind) throws Exception {
        try (ServerSocket listener = Loopback.listen(1)) {
            List<Socket> backlog = SocketTimeoutIT.fillAcceptQueue(listener);
            try (Socket socket = new Socket()) {
                InetSocketAddress address = new InetSocketAddress(Loopback.ADDRESS, listener.getLocalPort());
                AtomicBoolean interrupted = new AtomicBoolean();
                Outcome<Void> outcome = underTimeout(kind, interrupted, () -> {
                    socket.connect(address);
                    return null;
                });
                assertFalse(interrupted.get(), "no interrupt is left behind");
                if (inReactor(kind)) {
                    assertSocketTimeout(outcome);
                } else {
                    assertClosedByInterrupt(outcome, SocketException.class, "Closed by interrupt");
                }
                assertTrue(socket.isClosed(), "a failed connect closes the socket");
            } finally {
                for (Socket s : backlog) {
                    s.close();
                }
            }
        }
    }

    @OnEachKind
    void datagramSocketReceive(Kind kind) throws Exception {
        try (DatagramSocket receiver = new DatagramSocket(new InetSocketAddress(Loopback.ADDRESS, 0));
             DatagramSocket sender = new DatagramSocket(new InetSocketAddress(Loopback.ADDRESS, 0))) {
            AtomicBoolean interrupted = new AtomicBoolean();
            Outcome<Void> outcome = underTimeout(kind, interrupted, () -> {
                receiver.receive(new DatagramPacket(new byte[64], 64));
                return null;
            });
            assertFalse(interrupted.get(), "no interrupt is left behind");
            if (inReactor(kind)) {
                assertSocketTimeout(outcome);
                assertFalse(receiver.isClosed(), "the socket stays open");
                DatagramPacket packet = new DatagramPacket(new byte[64], 64);
                Body<Void> later = Body.<Void>start(kind, () -> {
                    receiver.receive(packet);
                    return null;
                }).awaitBlockedIn("DatagramSocket.receive");
                sender.send(new DatagramPacket(new byte[] {42}, 1, receiver.getLocalSocketAddress()));
                later.outcome().value();
                assertEquals(1, packet.getLength());
                assertEquals(42, packet.getData()[0], "the next receive gets the packet sent after the timeout");
            } else {
                assertClosedByInterrupt(outcome, SocketException.class, "Closed by interrupt");
                assertTrue(receiver.isClosed());
            }
        }
    }

    /** Nested deadlines: the one that passes is the one reported, and neither close() throws. */
    @OnEachKind
    void nestedTimeouts(Kind kind) throws Exception {
        try (Loopback.Sockets s = Loopback.sockets()) {
            InputStream in = s.near().getInputStream();
            AtomicBoolean interrupted = new AtomicBoolean();
            Outcome<Integer> outcome = underTimeout(kind, interrupted, () -> {
                try (Timeout inner = Timeout.after(Duration.ofSeconds(30))) {
                    return in.read();
                }
            });
            assertFalse(interrupted.get(), "no interrupt is left behind");
            if (inReactor(kind)) {
                assertSocketTimeout(outcome); // the outer 200 ms, not the inner 30 s
                assertFalse(s.near().isClosed());
            } else {
                assertClosedByInterrupt(outcome, SocketException.class, "Closed by interrupt");
            }
        }
    }

    /**
     * A read under the outer deadline after an inner one closed: the wait is still the outer
     * deadline's (a socket wait skips the thread-local lookup only when no Timeout is open at all).
     */
    @OnEachKind
    void readUnderTheOuterTimeoutAfterAnInnerOneClosed(Kind kind) throws Exception {
        try (Loopback.Sockets s = Loopback.sockets()) {
            InputStream in = s.near().getInputStream();
            AtomicBoolean interrupted = new AtomicBoolean();
            Outcome<Integer> outcome = underTimeout(kind, interrupted, () -> {
                try (Timeout inner = Timeout.after(Duration.ofSeconds(30))) {
                    inner.duration();
                }
                return in.read();
            });
            assertFalse(interrupted.get(), "no interrupt is left behind");
            if (inReactor(kind)) {
                assertSocketTimeout(outcome);
                assertFalse(s.near().isClosed());
            } else {
                assertClosedByInterrupt(outcome, SocketException.class, "Closed by interrupt");
            }
        }
    }

    /** A cancel of a fiber blocked in a read under a Timeout is an interrupt, and closes the socket, as without one. */
    @Test
    void cancelUnderATimeoutStillClosesTheSocket() throws Exception {
        try (Loopback.Sockets s = Loopback.sockets()) {
            Body<Integer> body = Body.start(Kind.FIBER, () -> {
                try (Timeout t = Timeout.after(Duration.ofSeconds(30))) {
                    return s.near().getInputStream().read();
                }
            }).awaitBlockedIn("Socket$SocketInputStream.read");
            assertTrue(body.fiber().cancel());
            Throwable e = body.outcome().threw(SocketException.class, "Closed by interrupt");
            assertEquals(0, e.getSuppressed().length, "the deadline did not pass");
            assertTrue(s.near().isClosed());
        }
    }

    /** {@link Timeout#call}: a {@link FiberTimeoutException} whose cause is what the call threw. */
    @OnEachKind
    void timeoutCallAroundASocketRead(Kind kind) throws Exception {
        try (Loopback.Sockets s = Loopback.sockets()) {
            InputStream in = s.near().getInputStream();
            Outcome<Integer> outcome = Body.run(kind, () -> Timeout.call(TIMEOUT, in::read));
            FiberTimeoutException e = outcome.threw(FiberTimeoutException.class, DEADLINE);
            outcome.assertTookAbout(TIMEOUT_MILLIS);
            if (inReactor(kind)) {
                SocketTimeoutException cause = assertInstanceOf(SocketTimeoutException.class, e.getCause());
                assertInstanceOf(FiberTimeoutException.class, cause.getCause());
                assertFalse(s.near().isClosed(), "the socket stays open");
                Body<Integer> later = Body.start(kind, in::read).awaitBlockedIn("Socket$SocketInputStream.read");
                s.far().getOutputStream().write(42);
                assertEquals(42, later.outcome().value());
            } else {
                SocketException cause = assertInstanceOf(SocketException.class, e.getCause());
                assertEquals("Closed by interrupt", cause.getMessage());
                assertTrue(s.near().isClosed());
            }
        }
    }

    /**
     * The deadline passes while the body runs (no wait to wake), so it interrupts; the socket read
     * that then has to wait reports it. In the reactor, a Socket's stream turns that interrupt into
     * the same {@code SocketTimeoutException} at once, and the socket stays open.
     */
    @OnEachKind
    void socketReadAfterTheDeadlinePassed(Kind kind) throws Exception {
        try (Loopback.Sockets s = Loopback.sockets()) {
            InputStream in = s.near().getInputStream();
            AtomicBoolean interrupted = new AtomicBoolean();
            Outcome<Integer> outcome = underTimeout(kind, interrupted, () -> {
                spinUntilInterrupted();
                return in.read();
            });
            assertFalse(interrupted.get(), "no interrupt is left behind");
            if (inReactor(kind)) {
                assertSocketTimeout(outcome);
                assertFalse(s.near().isClosed(), "the socket stays open");
                s.far().getOutputStream().write(42);
                assertEquals(42, Body.run(kind, in::read).value());
            } else {
                assertClosedByInterrupt(outcome, SocketException.class, "Closed by interrupt");
                assertTrue(s.near().isClosed());
            }
        }
    }

    /**
     * The same for a {@code SocketChannel} read: the JDK closes an interruptible channel as soon as
     * a blocking operation begins with the interrupt pending, before any wait, so this case is the
     * interrupt's everywhere.
     */
    @OnEachKind
    void socketChannelReadAfterTheDeadlinePassed(Kind kind) throws Exception {
        try (Loopback.Channels c = Loopback.channels()) {
            AtomicBoolean interrupted = new AtomicBoolean();
            Outcome<Integer> outcome = underTimeout(kind, interrupted, () -> {
                spinUntilInterrupted();
                return c.near().read(ByteBuffer.allocate(16));
            });
            assertFalse(interrupted.get(), "no interrupt is left behind");
            assertClosedByInterrupt(outcome, ClosedByInterruptException.class, null);
            assertFalse(c.near().isOpen());
        }
    }

    private static void spinUntilInterrupted() {
        while (!Thread.currentThread().isInterrupted()) {
            Thread.onSpinWait();
        }
    }

    /**
     * {@link Selector#select()}: the deadline interrupts it everywhere; select returns (0 keys), the
     * selector stays open, and {@code close()} throws the {@link FiberTimeoutException}.
     */
    @OnEachKind
    void selectorSelect(Kind kind) throws Exception {
        try (Loopback.Channels c = Loopback.channels(); Selector selector = Selector.open()) {
            c.near().configureBlocking(false);
            c.near().register(selector, SelectionKey.OP_READ);
            AtomicBoolean interruptedInside = new AtomicBoolean();
            AtomicBoolean interrupted = new AtomicBoolean();
            Outcome<Integer> outcome = underTimeout(kind, interrupted, () -> {
                int selected = selector.select();
                interruptedInside.set(Thread.currentThread().isInterrupted());
                return selected;
            });
            outcome.threw(FiberTimeoutException.class, DEADLINE);
            outcome.assertTookAbout(TIMEOUT_MILLIS);
            assertTrue(interruptedInside.get(), "select returned with the deadline's interrupt set");
            assertFalse(interrupted.get(), "close() cleared it");
            assertTrue(selector.isOpen());
            assertTrue(c.near().isOpen());
        }
    }

    /**
     * A platform thread's socket read does not wake for an interrupt (the JDK's {@code Net.poll}):
     * it ends when the peer writes, and {@code close()} then reports the passed deadline.
     */
    @Test
    void platformThreadSocketRead() throws Exception {
        try (Loopback.Sockets s = Loopback.sockets()) {
            CompletableFuture<Integer> read = new CompletableFuture<>();
            CompletableFuture<Throwable> fromClose = new CompletableFuture<>();
            AtomicBoolean interrupted = new AtomicBoolean();
            Thread.ofPlatform().name("timeout-it-platform").start(() -> {
                Throwable thrown = null;
                try (Timeout t = Timeout.after(TIMEOUT)) {
                    read.complete(s.near().getInputStream().read());
                } catch (Throwable e) {
                    thrown = e;
                }
                interrupted.set(Thread.currentThread().isInterrupted());
                fromClose.complete(thrown);
            });
            Thread.sleep(3L * TIMEOUT_MILLIS);
            assertFalse(read.isDone(), "the deadline did not end the read");
            s.far().getOutputStream().write(42);
            assertEquals(42, read.get(Body.LIMIT.toMillis(), TimeUnit.MILLISECONDS));
            Throwable e = fromClose.get(Body.LIMIT.toMillis(), TimeUnit.MILLISECONDS);
            assertSame(FiberTimeoutException.class, e == null ? null : e.getClass(), "close() reports the deadline: " + e);
            assertFalse(interrupted.get());
            assertFalse(s.near().isClosed());
        }
    }
}
