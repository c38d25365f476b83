package io.fiber.channel;

import io.fiber.Fiber;
import io.fiber.FiberScheduler;
import io.fiber.FiberTimeoutException;
import io.fiber.Timeout;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

import static io.fiber.channel.TestSupport.awaitWaiters;
import static io.fiber.TestFibers.result;
import static io.fiber.TestFibers.scheduler;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@org.junit.jupiter.api.Timeout(value = 30, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
class SelectTest {

    @Test
    void receivesFromTheReadyChannel() throws Exception {
        Channel<Integer> a = Channel.bounded(1), b = Channel.bounded(1);
        b.send(7);
        String r = Select.<String>create()
                .onReceive(a, v -> "a" + v)
                .onReceive(b, v -> "b" + v)
                .await();
        assertEquals("b7", r);
        assertEquals(0, a.waiterCount());
    }

    @Test
    void parkedSelectIsCompletedByALaterSend() throws Exception {
        Channel<Integer> a = Channel.rendezvous(), b = Channel.bounded(2), c = Channel.unbounded();
        try (FiberScheduler s = scheduler("parked")) {
            Fiber<String> f = s.spawn(() -> Select.<String>create()
                    .onReceive(a, v -> "a" + v)
                    .onReceive(b, v -> "b" + v)
                    .onReceive(c, v -> "c" + v)
                    .await());
            awaitWaiters(a, 1);
            awaitWaiters(b, 1);
            awaitWaiters(c, 1);
            assertTrue(a.trySend(5), "the parked select takes a rendezvous item");
            assertEquals("a5", result(f));
            assertEquals(0, b.waiterCount(), "nodes in the other channels are withdrawn");
            assertEquals(0, c.waiterCount());
            assertFalse(a.trySend(6), "and nothing more");
        }
    }

    @Test
    void timeoutHandlerFiresWhenNothingIsReady() throws Exception {
        Channel<Integer> a = Channel.rendezvous(), b = Channel.bounded(1);
        long start = System.nanoTime();
        String r = Select.<String>create()
                .onReceive(a, v -> "a")
                .onReceive(b, v -> "b")
                .timeout(Duration.ofMillis(30), () -> "timeout")
                .await();
        assertEquals("timeout", r);
        assertTrue(System.nanoTime() - start >= 25_000_000L);
        assertEquals(0, a.waiterCount());
        assertEquals(0, b.waiterCount());
        assertEquals("timeout", Select.<String>create().onReceive(a, v -> "a").timeout(Duration.ZERO, () -> "timeout").await());
        b.send(1);
        assertEquals("b", Select.<String>create().onReceive(b, v -> "b").timeout(Duration.ZERO, () -> "timeout").await(),
                "a ready case beats a passed timeout");
        assertEquals("only", Select.<String>create().timeout(Duration.ofMillis(5), () -> "only").await());
    }

    @Test
    void sendCases() throws Exception {
        Channel<String> full = Channel.bounded(1), rv = Channel.rendezvous();
        full.send("old");
        try (FiberScheduler s = scheduler("send")) {
            Fiber<String> receiver = s.spawn(rv::receive);
            awaitWaiters(rv, 1);
            String r = Select.<String>create()
                    .onSend(full, "x", () -> "full")
                    .onSend(rv, "y", () -> "rv")
                    .await();
            assertEquals("rv", r);
            assertEquals("y", result(receiver));
            assertEquals(1, full.size());
            assertEquals(0, full.waiterCount());

            // a parked send case completes when the buffer gets room
            Fiber<String> sender = s.spawn(() -> Select.<String>create()
                    .onSend(full, "new", () -> "sent")
                    .onSend(rv, "never", () -> "rv")
                    .await());
            awaitWaiters(full, 1);
            assertEquals("old", full.receive());
            assertEquals("sent", result(sender));
            assertEquals("new", full.receive());
            assertEquals(0, rv.waiterCount());
        }
    }

    @Test
    void sendCaseOnClosedChannelThrows() {
        Channel<String> ch = Channel.unbounded();
        ch.close();
        ChannelClosedException e = assertThrows(ChannelClosedException.class,
                () -> Select.<String>create().onSend(ch, "x", () -> "sent").await());
        assertTrue(e.getMessage().contains(ch.toString()));
    }

    @Test
    void orElseIsGosDefault() throws Exception {
        Channel<Integer> a = Channel.rendezvous(), b = Channel.bounded(1);
        assertEquals("default", Select.<String>create().onReceive(a, v -> "a").onSend(a, 1, () -> "sent").orElse(() -> "default").await());
        assertEquals(0, a.waiterCount());
        b.send(3);
        assertEquals("b3", Select.<String>create().onReceive(a, v -> "a").onReceive(b, v -> "b" + v).orElse(() -> "default").await());
        assertEquals("sent", Select.<String>create().onSend(b, 4, () -> "sent").orElse(() -> "default").await());
        assertEquals("default", Select.<String>create().onSend(b, 5, () -> "sent").orElse(() -> "default").await());
    }

    @Test
    void selectDoesNotMeetItselfOnOneChannel() throws Exception {
        Channel<Integer> rv = Channel.rendezvous();
        String r = Select.<String>create()
                .onSend(rv, 1, () -> "sent")
                .onReceive(rv, v -> "received " + v)
                .timeout(Duration.ofMillis(20), () -> "timeout")
                .await();
        assertEquals("timeout", r);
        Channel<Integer> other = Channel.rendezvous();
        try (FiberScheduler s = scheduler("self")) {
            Fiber<String> f = s.spawn(() -> Select.<String>create()
                    .onSend(rv, 1, () -> "sent")
                    .onReceive(rv, v -> "received " + v)
                    .onReceive(other, v -> "other " + v)
                    .await());
            awaitWaiters(rv, 2);
            other.close(); // wakes the select to scan again while its own two nodes wait in rv
            Thread.sleep(10);
            assertFalse(f.isDone(), "the select must not have matched its own send and receive");
            assertEquals(2, rv.waiterCount());
            assertEquals(1, rv.receive());
            assertEquals("sent", result(f));
            assertEquals(0, rv.waiterCount());
        }
    }

    @Test
    void closedHandlerFiresOnceDrained() throws Exception {
        Channel<Integer> a = Channel.bounded(2), b = Channel.rendezvous();
        a.send(1);
        a.close();
        Select<String> select = Select.<String>create()
                .onReceive(a, v -> "a" + v, () -> "a closed")
                .onReceive(b, v -> "b" + v);
        assertEquals("a1", select.await(), "buffered items come first");
        assertEquals("a closed", select.await());

        Channel<Integer> c = Channel.rendezvous();
        try (FiberScheduler s = scheduler("closed")) {
            Fiber<String> f = s.spawn(() -> Select.<String>create()
                    .onReceive(c, v -> "c" + v, () -> "c closed")
                    .onReceive(b, v -> "b" + v)
                    .await());
            awaitWaiters(c, 1);
            c.close();
            assertEquals("c closed", result(f));
            assertEquals(0, b.waiterCount());
        }
    }

    @Test
    void closedCaseWithoutHandlerIsDisabled() throws Exception {
        Channel<Integer> a = Channel.rendezvous(), b = Channel.rendezvous();
        a.close();
        try (FiberScheduler s = scheduler("disabled")) {
            Fiber<String> f = s.spawn(() -> Select.<String>create()
                    .onReceive(a, v -> "a" + v)
                    .onReceive(b, v -> "b" + v)
                    .await());
            awaitWaiters(b, 1);
            b.send(9);
            assertEquals("b9", result(f));

            // a case disabled while the select is parked: it keeps waiting on the others
            Channel<Integer> c = Channel.rendezvous(), d = Channel.rendezvous();
            Fiber<String> g = s.spawn(() -> Select.<String>create()
                    .onReceive(c, v -> "c" + v)
                    .onReceive(d, v -> "d" + v)
                    .await());
            awaitWaiters(c, 1);
            awaitWaiters(d, 1);
            c.close();
            Thread.sleep(10);
            assertFalse(g.isDone());
            d.send(4);
            assertEquals("d4", result(g));

            // every case disabled while parked
            Channel<Integer> e = Channel.rendezvous(), h = Channel.bounded(1);
            Fiber<String> k = s.spawn(() -> Select.<String>create()
                    .onReceive(e, v -> "e" + v)
                    .onReceive(h, v -> "h" + v)
                    .timeout(Duration.ofSeconds(20), () -> "timeout")
                    .await());
            awaitWaiters(e, 1);
            awaitWaiters(h, 1);
            e.close();
            h.close();
            assertInstanceOf(ChannelClosedException.class, assertThrows(Exception.class, () -> result(k)).getCause());
        }
        assertThrows(ChannelClosedException.class, () -> Select.<String>create().onReceive(a, v -> "a").orElse(() -> "d").await());
    }

    @Test
    void interruptWhileParkedInSelect() throws Exception {
        Channel<Integer> a = Channel.rendezvous(), b = Channel.unbounded();
        try (FiberScheduler s = scheduler("interrupt")) {
            Fiber<String> f = s.spawn(() -> Select.<String>create()
                    .onReceive(a, v -> "a")
                    .onReceive(b, v -> "b")
                    .onSend(a, 1, () -> "sent")
                    .await());
            awaitWaiters(a, 2);
            f.thread().interrupt();
            assertInstanceOf(InterruptedException.class, assertThrows(Exception.class, () -> result(f)).getCause());
            assertEquals(0, a.waiterCount());
            assertEquals(0, b.waiterCount());
            assertNull(a.tryReceive(), "the interrupted select's send case delivered nothing");
        }
    }

    @Test
    void scopedTimeoutEndsParkedSelect() throws Exception {
        Channel<Integer> a = Channel.rendezvous();
        try (FiberScheduler s = scheduler("scoped")) {
            Fiber<Void> f = s.spawn(() -> {
                assertThrows(FiberTimeoutException.class, () -> {
                    try (Timeout t = Timeout.after(Duration.ofMillis(50))) {
                        Select.<String>create().onReceive(a, v -> "a").timeout(Duration.ofSeconds(10), () -> "timeout").await();
                    }
                });
                assertFalse(Thread.currentThread().isInterrupted());
                return null;
            });
            result(f);
        }
        assertEquals(0, a.waiterCount());
    }

    @Test
    void noCaseStarves() throws Exception {
        Channel<Integer> a = Channel.unbounded(), b = Channel.unbounded();
        int rounds = 10_000;
        for (int i = 0; i < rounds; i++) {
            a.send(i);
            b.send(i);
        }
        int[] picks = new int[2];
        Select<Integer> select = Select.<Integer>create().onReceive(a, v -> 0).onReceive(b, v -> 1);
        for (int i = 0; i < rounds; i++) {
            picks[select.await()]++;
        }
        assertTrue(picks[0] >= rounds * 3 / 10 && picks[1] >= rounds * 3 / 10,
                "each always-ready case gets a fair share: a=" + picks[0] + " b=" + picks[1]);
        // and for send cases on two always-ready channels
        Channel<Integer> c = Channel.unbounded(), d = Channel.unbounded();
        Select<Integer> sends = Select.<Integer>create().onSend(c, 1, () -> 0).onSend(d, 1, () -> 1);
        for (int i = 0; i < rounds; i++) {
            sends.await();
        }
        assertTrue(c.size() >= rounds * 3 / 10 && d.size() >= rounds * 3 / 10, "c=" + c.size() + " d=" + d.size());
    }

    @Test
    void noWaiterGarbageAccumulatesInIdleChannel() throws Exception {
        Channel<Integer> idle = Channel.bounded(4);
        Channel<Integer> busy = Channel.rendezvous();
        int selects = 100_000;
        try (FiberScheduler s = scheduler("garbage")) {
            Fiber<Void> producer = s.spawn(() -> {
                for (int i = 0; ; i++) { // in bursts, so that the consumer's selects also time out
                    busy.send(i);
                    if (i % 64 == 63) {
                        Thread.sleep(Duration.ofNanos(300_000));
                    }
                }
            });
            Fiber<int[]> consumer = s.spawn(() -> {
                int received = 0, timeouts = 0, maxWaiters = 0;
                Select<Boolean> select = Select.<Boolean>create()
                        .onReceive(idle, v -> { throw new AssertionError("idle channel delivered " + v); })
                        .onReceive(busy, v -> true)
                        .timeout(Duration.ofNanos(20_000), () -> false);
                for (int i = 0; i < selects; i++) {
                    if (select.await()) {
                        received++;
                    } else {
                        timeouts++;
                    }
                    maxWaiters = Math.max(maxWaiters, idle.waiterCount());
                }
                return new int[] {received, timeouts, maxWaiters};
            });
            int[] r = result(consumer);
            producer.cancel();
            producer.join();
            assertEquals(0, r[2], "a finished select leaves no node in the idle channel");
            assertTrue(r[0] > 1_000 && r[1] > 1_000, "both outcomes were exercised: received=" + r[0] + " timeouts=" + r[1]);
        }
        assertEquals(0, idle.waiterCount());
        assertTrue(busy.waiterCount() <= 1);
    }

    @Test
    void builderValidation() throws Exception {
        Channel<Integer> a = Channel.unbounded();
        assertThrows(NullPointerException.class, () -> Select.<String>create().onReceive(null, v -> "x"));
        assertThrows(NullPointerException.class, () -> Select.<String>create().onSend(a, null, () -> "x"));
        assertThrows(IllegalArgumentException.class, () -> Select.<String>create().timeout(Duration.ofMillis(-1), () -> "x"));
        assertThrows(IllegalStateException.class, () -> Select.<String>create().orElse(() -> "x").timeout(Duration.ZERO, () -> "y"));
        assertThrows(IllegalStateException.class, () -> Select.<String>create().await());
        AtomicInteger runs = new AtomicInteger();
        assertEquals("sent", Select.<String>create().onSend(a, 1, () -> {
            runs.incrementAndGet();
            return "sent";
        }).await());
        assertEquals(1, runs.get());
    }
}
