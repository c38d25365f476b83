package io.fiber.internal.carrier;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.invoke.VarHandle;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The sleep/wake handshake on real threads: carriers that take from an {@link InjectQueue} and
 * otherwise go to sleep as {@code CarrierLoop.sleep} does (stop searching, mark idle, fence,
 * recheck, park until unparked), and submitters that publish, fence and wake as
 * {@code Carriers.execute} does. The carriers park with no timeout, so a lost wakeup leaves tasks
 * queued with every carrier asleep and the run never finishes: the timeout below is that hang's
 * guard, far beyond any run's length, not a bound on speed.
 */
class IdleCarriersStressTest {
    private static final int CARRIERS = 3;
    private static final int SUBMITTERS = 2;
    private static final int TASKS_EACH = 100_000;

    @Test
    @Timeout(value = 2, unit = TimeUnit.MINUTES)
    void noWakeupIsLost() throws Exception {
        IdleCarriers idle = new IdleCarriers(CARRIERS);
        InjectQueue queue = new InjectQueue();
        AtomicInteger ran = new AtomicInteger();
        AtomicLong sleeps = new AtomicLong();
        CountDownLatch allRan = new CountDownLatch(1);
        int total = SUBMITTERS * TASKS_EACH;
        Runnable task = () -> {
            if (ran.incrementAndGet() == total) {
                allRan.countDown();
            }
        };
        Thread[] carriers = new Thread[CARRIERS];
        for (int i = 0; i < CARRIERS; i++) {
            int index = i;
            carriers[i] = new Thread(() -> {
                boolean searching = false;
                while (allRan.getCount() > 0) {
                    Runnable next = queue.poll();
                    if (next != null) {
                        if (searching) {
                            searching = false;
                            if (idle.stopSearching() == 0) {
                                wake(idle, carriers); // the last searcher to find work wakes another
                            }
                        }
                        next.run();
                        continue;
                    }
                    if (searching) {
                        searching = false;
                        idle.stopSearching();
                    }
                    idle.markIdle(index);
                    VarHandle.fullFence();
                    if (!queue.isEmpty() || allRan.getCount() == 0) {
                        if (!idle.tryClearIdle(index)) {
                            searching = true;
                        }
                        continue;
                    }
                    sleeps.incrementAndGet();
                    LockSupport.park(this);
                    if (!idle.tryClearIdle(index)) {
                        searching = true; // claimed by a waker, counted as a searcher
                    }
                }
            }, "carrier-" + i);
        }
        Thread[] submitters = new Thread[SUBMITTERS];
        for (int s = 0; s < SUBMITTERS; s++) {
            submitters[s] = new Thread(() -> {
                for (int i = 0; i < TASKS_EACH; i++) {
                    queue.offer(task);
                    wake(idle, carriers);
                    if (i % 64 == 0) {
                        Thread.yield(); // let the carriers run dry and sleep now and then
                    }
                }
            }, "submitter-" + s);
        }
        for (Thread t : carriers) {
            t.start();
        }
        for (Thread t : submitters) {
            t.start();
        }
        for (Thread t : submitters) {
            t.join();
        }
        allRan.await();
        for (Thread t : carriers) {
            LockSupport.unpark(t); // to see that every task ran and exit
        }
        for (Thread t : carriers) {
            t.join();
        }
        assertEquals(total, ran.get());
        assertTrue(queue.isEmpty());
        int searchers = idle.searchers.get();
        assertTrue(searchers >= 0 && searchers <= CARRIERS, "searchers: " + searchers);
    }

    /** What {@code Carriers.wakeSleeperIfNeeded} does. */
    private static void wake(IdleCarriers idle, Thread[] carriers) {
        VarHandle.fullFence();
        int carrier = idle.claimSleeperToWake();
        if (carrier >= 0) {
            LockSupport.unpark(carriers[carrier]);
        }
    }
}
