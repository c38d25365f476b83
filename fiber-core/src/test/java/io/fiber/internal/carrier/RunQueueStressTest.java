package io.fiber.internal.carrier;

import org.junit.jupiter.api.Test;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@link RunQueue} on real threads: an owner pushes (overflowing half the ring to a stand-in inject
 * queue when full, as {@code CarrierLoop.pushTail} does) and polls, while thieves steal halves into
 * their own rings and single tasks. Every task offered is taken exactly once, whatever the timing;
 * the ring wraps its indices thousands of times. {@link RunQueueLincheckTest} checks the orders.
 */
class RunQueueStressTest {
    private static final int TASKS = 300_000;
    private static final int THIEVES = 2;

    @Test
    void everyTaskIsTakenExactlyOnce() throws Exception {
        RunQueue queue = new RunQueue();
        AtomicIntegerArray taken = new AtomicIntegerArray(TASKS);
        ConcurrentLinkedQueue<Runnable> inject = new ConcurrentLinkedQueue<>();
        AtomicBoolean ownerDone = new AtomicBoolean();
        CountDownLatch start = new CountDownLatch(1);
        Thread owner = new Thread(() -> {
            await(start);
            for (int i = 0; i < TASKS; i++) {
                Runnable task = new RunQueueLincheckTest.Task(i);
                while (!queue.offer(task)) {
                    if (queue.drainHalfTo(task, inject::add)) {
                        break;
                    }
                }
                if (i % 3 == 0) {
                    take(taken, queue.poll());
                }
            }
            ownerDone.set(true);
        }, "owner");
        Thread[] thieves = new Thread[THIEVES];
        for (int t = 0; t < THIEVES; t++) {
            boolean halves = t % 2 == 0;
            thieves[t] = new Thread(() -> {
                RunQueue mine = new RunQueue();
                await(start);
                while (!ownerDone.get() || !queue.isEmpty()) {
                    if (halves) {
                        take(taken, queue.stealInto(mine));
                        for (Runnable r; (r = mine.poll()) != null; ) {
                            take(taken, r);
                        }
                    } else {
                        take(taken, queue.stealOne());
                    }
                }
            }, "thief-" + t);
        }
        owner.start();
        for (Thread t : thieves) {
            t.start();
        }
        start.countDown();
        owner.join();
        for (Thread t : thieves) {
            t.join();
        }
        for (Runnable r; (r = queue.stealOne()) != null; ) { // this thread is not the owner
            take(taken, r);
        }
        for (Runnable r : inject) {
            take(taken, r);
        }
        for (int i = 0; i < TASKS; i++) {
            assertEquals(1, taken.get(i), "task " + i + " taken this many times");
        }
        assertTrue(queue.isEmpty());
    }

    private static void take(AtomicIntegerArray taken, Runnable task) {
        if (task != null) {
            taken.incrementAndGet(RunQueueLincheckTest.id(task));
        }
    }

    static void await(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }
}
