package io.fiber.agent.io;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.Closeable;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.util.Arrays;
import java.util.concurrent.Callable;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A socket closed by another thread while the body is blocked on it: the blocked call ends
 * promptly with the JDK's exception ({@code SocketException: Socket closed} for {@link Socket}
 * reads and {@link ServerSocket} accepts, {@link AsynchronousCloseException} for a
 * {@link java.nio.channels.SocketChannel} read), whether the closer is another fiber or a platform
 * thread, and whether the blocked body is a fiber or a plain virtual thread.
 */
class AsyncCloseIT {

    /** Who closes the socket under the blocked body. */
    enum Closer {
        OTHER_FIBER, PLATFORM_THREAD;

        /** Closes {@code c} on a thread of this kind and waits until it is closed. */
        void close(Closeable c) throws Exception {
            Callable<Void> close = () -> {
                c.close();
                return null;
            };
            switch (this) {
                case OTHER_FIBER -> Body.run(Kind.FIBER, close).value();
                case PLATFORM_THREAD -> {
                    FutureTask<Void> task = new FutureTask<>(close);
                    Thread.ofPlatform().name("closer").start(task);
                    task.get(Body.LIMIT.toMillis(), TimeUnit.MILLISECONDS);
                }
            }
        }
    }

    static Stream<Arguments> bodyAndCloser() {
        return Arrays.stream(Kind.values()).flatMap(k -> Arrays.stream(Closer.values()).map(c -> Arguments.of(k, c)));
    }

    @ParameterizedTest(name = "{0} closed by {1}")
    @MethodSource("bodyAndCloser")
    void socketRead(Kind kind, Closer closer) throws Exception {
        try (Loopback.Sockets s = Loopback.sockets()) {
            Body<Integer> body = Body.start(kind, s.near().getInputStream()::read)
                    .awaitBlockedIn("Socket$SocketInputStream.read");
            long closed = System.nanoTime();
            closer.close(s.near());
            Outcome<Integer> outcome = body.outcome();
            outcome.threw(SocketException.class, "Socket closed");
            outcome.assertEndedPromptlyAfter(closed);
        }
    }

    @ParameterizedTest(name = "{0} closed by {1}")
    @MethodSource("bodyAndCloser")
    void serverSocketAccept(Kind kind, Closer closer) throws Exception {
        try (ServerSocket listener = Loopback.listen(1)) {
            Body<Socket> body = Body.start(kind, listener::accept).awaitBlockedIn("ServerSocket.accept");
            long closed = System.nanoTime();
            closer.close(listener);
            Outcome<Socket> outcome = body.outcome();
            outcome.threw(SocketException.class, "Socket closed");
            outcome.assertEndedPromptlyAfter(closed);
        }
    }

    @ParameterizedTest(name = "{0} closed by {1}")
    @MethodSource("bodyAndCloser")
    void socketChannelRead(Kind kind, Closer closer) throws Exception {
        try (Loopback.Channels c = Loopback.channels()) {
            Body<Integer> body = Body.start(kind, () -> c.near().read(ByteBuffer.allocate(16)))
                    .awaitBlockedIn("SocketChannelImpl.read");
            long closed = System.nanoTime();
            closer.close(c.near());
            Outcome<Integer> outcome = body.outcome();
            outcome.threw(AsynchronousCloseException.class, null);
            outcome.assertEndedPromptlyAfter(closed);
        }
    }
}
