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
        try (LoopbackEcho server = new LoopbackEcho(Behaviour.FAITHFUL)) {
            List<EchoConnection> connections = open(server, 10);
            List<String> phases = new CopyOnWriteArrayList<>();
            try {
                List<ClientLoop> loops = EchoConnection.selectorLoops(connections, 3);
                assertEquals(3, loops.size(), "10 connections over at most 3 threads");
                Result r = ClosedLoopLoad.run(loops, WARM_UP, MEASURED, OnFailure.STOP_THE_RUN, new Phases() {
                    @Override
                    public void measuring() {
                        phases.add("measuring");
                    }

                    @Override
                    public void measured() {
                        phases.add("measured");
                    }
                });
                assertEquals(List.of("measuring", "measured"), phases);
                assertEquals(3, r.clients());
                assertEquals(0, r.failedClients());
                assertNull(r.firstFailure());
                assertTrue(r.roundTrips() > 0, r.toString());
                assertEquals(r.roundTrips(), r.latency().count(), "every counted round trip has its latency");
                assertTrue(r.seconds() >= MEASURED.toNanos() / 1e9 && r.seconds() < 5, r.toString());
                long p50 = r.latency().percentile(50);
                assertTrue(p50 > 0 && p50 <= r.latency().percentile(99) && r.latency().percentile(99) <= r.latency().max(), r.toString());
            } finally {
                connections.forEach(EchoConnection::close);
            }
        }
    }

    @Test
    void blockingLoopsRunAClientEach() throws Exception {
        try (LoopbackEcho server = new LoopbackEcho(Behaviour.FAITHFUL)) {
            List<EchoConnection> connections = open(server, 4);
            try {
                Result r = ClosedLoopLoad.run(connections.stream().map(ClientLoop::blocking).toList(), WARM_UP, MEASURED,
                        OnFailure.CARRY_ON, Phases.NONE);
                assertEquals(4, r.clients());
                assertEquals(0, r.failedClients());
                assertTrue(r.roundTrips() > 0 && r.roundTripsPerSecond() > 0, r.toString());
            } finally {
                connections.forEach(EchoConnection::close);
            }
        }
    }

    @Test
    void aCorruptedEchoFailsTheRunAtOnce() throws Exception {
        try (LoopbackEcho server = new LoopbackEcho(Behaviour.CORRUPTING)) {
            List<EchoConnection> connections = open(server, 2);
            List<String> phases = new CopyOnWriteArrayList<>();
            try {
                long start = System.nanoTime();
                Result r = ClosedLoopLoad.run(EchoConnection.selectorLoops(connections, 2), Duration.ofSeconds(10),
                        Duration.ofSeconds(10), OnFailure.STOP_THE_RUN, new Phases() {
                            @Override
                            public void measuring() {
                                phases.add("measuring");
                            }
                        });
                assertTrue(System.nanoTime() - start < Duration.ofSeconds(5).toNanos(), "the first failure ends the warm-up");
                assertEquals(List.of(), phases, "a run that failed in its warm-up measures nothing");
                assertTrue(r.failedClients() >= 1);
                assertInstanceOf(IOException.class, r.firstFailure());
                assertTrue(r.firstFailure().getMessage().contains("differs from what was sent"), r.firstFailure().getMessage());
                assertEquals(0, r.roundTrips());
            } finally {
                connections.forEach(EchoConnection::close);
            }
        }
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
        try (LoopbackEcho server = new LoopbackEcho(Behaviour.FALLS_SILENT)) {
            List<EchoConnection> connections = open(server, 1);
            try {
                Result r = ClosedLoopLoad.run(List.of(ClientLoop.blocking(connections.getFirst())), WARM_UP, MEASURED,
                        OnFailure.CARRY_ON, Phases.NONE, Duration.ofMillis(300));
                assertEquals(1, r.failedClients());
                assertTrue(r.firstFailure().getMessage().contains("the server stopped answering"), r.firstFailure().getMessage());
                assertEquals(0, r.roundTrips(), "its one round trip was in the warm-up");
            } finally {
                connections.forEach(EchoConnection::close);
            }
        }
    }

    private static List<EchoConnection> open(LoopbackEcho server, int count) throws IOException {
        List<EchoConnection> connections = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            connections.add(EchoConnection.open(server.address(), i));
        }
        return connections;
    }
}
