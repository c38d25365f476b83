package io.fiber.internal.carrier;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@link LiveFibers} on real threads, and its Dekker pair with the scheduler state through the real
 * {@link Carriers#admit} and {@link Carriers#stop} (a scheduler with no carrier loops: only its
 * lifecycle runs). {@link LiveFibersLincheckTest} checks the same in every interleaving of small cases.
 */
class LiveFibersStressTest {
    @Test
    void addsAndRemovesFromManyThreadsLeaveTheSetConsistent() throws Exception {
        LiveFibers live = new LiveFibers(2);
        int threads = 4;
        int each = 50_000;
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int id = t;
            workers.add(new Thread(() -> {
                RunQueueStressTest.await(start);
                FiberTask[] window = new FiberTask[8]; // a few fibers alive at once, ending out of order
                for (int i = 0; i < each; i++) {
                    int slot = (i * 5) & 7;
                    if (window[slot] != null) {
                        live.remove(window[slot]);
                    }
                    window[slot] = LiveFibersLincheckTest.withThread(new FiberTask(id, null, false));
                    live.add(window[slot]);
                }
                for (FiberTask f : window) {
                    if (f != null) {
                        live.remove(f);
                    }
                }
            }));
        }
        workers.forEach(Thread::start);
        start.countDown();
        for (Thread t : workers) {
            t.join();
        }
        assertTrue(live.isEmpty());
        assertEquals(0, live.size());
        assertEquals((long) threads * each, live.added());
        List<FiberTask> left = new ArrayList<>();
        live.forEach(left::add);
        assertEquals(List.of(), left);
    }

    /** Spawns racing a stop: each admitted fiber is seen by the stop's scan, and the scheduler terminates once they end. */
    @Test
    void noSpawnRacingAStopIsLost() throws Exception {
        for (int round = 0; round < 300; round++) {
            Carriers carriers = new Carriers("dekker-" + round, 0, true, 1, 0, false);
            Set<Object> cancelled = ConcurrentHashMap.newKeySet();
            List<FiberTask> admitted = java.util.Collections.synchronizedList(new ArrayList<>());
            CountDownLatch start = new CountDownLatch(1);
            List<Thread> spawners = new ArrayList<>();
            for (int s = 0; s < 2; s++) {
                spawners.add(new Thread(() -> {
                    RunQueueStressTest.await(start);
                    for (int i = 0; ; i++) {
                        FiberTask task = LiveFibersLincheckTest.withThread(carriers.newTask(new Object(), false));
                        try {
                            carriers.admit(task);
                        } catch (RejectedExecutionException e) {
                            return;
                        }
                        admitted.add(task);
                        if (i % 2 == 1) {
                            carriers.finished(task); // some end before the stop
                            admitted.remove(task);
                        }
                    }
                }));
            }
            spawners.forEach(Thread::start);
            start.countDown();
            Thread.yield();
            carriers.stop(cancelled::add);
            for (Thread t : spawners) {
                t.join();
            }
            for (FiberTask task : admitted) {
                assertTrue(cancelled.contains(task.owner()), "round " + round + ": a fiber admitted and still alive was missed by the stop");
            }
            assertEquals(admitted.isEmpty(), carriers.isTerminated(), "round " + round);
            for (FiberTask task : admitted) {
                carriers.finished(task);
            }
            assertTrue(carriers.isTerminated(), "round " + round + ": terminated once the last admitted fiber ended");
        }
    }
}
