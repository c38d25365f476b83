package io.fiber.internal.carrier;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@link InjectQueue} on real threads: producers offer new fibers, woken fibers and work under way,
 * consumers take with each lane first in turn, as carriers do, or from the started fibers' lanes only.
 * Checked: every task is taken exactly once; a
 * consumer sees each producer's tasks of one lane in the order they were offered; and the consumers,
 * which stop only when every task is taken, end (no task stranded behind answers of "empty").
 *
 * <p>Not checked, because it does not hold: an order between the lanes. {@code poll} reads one lane,
 * then the others, so it is neither linearizable nor quiescently consistent: Lincheck's model checker
 * finds, for a poll with new fibers first running beside {@code offer(new fiber)} then
 * {@code offerUnderway(task)}, a poll that returns the task under way (its read of the new fibers'
 * lane came before the first offer, its read of the other lane after the second). The carriers rely
 * only on what is checked here, and on the submitter waking a sleeper after its offer.
 */
class InjectQueueStressTest {
    private static final int PRODUCERS = 2;
    private static final int PER_PRODUCER = 200_000;
    private static final int CONSUMERS = 2;

    /** A task that knows who offered it, in which lane ({@link InjectQueue#WOKEN} and the others), and its place in that producer's lane. */
    private record Task(int producer, int lane, int seq, int id) implements Runnable {
        @Override
        public void run() {
        }
    }

    @Test
    void everyTaskIsTakenOnceInItsLanesOrderAndNoneIsStranded() throws Exception {
        int total = PRODUCERS * PER_PRODUCER;
        InjectQueue queue = new InjectQueue();
        AtomicIntegerArray taken = new AtomicIntegerArray(total);
        AtomicInteger takenCount = new AtomicInteger();
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        // Built before the start, read-only after it: a not-started fiber per new-fiber task (the
        // lane is chosen by FiberTask.hasStarted), the task itself for work under way.
        Runnable[] offered = new Runnable[total];
        Map<Runnable, Task> tasks = new IdentityHashMap<>(2 * total);
        for (int p = 0; p < PRODUCERS; p++) {
            int[] seq = new int[InjectQueue.LANES];
            for (int i = 0; i < PER_PRODUCER; i++) {
                int id = p * PER_PRODUCER + i;
                int lane = laneOf(i);
                Task t = new Task(p, lane, seq[lane]++, id);
                offered[id] = lane == InjectQueue.FRESH ? new FiberTask(null, null, false) : t;
                tasks.put(offered[id], t);
            }
        }
        for (int p = 0; p < PRODUCERS; p++) {
            int producer = p;
            threads.add(new Thread(() -> {
                await(start);
                for (int i = 0; i < PER_PRODUCER; i++) {
                    Runnable r = offered[producer * PER_PRODUCER + i];
                    if (laneOf(i) == InjectQueue.UNDERWAY) {
                        queue.offerUnderway(r);
                    } else {
                        queue.offer(r); // a fiber not started goes to the new fibers' lane, any other task was woken
                    }
                }
            }, "producer-" + p));
        }
        for (int c = 0; c < CONSUMERS; c++) {
            int consumer = c;
            threads.add(new Thread(() -> {
                await(start);
                int[][] last = new int[PRODUCERS][InjectQueue.LANES];
                for (int[] l : last) {
                    java.util.Arrays.fill(l, -1);
                }
                int turn = consumer % InjectQueue.LANES;
                int polls = 0;
                try {
                    while (takenCount.get() < total) {
                        Runnable r = ++polls % 4 == 0 ? queue.pollStarted() : queue.poll(turn);
                        turn = (turn + 1) % InjectQueue.LANES;
                        if (r == null) {
                            Thread.onSpinWait();
                            continue;
                        }
                        Task t = tasks.get(r);
                        assertEquals(0, taken.getAndIncrement(t.id()), "task " + t + " taken twice");
                        int lane = t.lane();
                        assertTrue(t.seq() > last[t.producer()][lane], "producer " + t.producer() + "'s lane "
                                + lane + " out of order: " + t.seq() + " after " + last[t.producer()][lane]);
                        last[t.producer()][lane] = t.seq();
                        takenCount.incrementAndGet();
                    }
                } catch (Throwable e) {
                    failures.add(e);
                    takenCount.set(Integer.MAX_VALUE); // stop the others
                }
            }, "consumer-" + c));
        }
        threads.forEach(Thread::start);
        start.countDown();
        for (Thread t : threads) {
            t.join(60_000);
            assertFalse(t.isAlive(), t.getName() + " still running after 60 s");
        }
        if (!failures.isEmpty()) {
            throw new AssertionError(failures.getFirst());
        }
        for (int i = 0; i < total; i++) {
            assertEquals(1, taken.get(i), "task " + i + " taken " + taken.get(i) + " times");
        }
        assertTrue(queue.isEmpty());
        for (int lane = 0; lane < InjectQueue.LANES; lane++) {
            assertNull(queue.poll(lane));
        }
    }

    private static int laneOf(int i) {
        return i % InjectQueue.LANES;
    }

    @Test
    void eachPollPrefersTheLaneItNamesThenTheNextOnes() {
        InjectQueue queue = new InjectQueue();
        Task underway = new Task(0, InjectQueue.UNDERWAY, 0, 0);
        Task woken1 = new Task(0, InjectQueue.WOKEN, 0, 1);
        Task woken2 = new Task(0, InjectQueue.WOKEN, 1, 2);
        FiberTask fresh = new FiberTask(null, null, false);
        queue.offerUnderway(underway);
        queue.offer(fresh);
        queue.offer(woken1);
        queue.offer(woken2);
        assertSame(fresh, queue.poll(InjectQueue.FRESH));
        assertSame(underway, queue.poll(InjectQueue.FRESH), "the new fibers' lane empty: the next, work under way");
        assertSame(woken1, queue.poll(InjectQueue.UNDERWAY), "then round to the woken fibers");
        assertSame(woken2, queue.pollStarted());
        assertNull(queue.poll(InjectQueue.WOKEN));
        assertTrue(queue.isEmpty());
    }

    @Test
    void pollStartedNeverTakesANewFiber() {
        InjectQueue queue = new InjectQueue();
        Task underway = new Task(0, InjectQueue.UNDERWAY, 0, 0);
        Task woken = new Task(0, InjectQueue.WOKEN, 0, 1);
        queue.offer(new FiberTask(null, null, false));
        queue.offerUnderway(underway);
        queue.offer(woken);
        assertSame(woken, queue.pollStarted(), "woken fibers first");
        assertSame(underway, queue.pollStarted());
        assertNull(queue.pollStarted(), "only the new fiber is left");
        assertEquals(1, queue.size());
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }
}
