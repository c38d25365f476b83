package io.fiber.load;

import io.fiber.load.ClosedLoopLoad.OnFailure;
import io.fiber.load.ClosedLoopLoad.Phases;
import io.fiber.load.ClosedLoopLoad.Result;
import io.fiber.load.LoopbackEcho.Behaviour;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The harness against real loopback connections: echo connections driven by selector loops and by
 * blocking loops count verified round trips only in the measured period; a wrong echo fails a client
 * and, as asked, the run; a failed blocking client leaves the others running; and a server that stops
 * answering is found out at the end rather than hanging the run.
 */
@Timeout(30)
class ClosedLoopLoadTest {
    private static final Duration WARM_UP = Duration.ofMillis(200);
    private static final Duration MEASURED = Duration.ofMillis(600);

    @Test
    void selectorLoopsShareManyConnectionsAndCountOnlyTheMeasuredPeriod() throws Exception {
        withConnections(Behaviour.FAITHFUL, 10, connections -> {
            List<ClientLoop> loops = EchoConnection.selectorLoops(connections, 3);
            assertEquals(3, loops.size(), "10 connections over at most 3 threads");
            RecordedPhases phases = new RecordedPhases();
            Result r = ClosedLoopLoad.run(loops, WARM_UP, MEASURED, OnFailure.STOP_THE_RUN, phases);
            assertEquals(List.of("measuring", "measured"), phases.seen);
            assertEquals(3, r.clients());
            assertEquals(0, r.failedClients());
            assertNull(r.firstFailure());
            assertTrue(r.roundTrips() > 0, r.toString());
            assertEquals(r.roundTrips(), r.latency().count(), "every counted round trip has its latency");
            assertTrue(r.seconds() >= MEASURED.toNanos() / 1e9 && r.seconds() < 5, r.toString());
            long p50 = r.latency().percentile(50);
            assertTrue(p50 > 0 && p50 <= r.latency().percentile(99) && r.latency().percentile(99) <= r.latency().max(), r.toString());
        });
    }

    @Test
    void blockingLoopsRunAClientEach() throws Exception {
        withConnections(Behaviour.FAITHFUL, 4, connections -> {
            Result r = ClosedLoopLoad.run(connections.stream().map(ClientLoop::blocking).toList(), WARM_UP, MEASURED,
                    OnFailure.CARRY_ON, Phases.NONE);
            assertEquals(4, r.clients());
            assertEquals(0, r.failedClients());
            assertTrue(r.roundTrips() > 0 && r.roundTripsPerSecond() > 0, r.toString());
        });
    }

    @Test
    void aCorruptedEchoFailsTheRunAtOnce() throws Exception {
        withConnections(Behaviour.CORRUPTING, 2, connections -> {
            RecordedPhases phases = new RecordedPhases();
            long start = System.nanoTime();
            Result r = ClosedLoopLoad.run(EchoConnection.selectorLoops(connections, 2), Duration.ofSeconds(10),
                    Duration.ofSeconds(10), OnFailure.STOP_THE_RUN, phases);
            assertTrue(System.nanoTime() - start < Duration.ofSeconds(5).toNanos(), "the first failure ends the warm-up");
            assertEquals(List.of(), phases.seen, "a run that failed in its warm-up measures nothing");
            assertTrue(r.failedClients() >= 1);
            assertInstanceOf(IOException.class, r.firstFailure());
            assertTrue(r.firstFailure().getMessage().contains("differs from what was sent"), r.firstFailure().getMessage());
            assertEquals(0, r.roundTrips());
        });
    }

    @Test
    void aFailedClientStopsAloneWhenTheRunCarriesOn() throws Exception {
        AtomicLong calls = new AtomicLong();
        List<ClientLoop> clients = new ArrayList<>();
        clients.add(ClientLoop.blocking(() -> {
            throw new IOException("wrong answer");
        }));
        for (int i = 0; i < 3; i++) {
            clients.add(ClientLoop.blocking(() -> {
                calls.incrementAndGet();
                Thread.sleep(1);
            }));
        }
        Result r = ClosedLoopLoad.run(clients, WARM_UP, MEASURED, OnFailure.CARRY_ON, Phases.NONE);
        assertEquals(4, r.clients());
        assertEquals(1, r.failedClients());
        assertEquals("java.io.IOException: wrong answer", r.firstFailure().toString());
        assertTrue(r.roundTrips() > 0 && r.roundTrips() < calls.get(), "the others went on, counted in the measured period only: " + r);
    }

    @Test
    void aServerThatStopsAnsweringIsAbortedAfterTheGraceAndCounted() throws Exception {
        withConnections(Behaviour.FALLS_SILENT, 1, connections -> {
            Result r = ClosedLoopLoad.run(List.of(ClientLoop.blocking(connections.getFirst())), WARM_UP, MEASURED,
                    OnFailure.CARRY_ON, Phases.NONE, Duration.ofMillis(300));
            assertEquals(1, r.failedClients());
            assertTrue(r.firstFailure().getMessage().contains("the server stopped answering"), r.firstFailure().getMessage());
            assertEquals(0, r.roundTrips(), "its one round trip was in the warm-up");
        });
    }

    /** A test body that gets open connections to a server that answers as told. */
    private interface ConnectionsTest {
        void run(List<EchoConnection> connections) throws Exception;
    }

    /** Runs {@code test} with {@code count} connections to a {@link LoopbackEcho}, then closes them and it. */
    private static void withConnections(Behaviour behaviour, int count, ConnectionsTest test) throws Exception {
        try (LoopbackEcho server = new LoopbackEcho(behaviour)) {
            List<EchoConnection> connections = new ArrayList<>();
            try {
                for (int i = 0; i < count; i++) {
                    connections.add(EchoConnection.open(server.address(), i));
                }
                test.run(connections);
            } finally {
                connections.forEach(EchoConnection::close);
            }
        }
    }

    /** The phase changes a run announced, in order. */
    private static final class RecordedPhases implements Phases {
        final List<String> seen = new CopyOnWriteArrayList<>();

        @Override
        public void measuring() {
            seen.add("measuring");
        }

        @Override
        public void measured() {
            seen.add("measured");
        }
    }
}
