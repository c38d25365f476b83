package io.fiber.agent.io;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Timeouts of blocking socket calls, on a fiber exactly as on a plain virtual thread:
 * {@code SO_TIMEOUT} on a read and on an accept ends the call with {@link SocketTimeoutException}
 * after about the timeout and leaves the socket usable; a connect timeout does the same.
 */
class SocketTimeoutIT {
    private static final int TIMEOUT_MILLIS = 200;

    @OnEachKind
    void readTimesOutAndTheSocketStaysUsable(Kind kind) throws Exception {
        try (Loopback.Sockets s = Loopback.sockets()) {
            InputStream in = s.near().getInputStream();
            s.near().setSoTimeout(TIMEOUT_MILLIS);
            Outcome<Integer> timedOut = Body.run(kind, in::read);
            timedOut.threw(SocketTimeoutException.class, "Read timed out");
            timedOut.assertTookAbout(TIMEOUT_MILLIS);
            assertFalse(s.near().isClosed(), "a read timeout does not close the socket");

            s.near().setSoTimeout(5_000);
            Body<Integer> later = Body.start(kind, in::read).awaitBlockedIn("Socket$SocketInputStream.read");
            s.far().getOutputStream().write(42);
            assertEquals(42, later.outcome().value(), "a write after the timeout wakes the next read");
        }
    }

    @OnEachKind
    void acceptTimesOutAndTheListenerStaysUsable(Kind kind) throws Exception {
        try (ServerSocket listener = Loopback.listen(1)) {
            listener.setSoTimeout(TIMEOUT_MILLIS);
            Outcome<Socket> timedOut = Body.run(kind, listener::accept);
            timedOut.threw(SocketTimeoutException.class, "Accept timed out");
            timedOut.assertTookAbout(TIMEOUT_MILLIS);

            listener.setSoTimeout(5_000);
            Body<Socket> later = Body.start(kind, listener::accept).awaitBlockedIn("ServerSocket.accept");
            try (Socket client = new Socket(Loopback.ADDRESS, listener.getLocalPort());
                 Socket accepted = later.outcome().value()) {
                assertEquals(client.getLocalSocketAddress(), accepted.getRemoteSocketAddress());
            }
        }
    }

    /**
     * A listener that never accepts and whose accept queue is full: Linux then drops further SYNs
     * (net.ipv4.tcp_abort_on_overflow=0, the default), so a connect waits for its timeout. That is
     * deterministic on loopback, unlike connecting to an unroutable address.
     */
    @OnEachKind
    void connectTimesOut(Kind kind) throws Exception {
        try (ServerSocket listener = Loopback.listen(1)) {
            List<Socket> backlog = fillAcceptQueue(listener);
            try {
                InetSocketAddress address = new InetSocketAddress(Loopback.ADDRESS, listener.getLocalPort());
                Outcome<Void> timedOut = Body.run(kind, () -> {
                    try (Socket socket = new Socket()) {
                        socket.connect(address, TIMEOUT_MILLIS);
                    }
                    return null;
                });
                timedOut.threw(SocketTimeoutException.class, "Connect timed out");
                // Socket.connect passes the timeout on as a wall-clock deadline in whole milliseconds
                // (SocksSocketImpl.remainingMillis), so the JDK itself may end it up to 1 ms early.
                timedOut.assertTookAbout(TIMEOUT_MILLIS - 1);
            } finally {
                for (Socket s : backlog) {
                    s.close();
                }
            }
        }
    }

    /** Connects until a connect times out, which shows that the listener now drops SYNs. */
    static List<Socket> fillAcceptQueue(ServerSocket listener) throws IOException {
        List<Socket> sockets = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            Socket s = new Socket();
            sockets.add(s);
            try {
                s.connect(listener.getLocalSocketAddress(), 100);
            } catch (SocketTimeoutException full) {
                return sockets;
            }
        }
        for (Socket s : sockets) {
            s.close();
        }
        return fail("16 connections to a listener with backlog 1 that never accepts all succeeded:"
                + " this kernel does not drop SYNs when the accept queue is full");
    }
}
