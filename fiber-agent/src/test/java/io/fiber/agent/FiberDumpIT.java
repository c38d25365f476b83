package io.fiber.agent;

import io.fiber.Fiber;
import io.fiber.FiberScheduler;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.locks.ReentrantLock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A fiber dump names the owner of the lock fibers wait for under the agent, which opens
 * {@code java.util.concurrent.locks} to the runtime; without it (only {@code java.lang} opened) the
 * dump says owners are unknown and how to see them. In child JVMs, so each starts as a user's would.
 */
class FiberDumpIT {

    @Test
    void underTheAgentTheDumpNamesTheLocksOwner() throws Exception {
        ChildJvm.Run r = ChildJvm.run(List.of(ChildJvm.agent("")), ChildJvm.testClassPath(), DumpProgram.class, List.of(), 120);
        assertEquals(0, r.exit(), r.out() + r.err());
        assertTrue(r.out().contains("10 fibers WAITING, parked on java.util.concurrent.locks.ReentrantLock$NonfairSync@"), r.out());
        assertTrue(r.out().contains(" held by #"), r.out());
        assertTrue(r.out().contains("\"owner\""), r.out());
        assertFalse(r.out().contains("lock owners unknown"), r.out());
    }

    @Test
    void withoutTheAgentTheDumpSaysOwnersAreUnknownAndHowToSeeThem() throws Exception {
        ChildJvm.Run r = ChildJvm.run(List.of("--add-opens", "java.base/java.lang=ALL-UNNAMED"), ChildJvm.testClassPath(),
                DumpProgram.class, List.of(), 120);
        assertEquals(0, r.exit(), r.out() + r.err());
        assertTrue(r.out().contains("10 fibers WAITING, parked on java.util.concurrent.locks.ReentrantLock$NonfairSync@"), r.out());
        assertFalse(r.out().contains(" held by #"), r.out());
        assertTrue(r.out().contains("lock owners unknown: run with the agent, or --add-opens java.base/java.util.concurrent.locks=ALL-UNNAMED"), r.out());
    }

    /** Ten fibers wait for a lock that a fiber named "owner" holds; prints the scheduler's dump. */
    static final class DumpProgram {
        public static void main(String[] args) throws Exception {
            try (FiberScheduler s = FiberScheduler.builder().carriers(1).name("dump-it").build()) {
                ReentrantLock lock = new ReentrantLock();
                CountDownLatch locked = new CountDownLatch(1);
                CountDownLatch release = new CountDownLatch(1);
                Fiber<Void> owner = s.spawn("owner", () -> {
                    lock.lock();
                    try {
                        locked.countDown();
                        release.await();
                    } finally {
                        lock.unlock();
                    }
                    return null;
                });
                locked.await();
                List<Fiber<Void>> waiters = new ArrayList<>();
                for (int i = 0; i < 10; i++) {
                    waiters.add(s.spawn("waiter-" + i, () -> {
                        lock.lock();
                        lock.unlock();
                        return null;
                    }));
                }
                for (Fiber<Void> w : waiters) {
                    while (w.thread().getState() != Thread.State.WAITING) {
                        Thread.sleep(1);
                    }
                }
                StringBuilder dump = new StringBuilder();
                s.dumpFibers(dump);
                System.out.println(dump);
                release.countDown();
                owner.join();
            }
        }
    }
}
