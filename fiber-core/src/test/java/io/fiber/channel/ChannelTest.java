package io.fiber.channel;

import io.fiber.Fiber;
import io.fiber.FiberScheduler;
import io.fiber.FiberTimeoutException;
import io.fiber.Timeout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static io.fiber.TestFibers.awaitBlocked;
import static io.fiber.TestFibers.result;
import static io.fiber.TestFibers.scheduler;
import static io.fiber.channel.TestSupport.awaitWaiters;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@org.junit.jupiter.api.Timeout(value = 30, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
class ChannelTest {

    static Channel<Integer> channel(String kind) {
        return switch (kind) {
            case "bounded" -> Channel.bounded(4);
            case "unbounded" -> Channel.unbounded();
            case "rendezvous" -> Channel.rendezvous();
            default -> throw new IllegalArgumentException(kind);
        };
    }

    @Test
    void factoriesAndCapacity() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Channel.bounded(0));
        assertTrue(e.getMessage().contains("got 0"), e.getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Channel.bounded(-3)).getMessage().contains("-3"));
        assertEquals(7, Channel.bounded(7).capacity());
        assertEquals(Integer.MAX_VALUE, Channel.unbounded().capacity());
        assertEquals(0, Channel.rendezvous().capacity());
    }

    @Test
    void nullItemsRejected() {
        Channel<String> ch = Channel.unbounded();
        assertThrows(NullPointerException.class, () -> ch.send(null));
        assertThrows(NullPointerException.class, () -> ch.trySend(null));
        assertEquals(0, ch.size());
    }

    @Test
    void boundedCapacityHonoured() throws Exception {
        Channel<String> ch = Channel.bounded(2);
        assertTrue(ch.trySend("a"));
        assertTrue(ch.trySend("b"));
        assertFalse(ch.trySend("x"), "a full channel refuses trySend");
        assertEquals(2, ch.size());
        try (FiberScheduler s = scheduler("bounded")) {
            AtomicBoolean sent = new AtomicBoolean();
            Fiber<Void> sender = s.spawn(() -> {
                ch.send("c");
                sent.set(true);
                return null;
            });
            awaitWaiters(ch, 1);
            Thread.sleep(20);
            assertFalse(sent.get(), "send must park while the channel is full");
            assertEquals("a", ch.receive());
            result(sender);
            assertTrue(sent.get());
            assertEquals(List.of("b", "c"), List.of(ch.receive(), ch.receive()));
        }
    }

    @Test
    void receiveFromFullBufferReleasesParkedSenderIntoBuffer() throws Exception {
        Channel<Integer> ch = Channel.bounded(1);
        ch.send(1);
        try (FiberScheduler s = scheduler("refill")) {
            Fiber<Void> sender = s.spawn(() -> {
                ch.send(2);
                return null;
            });
            awaitWaiters(ch, 1);
            assertEquals(1, ch.tryReceive());
            result(sender); // released by the receive alone
            assertEquals(1, ch.size(), "the parked sender's item moved into the buffer");
            assertEquals(0, ch.waiterCount());
            assertEquals(2, ch.tryReceive());
        }
    }

    @Test
    void unboundedNeverBlocks() throws Exception {
        Channel<Integer> ch = Channel.unbounded();
        try (FiberScheduler s = scheduler("unbounded")) {
            result(s.spawn(() -> {
                for (int i = 0; i < 100_000; i++) {
                    ch.send(i);
                }
                return null;
            }));
        }
        assertEquals(100_000, ch.size());
        for (int i = 0; i < 100_000; i++) {
            assertEquals(i, ch.tryReceive());
        }
        assertNull(ch.tryReceive());
    }

    @Test
    void rendezvousSendReturnsOnlyOnceTaken() throws Exception {
        Channel<String> ch = Channel.rendezvous();
        assertFalse(ch.trySend("x"), "no receiver is waiting");
        assertNull(ch.tryReceive());
        try (FiberScheduler s = scheduler("rendezvous")) {
            AtomicBoolean sent = new AtomicBoolean();
            Fiber<Void> sender = s.spawn(() -> {
                ch.send("x");
                sent.set(true);
                return null;
            });
            awaitWaiters(ch, 1);
            Thread.sleep(20);
            assertFalse(sent.get(), "a rendezvous send must not return before a receiver took the item");
            assertEquals(0, ch.size());
            assertEquals("x", ch.receive());
            result(sender);

            // and the other way round: a parked receiver makes trySend succeed
            Fiber<String> receiver = s.spawn(ch::receive);
            awaitWaiters(ch, 1);
            assertTrue(ch.trySend("y"));
            assertEquals("y", result(receiver));

            // tryReceive takes from a parked sender and releases it
            Fiber<Void> sender2 = s.spawn(() -> {
                ch.send("z");
                return null;
            });
            awaitWaiters(ch, 1);
            assertEquals("z", ch.tryReceive());
            result(sender2);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"bounded", "unbounded", "rendezvous"})
    void perSenderFifo(String kind) throws Exception {
        Channel<Integer> ch = channel(kind);
        int senders = 4, perSender = 5_000;
        try (FiberScheduler s = scheduler("fifo")) {
            List<Fiber<Void>> fibers = new ArrayList<>();
            for (int p = 0; p < senders; p++) {
                int id = p;
                fibers.add(s.spawn(() -> {
                    for (int i = 0; i < perSender; i++) {
                        ch.send(id * perSender + i);
                    }
                    return null;
                }));
            }
            Fiber<int[]> receiver = s.spawn(() -> {
                int[] last = {-1, -1, -1, -1};
                for (int i = 0; i < senders * perSender; i++) {
                    int v = ch.receive();
                    int p = v / perSender;
                    if (v % perSender != last[p] + 1) {
                        throw new AssertionError("sender " + p + ": got " + v % perSender + " after " + last[p]);
                    }
                    last[p] = v % perSender;
                }
                return last;
            });
            for (Fiber<Void> f : fibers) {
                result(f);
            }
            int[] last = result(receiver);
            for (int p = 0; p < senders; p++) {
                assertEquals(perSender - 1, last[p]);
            }
            assertNull(ch.tryReceive());
        }
    }

    @Test
    void closeLetsReceiversDrainThenThrows() throws Exception {
        Channel<Integer> ch = Channel.bounded(10);
        ch.send(1);
        ch.send(2);
        ch.close();
        ch.close(); // idempotent
        assertTrue(ch.isClosed());
        ChannelClosedException e = assertThrows(ChannelClosedException.class, () -> ch.send(3));
        assertTrue(e.getMessage().contains(ch.toString()), "the message names the channel: " + e.getMessage());
        assertThrows(ChannelClosedException.class, () -> ch.trySend(3));
        assertEquals(2, ch.size());
        assertEquals(1, ch.receive());
        assertEquals(2, ch.tryReceive());
        assertThrows(ChannelClosedException.class, ch::receive);
        assertNull(ch.tryReceive());
    }

    @ParameterizedTest
    @ValueSource(strings = {"bounded", "rendezvous"})
    void closeWakesParkedReceiversAndSenders(String kind) throws Exception {
        Channel<Integer> receiveSide = channel(kind);
        Channel<Integer> sendSide = channel(kind);
        while (sendSide.trySend(0)) { } // fill it (a rendezvous channel is always "full")
        int initiallyBuffered = sendSide.size();
        try (FiberScheduler s = scheduler("close")) {
            List<Fiber<Void>> receivers = new ArrayList<>(), senders = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                receivers.add(s.spawn(() -> {
                    receiveSide.receive();
                    return null;
                }));
                int item = i + 1;
                senders.add(s.spawn(() -> {
                    sendSide.send(item);
                    return null;
                }));
            }
            awaitWaiters(receiveSide, 3);
            awaitWaiters(sendSide, 3);
            receiveSide.close();
            sendSide.close();
            for (Fiber<Void> f : receivers) {
                assertInstanceOf(ChannelClosedException.class, assertThrows(Exception.class, () -> result(f)).getCause());
            }
            for (Fiber<Void> f : senders) {
                assertInstanceOf(ChannelClosedException.class, assertThrows(Exception.class, () -> result(f)).getCause());
            }
        }
        assertEquals(0, sendSide.waiterCount());
        // only what was buffered before the close is delivered; the parked senders' items are not
        for (int i = 0; i < initiallyBuffered; i++) {
            assertEquals(0, sendSide.receive());
        }
        assertThrows(ChannelClosedException.class, sendSide::receive);
    }

    @ParameterizedTest
    @ValueSource(strings = {"bounded", "unbounded", "rendezvous"})
    void iterationEndsAtClose(String kind) throws Exception {
        Channel<Integer> ch = channel(kind);
        try (FiberScheduler s = scheduler("iterate")) {
            Fiber<List<Integer>> consumer = s.spawn(() -> {
                List<Integer> got = new ArrayList<>();
                for (int v : ch) {
                    got.add(v);
                }
                return got;
            });
            List<Integer> expected = new ArrayList<>();
            for (int i = 0; i < 1000; i++) {
                ch.send(i); // from a platform thread: both kinds of thread interoperate
                expected.add(i);
            }
            ch.close();
            assertEquals(expected, result(consumer));
        }
    }

    @Test
    void interruptDuringIterationIsCancellationWithInterruptStatusKept() throws Exception {
        Channel<Integer> ch = Channel.unbounded();
        ch.send(1);
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        AtomicBoolean stillInterrupted = new AtomicBoolean();
        Thread t = Thread.ofPlatform().start(() -> {
            try {
                for (int ignored : ch) { }
            } catch (Throwable e) {
                thrown.set(e);
                stillInterrupted.set(Thread.currentThread().isInterrupted());
            }
        });
        awaitBlocked(t);
        awaitWaiters(ch, 1);
        t.interrupt();
        t.join(10_000);
        assertInstanceOf(CancellationException.class, thrown.get());
        assertInstanceOf(InterruptedException.class, thrown.get().getCause());
        assertTrue(stillInterrupted.get());
        assertEquals(0, ch.waiterCount());
    }

    @Test
    void interruptWhileParkedInReceiveOrSend() throws Exception {
        Channel<Integer> ch = Channel.rendezvous();
        try (FiberScheduler s = scheduler("interrupt")) {
            Fiber<Integer> receiver = s.spawn(ch::receive);
            awaitWaiters(ch, 1);
            receiver.thread().interrupt();
            assertInstanceOf(InterruptedException.class, assertThrows(Exception.class, () -> result(receiver)).getCause());
            assertEquals(0, ch.waiterCount());

            Fiber<Void> sender = s.spawn(() -> {
                ch.send(42);
                return null;
            });
            awaitWaiters(ch, 1);
            sender.thread().interrupt();
            assertInstanceOf(InterruptedException.class, assertThrows(Exception.class, () -> result(sender)).getCause());
            assertEquals(0, ch.waiterCount());
            assertNull(ch.tryReceive(), "an interrupted send did not deliver its item");
        }
    }

    @Test
    void interruptStatusAtEntryThrowsEvenIfReady() {
        Channel<Integer> ch = Channel.unbounded();
        Thread.currentThread().interrupt();
        assertThrows(InterruptedException.class, () -> ch.send(1));
        assertFalse(Thread.currentThread().isInterrupted(), "InterruptedException clears the status");
        assertEquals(0, ch.size());
        assertTrue(ch.trySend(1));
        Thread.currentThread().interrupt();
        assertThrows(InterruptedException.class, ch::receive);
        assertEquals(1, ch.size(), "nothing consumed");
    }

    @Test
    void timeoutInterruptsParkedReceiveAndSend() throws Exception {
        Channel<Integer> ch = Channel.bounded(1);
        // on a platform thread
        assertThrows(FiberTimeoutException.class, () -> {
            try (Timeout t = Timeout.after(Duration.ofMillis(50))) {
                ch.receive();
            }
        });
        assertFalse(Thread.currentThread().isInterrupted());
        // in a fiber, for receive and for send on a full channel
        try (FiberScheduler s = scheduler("timeout")) {
            Fiber<Void> f = s.spawn(() -> {
                long start = System.nanoTime();
                assertThrows(FiberTimeoutException.class, () -> {
                    try (Timeout t = Timeout.after(Duration.ofMillis(50))) {
                        ch.receive();
                    }
                });
                assertTrue(System.nanoTime() - start >= 45_000_000L, "waited for the deadline");
                ch.send(1);
                assertThrows(FiberTimeoutException.class, () -> {
                    try (Timeout t = Timeout.after(Duration.ofMillis(50))) {
                        ch.send(2);
                    }
                });
                assertFalse(Thread.currentThread().isInterrupted());
                return null;
            });
            result(f);
        }
        assertEquals(1, ch.size());
        assertEquals(0, ch.waiterCount());
        assertEquals(1, ch.receive());
    }

    @Test
    void pingPongBetweenPlatformThreadAndFiber() throws Exception {
        Channel<Integer> ping = Channel.rendezvous(), pong = Channel.rendezvous();
        try (FiberScheduler s = scheduler("pingpong")) {
            Fiber<Void> echo = s.spawn(() -> {
                for (int v : ping) {
                    pong.send(v + 1);
                }
                return null;
            });
            for (int i = 0; i < 2_000; i++) {
                ping.send(i);
                assertEquals(i + 1, pong.receive());
            }
            ping.close();
            result(echo);
        }
    }
}
