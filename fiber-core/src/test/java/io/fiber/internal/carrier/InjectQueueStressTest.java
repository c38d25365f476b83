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
 * {@link InjectQueue} on real threads: producers offer new fibers and work under way, consumers take
 * with either lane first, as carriers taking turns do, or from the work under way only. Checked: every task is taken exactly once; a
 * consumer sees each producer's tasks of one lane in the order they were offered; and the consumers,
 * which stop only when every task is taken, end (no task stranded behind answers of "empty").
 *
 * <p>Not checked, because it does not hold: an order between the lanes. {@code poll} reads one lane,
 * then the other, so it is neither linearizable nor quiescently consistent: Lincheck's model checker
 * finds, for a poll with new fibers first running beside {@code offer(new fiber)} then
 * {@code offerUnderway(task)}, a poll that returns the task under way (its read of the new fibers'
 * lane came before the first offer, its read of the other lane after the second). The carriers rely
 * only on what is checked here, and on the submitter waking a sleeper after its offer.
 */
class InjectQueueStressTest {
    private static final int PRODUCERS = 2;
    private static final int PER_PRODUCER = 200_000;
    private static final int CONSUMERS = 2;

    /** A task that knows who offered it, in which lane, and its place in that producer's lane. */
    private record Task(int producer, boolean fresh, int seq, int id) implements Runnable {
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
            int freshSeq = 0;
            int underwaySeq = 0;
            for (int i = 0; i < PER_PRODUCER; i++) {
                int id = p * PER_PRODUCER + i;
                boolean fresh = i % 3 == 0;
                Task t = new Task(p, fresh, fresh ? freshSeq++ : underwaySeq++, id);
                offered[id] = fresh ? new FiberTask(null, null, false) : t;
                tasks.put(offered[id], t);
            }
        }
        for (int p = 0; p < PRODUCERS; p++) {
            int producer = p;
            threads.add(new Thread(() -> {
                await(start);
                for (int i = 0; i < PER_PRODUCER; i++) {
                    Runnable r = offered[producer * PER_PRODUCER + i];
                    if (i % 3 == 2) {
                        queue.offerUnderway(r);
                    } else {
                        queue.offer(r); // a fiber not started goes to the new fibers' lane, any other task is under way
                    }
                }
            }, "producer-" + p));
        }
        for (int c = 0; c < CONSUMERS; c++) {
            int consumer = c;
            threads.add(new Thread(() -> {
                await(start);
                int[][] last = new int[PRODUCERS][2];
                for (int[] l : last) {
                    java.util.Arrays.fill(l, -1);
                }
                boolean freshFirst = consumer == 0;
                int polls = 0;
                try {
                    while (takenCount.get() < total) {
                        Runnable r = ++polls % 3 == 0 ? queue.pollUnderway() : queue.poll(freshFirst);
                        freshFirst = !freshFirst;
                        if (r == null) {
                            Thread.onSpinWait();
                            continue;
                        }
                        Task t = tasks.get(r);
                        assertEquals(0, taken.getAndIncrement(t.id()), "task " + t + " taken twice");
                        int lane = t.fresh() ? 0 : 1;
                        assertTrue(t.seq() > last[t.producer()][lane], "producer " + t.producer() + "'s "
                                + (t.fresh() ? "new fibers" : "work under way") + " out of order: " + t.seq()
                                + " after " + last[t.producer()][lane]);
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
        assertNull(queue.poll(true));
        assertNull(queue.poll(false));
    }

    @Test
    void eachPollPrefersTheLaneItNamesAndFallsBackToTheOther() {
        InjectQueue queue = new InjectQueue();
        Task underway1 = new Task(0, false, 0, 0);
        Task underway2 = new Task(0, false, 1, 1);
        FiberTask fresh1 = new FiberTask(null, null, false);
        queue.offerUnderway(underway1);
        queue.offer(fresh1);
        queue.offer(underway2);
        assertSame(fresh1, queue.poll(true));
        assertSame(underway1, queue.poll(true), "the new fibers' lane empty: work under way");
        assertSame(underway2, queue.poll(false));
        assertNull(queue.poll(false));
        assertTrue(queue.isEmpty());
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }
}
