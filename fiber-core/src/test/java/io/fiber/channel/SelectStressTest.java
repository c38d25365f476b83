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
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import static io.fiber.TestFibers.result;
import static io.fiber.TestFibers.scheduler;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Many producers and selecting consumers over a mix of channel kinds, with short timeouts and
 * interrupts forcing cancels to race with deliveries. Every item carries a unique sequence number
 * (producer * PER_PRODUCER + i); at the end each must have been received exactly once, and each
 * consumer must have seen each producer's items on each channel in increasing order (a channel is
 * FIFO per sender, so a consumer can never take a producer's older item after a newer one from the
 * same channel; across channels there is no order).
 */
@org.junit.jupiter.api.Timeout(value = 60, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
class SelectStressTest {
    private static final int PRODUCERS = 6;
    private static final int PER_PRODUCER = 20_000;
    private static final int TOTAL = PRODUCERS * PER_PRODUCER;
    private static final int CHANNELS = 4;

    /** What one consumer saw. */
    private static final class Tally {
        final List<Integer> items = new ArrayList<>();
        final int[][] last = new int[PRODUCERS][CHANNELS];
        long timeouts, interrupts, deliveredDespiteInterrupt;

        Tally() {
            for (int[] l : last) {
                java.util.Arrays.fill(l, -1);
            }
        }

        void add(int v, int channel) {
            int p = v / PER_PRODUCER, i = v % PER_PRODUCER;
            if (i <= last[p][channel]) {
                throw new AssertionError("FIFO violated on channel " + channel + ": producer " + p + " item " + i
                        + " after " + last[p][channel]);
            }
            last[p][channel] = i;
            items.add(v);
        }
    }

    private static List<Channel<Integer>> channels() {
        return List.of(Channel.bounded(3), Channel.rendezvous(), Channel.unbounded(), Channel.rendezvous());
    }

    /**
     * Producer p sends its items on channels p % 4 and (p + 1) % 4: even producers with plain sends
     * to one channel, odd ones with a select over two send cases and a short timeout (retrying the
     * same item after a timeout or interrupt, which must then not have been delivered).
     */
    private static Object produce(int p, List<Channel<Integer>> chs, AtomicLong producerInterrupts) {
        Channel<Integer> first = chs.get(p % chs.size()), second = chs.get((p + 1) % chs.size());
        for (int i = 0; i < PER_PRODUCER; ) {
            int v = p * PER_PRODUCER + i;
            try {
                if (p % 2 == 0) {
                    first.send(v);
                    i++;
                } else if (Select.<Boolean>create()
                        .onSend(first, v, () -> true)
                        .onSend(second, v, () -> true)
                        .timeout(Duration.ofNanos(5_000), () -> false)
                        .await()) {
                    i++;
                }
            } catch (InterruptedException e) {
                producerInterrupts.incrementAndGet();
            }
        }
        return null;
    }

    /** Receives with selects over every channel until all are closed and drained. */
    private static Tally consume(int c, List<Channel<Integer>> chs) {
        Tally t = new Tally();
        Select<Integer> select = Select.<Integer>create();
        for (int k = 0; k < chs.size(); k++) {
            int channel = k;
            select.onReceive(chs.get(k), v -> v * CHANNELS + channel);
        }
        select.timeout(Duration.ofNanos(2_000 + 3_000 * c), () -> -1);
        for (;;) {
            try {
                if (c == 2) { // plain receives on one channel under a scoped deadline
                    try (Timeout ignored = Timeout.after(Duration.ofNanos(10_000))) {
                        t.add(chs.get(1).receive(), 1);
                    } catch (FiberTimeoutException e) {
                        t.timeouts++;
                    } catch (ChannelClosedException e) {
                        c = 0; // then drain the others with selects
                    }
                    continue;
                }
                int v = select.await();
                if (v < 0) {
                    t.timeouts++;
                } else {
                    if (Thread.currentThread().isInterrupted()) {
                        t.deliveredDespiteInterrupt++;
                    }
                    t.add(v / CHANNELS, v % CHANNELS);
                }
            } catch (InterruptedException e) {
                t.interrupts++;
            } catch (ChannelClosedException e) {
                Thread.interrupted();
                return t;
            }
        }
    }

    private static void run(boolean interrupting) throws Exception {
        List<Channel<Integer>> chs = channels();
        AtomicLong producerInterrupts = new AtomicLong();
        List<Tally> tallies = new ArrayList<>();
        AtomicBoolean producing = new AtomicBoolean(true);
        try (FiberScheduler s = scheduler(interrupting ? "stress-interrupt" : "stress")) {
            try {
                List<Fiber<Object>> producers = new ArrayList<>();
                for (int p = 0; p < PRODUCERS; p++) {
                    int id = p;
                    producers.add(s.spawn(() -> produce(id, chs, producerInterrupts)));
                }
                List<Fiber<Tally>> consumers = new ArrayList<>();
                for (int c = 0; c < 3; c++) {
                    int id = c;
                    consumers.add(s.spawn(() -> consume(id, chs)));
                }
                // and one consumer on a platform thread: both kinds of thread interoperate
                Tally[] platformTally = new Tally[1];
                Thread platform = Thread.ofPlatform().name("platform-consumer").start(() -> platformTally[0] = consume(3, chs));

                Thread interrupter = null;
                if (interrupting) {
                    List<Thread> targets = new ArrayList<>();
                    producers.forEach(f -> targets.add(f.thread()));
                    consumers.forEach(f -> targets.add(f.thread()));
                    targets.add(platform);
                    interrupter = Thread.ofPlatform().name("interrupter").start(() -> {
                        ThreadLocalRandom random = ThreadLocalRandom.current();
                        while (producing.get()) {
                            targets.get(random.nextInt(targets.size())).interrupt();
                            LockSupport.parkNanos(20_000);
                        }
                    });
                }
                for (Fiber<Object> f : producers) {
                    result(f);
                }
                producing.set(false);
                if (interrupter != null) {
                    interrupter.join();
                }
                chs.forEach(Channel::close);
                for (Fiber<Tally> f : consumers) {
                    tallies.add(result(f));
                }
                platform.join(20_000);
                assertTrue(platformTally[0] != null, "the platform consumer finished");
                tallies.add(platformTally[0]);
            } finally {
                producing.set(false);
                chs.forEach(Channel::close); // on a failure, ends every producer and consumer so close() returns
            }
        }

        BitSet seen = new BitSet(TOTAL);
        long count = 0, timeouts = 0, interrupts = 0, despite = 0;
        for (Tally t : tallies) {
            for (int v : t.items) {
                assertTrue(!seen.get(v), "item " + v + " received twice");
                seen.set(v);
                count++;
            }
            timeouts += t.timeouts;
            interrupts += t.interrupts;
            despite += t.deliveredDespiteInterrupt;
        }
        assertEquals(TOTAL, count, "every item received exactly once; missing e.g. " + seen.nextClearBit(0));
        assertEquals(TOTAL, seen.cardinality());
        assertTrue(timeouts > 0, "timeouts raced with deliveries");
        if (interrupting) {
            assertTrue(interrupts + producerInterrupts.get() > 0, "interrupts raced with deliveries");
        }
        for (Channel<Integer> ch : chs) {
            assertEquals(0, ch.waiterCount(), ch + " has leftover waiters");
        }
        System.out.printf("stress%s: %d items, %d timeouts, %d consumer / %d producer interrupts, %d delivered despite an interrupt%n",
                interrupting ? " (interrupting)" : "", count, timeouts, interrupts, producerInterrupts.get(), despite);
    }

    @Test
    void everyItemReceivedExactlyOnceDespiteTimeouts() throws Exception {
        run(false);
    }

    @Test
    void everyItemReceivedExactlyOnceDespiteInterrupts() throws Exception {
        run(true);
    }

    /**
     * One parked select at a time, cancelled (by its timeout, or by an interrupt) at about the moment
     * a trySend hands it an item: the item must end up in exactly one place, the select's result or
     * the channel's buffer, never nowhere and never both.
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void cancelRacingADeliveryNeverLosesTheItem(boolean interrupt) throws Exception {
        int rounds = 2_000;
        int delivered = 0, cancelled = 0, honouredDespiteInterrupt = 0;
        ThreadLocalRandom random = ThreadLocalRandom.current();
        try (FiberScheduler s = scheduler("race")) {
            for (int i = 0; i < rounds; i++) {
                Channel<Integer> ch = i % 2 == 0 ? Channel.rendezvous() : Channel.bounded(1);
                Channel<Integer> idle = Channel.rendezvous();
                int item = i;
                Fiber<long[]> consumer = s.spawn(() -> {
                    try {
                        int v = Select.<Integer>create()
                                .onReceive(idle, x -> { throw new AssertionError("idle delivered " + x); })
                                .onReceive(ch, x -> x)
                                .timeout(interrupt ? Duration.ofSeconds(20) : Duration.ofNanos(30_000), () -> -1)
                                .await();
                        return new long[] {v, Thread.currentThread().isInterrupted() ? 1 : 0};
                    } catch (InterruptedException e) {
                        return new long[] {-2, 0};
                    }
                });
                while (ch.waiterCount() == 0 && !consumer.isDone()) {
                    Thread.onSpinWait();
                }
                long until = System.nanoTime() + random.nextInt(interrupt ? 3_000 : 100_000);
                while (System.nanoTime() - until < 0) {
                    Thread.onSpinWait();
                }
                boolean sent;
                if (interrupt && random.nextBoolean()) {
                    consumer.thread().interrupt();
                    sent = ch.trySend(item);
                } else {
                    sent = ch.trySend(item);
                    if (interrupt) {
                        consumer.thread().interrupt();
                    }
                }
                long[] r = result(consumer);
                Integer buffered = ch.tryReceive();
                if (r[0] >= 0) {
                    assertEquals(item, r[0]);
                    assertTrue(sent, "received an item nobody sent");
                    assertNull(buffered, "item both received and left in the channel");
                    delivered++;
                    honouredDespiteInterrupt += (int) r[1];
                } else {
                    assertEquals(interrupt ? -2 : -1, r[0]);
                    cancelled++;
                    if (sent) {
                        assertEquals(item, buffered, "a sent item was lost by a cancelled select");
                    } else {
                        assertNull(buffered);
                    }
                }
                assertEquals(0, ch.waiterCount());
                assertEquals(0, idle.waiterCount());
            }
        }
        System.out.printf("race (%s): %d delivered (%d despite an interrupt), %d cancelled%n",
                interrupt ? "interrupt" : "timeout", delivered, honouredDespiteInterrupt, cancelled);
        assertTrue(delivered > 0 && cancelled > 0, "both outcomes happened: delivered=" + delivered + " cancelled=" + cancelled);
        if (interrupt) {
            assertTrue(honouredDespiteInterrupt > 0, "a delivery won against an interrupt at least once");
        }
    }
}
