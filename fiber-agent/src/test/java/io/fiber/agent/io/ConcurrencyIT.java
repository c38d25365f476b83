package io.fiber.agent.io;

import io.fiber.FiberScheduler;
import org.junit.jupiter.api.Test;

import java.io.DataInputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Many bodies blocked on sockets at once: 200 concurrent echo round trips, each on its own
 * connection, all succeed; and a fiber blocked in a socket read does not hold its carrier, so a
 * 1-carrier scheduler with two blocked fibers still runs a third.
 */
class ConcurrencyIT {
    private static final int CONNECTIONS = 200;

    /** Every body connects, waits until all 200 are connected, then does its round trip. */
    @OnEachKind
    void twoHundredConcurrentEchoRoundTrips(Kind kind) throws Exception {
        try (PlatformEchoServer echo = new PlatformEchoServer(Loopback.listen(CONNECTIONS))) {
            CountDownLatch connected = new CountDownLatch(CONNECTIONS);
            List<Body<String>> bodies = new ArrayList<>();
            for (int i = 0; i < CONNECTIONS; i++) {
                byte[] message = ("message " + i + " of " + kind).getBytes(StandardCharsets.US_ASCII);
                bodies.add(Body.start(kind, () -> {
                    try (Socket s = new Socket(Loopback.ADDRESS, echo.port())) {
                        connected.countDown();
                        assertTrue(connected.await(Body.LIMIT.toMillis(), TimeUnit.MILLISECONDS), "all connected");
                        s.getOutputStream().write(message);
                        byte[] back = new byte[message.length];
                        new DataInputStream(s.getInputStream()).readFully(back);
                        return new String(back, StandardCharsets.US_ASCII);
                    }
                }));
            }
            for (int i = 0; i < CONNECTIONS; i++) {
                assertEquals("message " + i + " of " + kind, bodies.get(i).outcome().value());
            }
        }
    }

    @Test
    void aFiberBlockedInAReadDoesNotHoldItsCarrier() throws Exception {
        try (FiberScheduler oneCarrier = Body.newScheduler("io-it-one", 1);
             Loopback.Sockets first = Loopback.sockets();
             Loopback.Sockets second = Loopback.sockets()) {
            Body<Integer> a = Body.start(oneCarrier, first.near().getInputStream()::read)
                    .awaitBlockedIn("Socket$SocketInputStream.read");
            Body<Integer> b = Body.start(oneCarrier, second.near().getInputStream()::read)
                    .awaitBlockedIn("Socket$SocketInputStream.read");

            assertEquals("ran", Body.start(oneCarrier, () -> "ran").outcome().value(),
                    "a third fiber runs while two are blocked in reads");

            first.far().getOutputStream().write(1);
            second.far().getOutputStream().write(2);
            assertEquals(1, a.outcome().value());
            assertEquals(2, b.outcome().value());
        }
    }
}
