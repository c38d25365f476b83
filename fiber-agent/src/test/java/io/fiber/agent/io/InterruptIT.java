package io.fiber.agent.io;

import io.fiber.Fiber;
import org.junit.jupiter.api.Test;

import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.util.concurrent.CancellationException;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Thread#interrupt()} of a body blocked on a socket: as for any virtual thread, the JDK
 * closes the socket and the call ends with {@code SocketException: Closed by interrupt}
 * ({@link Socket}, {@link ServerSocket}) or {@link ClosedByInterruptException} (a channel), with
 * the interrupt status still set. {@link Fiber#cancel()}, which interrupts, does the same and the
 * fiber ends CANCELLED.
 */
class InterruptIT {

    @OnEachKind
    void socketRead(Kind kind) throws Exception {
        try (Loopback.Sockets s = Loopback.sockets()) {
            AtomicBoolean stillInterrupted = new AtomicBoolean();
            Body<Integer> body = Body.start(kind, () -> {
                try {
                    return s.near().getInputStream().read();
                } finally {
                    stillInterrupted.set(Thread.currentThread().isInterrupted());
                }
            }).awaitBlockedIn("Socket$SocketInputStream.read");
            long interrupted = System.nanoTime();
            body.thread().interrupt();
            Outcome<Integer> outcome = body.outcome();
            outcome.threw(SocketException.class, "Closed by interrupt");
            outcome.assertEndedPromptlyAfter(interrupted);
            assertTrue(s.near().isClosed(), "an interrupt closes the socket of a virtual thread blocked on it");
            assertTrue(stillInterrupted.get(), "the interrupt status stays set");
        }
    }

    @OnEachKind
    void serverSocketAccept(Kind kind) throws Exception {
        try (ServerSocket listener = Loopback.listen(1)) {
            Body<Socket> body = Body.start(kind, listener::accept).awaitBlockedIn("ServerSocket.accept");
            long interrupted = System.nanoTime();
            body.thread().interrupt();
            Outcome<Socket> outcome = body.outcome();
            outcome.threw(SocketException.class, "Closed by interrupt");
            outcome.assertEndedPromptlyAfter(interrupted);
            assertTrue(listener.isClosed());
        }
    }

    @OnEachKind
    void socketChannelRead(Kind kind) throws Exception {
        try (Loopback.Channels c = Loopback.channels()) {
            AtomicBoolean stillInterrupted = new AtomicBoolean();
            Body<Integer> body = Body.start(kind, () -> {
                try {
                    return c.near().read(ByteBuffer.allocate(16));
                } finally {
                    stillInterrupted.set(Thread.currentThread().isInterrupted());
                }
            }).awaitBlockedIn("SocketChannelImpl.read");
            long interrupted = System.nanoTime();
            body.thread().interrupt();
            Outcome<Integer> outcome = body.outcome();
            outcome.threw(ClosedByInterruptException.class, null);
            outcome.assertEndedPromptlyAfter(interrupted);
            assertFalse(c.near().isOpen(), "an interrupt closes the channel");
            assertTrue(stillInterrupted.get(), "the interrupt status stays set");
        }
    }

    @Test
    void fiberCancelledWhileBlockedInARead() throws Exception {
        try (Loopback.Sockets s = Loopback.sockets()) {
            Body<Integer> body = Body.start(Kind.FIBER, s.near().getInputStream()::read)
                    .awaitBlockedIn("Socket$SocketInputStream.read");
            Fiber<?> fiber = body.fiber();
            assertTrue(fiber.cancel(), "the cancel decides the outcome of a fiber blocked in a read");
            body.outcome().threw(SocketException.class, "Closed by interrupt");
            assertTrue(fiber.join(Body.LIMIT), "the cancelled fiber ends");
            assertEquals(Fiber.State.CANCELLED, fiber.state());
            assertThrows(CancellationException.class, fiber::get);
            assertTrue(s.near().isClosed());
        }
    }
}
