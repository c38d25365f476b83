package io.fiber.internal.jdk;

import org.junit.jupiter.api.Test;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The OS's view of a thread, as the watchdog reads it before a handoff: a parked thread is blocked,
 * a spinning one is not and uses CPU. Linux only (elsewhere every thread counts as blocked).
 */
class OsThreadStateTest {
    @Test
    void aParkedThreadIsBlockedAndASpinningOneIsNot() throws Exception {
        assumeTrue(OsThreadState.currentTid() > 0, "no /proc/thread-self here");
        try (Watched parked = new Watched(LockSupport::park)) {
            Thread.sleep(50);
            assertTrue(OsThreadState.isBlocked(parked.tid), "a parked thread sleeps in the kernel");
        }
        try (Watched spinner = new Watched(Thread::onSpinWait)) {
            long cpuBefore = OsThreadState.cpuNanos(spinner.thread);
            Thread.sleep(50);
            assertFalse(OsThreadState.isBlocked(spinner.tid), "a spinning thread is running or runnable");
            // A millisecond of CPU, however long a loaded machine takes to give it one (50 ms once did not).
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            long cpuAfter = OsThreadState.cpuNanos(spinner.thread);
            while (cpuBefore >= 0 && cpuAfter - cpuBefore <= 1_000_000 && System.nanoTime() < deadline) {
                Thread.sleep(10);
                cpuAfter = OsThreadState.cpuNanos(spinner.thread);
            }
            assertTrue(cpuBefore < 0 || cpuAfter - cpuBefore > 1_000_000, "it used CPU: " + cpuBefore + " -> " + cpuAfter);
        }
    }

    /** A platform thread that repeats {@code step} until closed, and its kernel thread id. */
    private static final class Watched implements AutoCloseable {
        final Thread thread;
        final int tid;
        private final AtomicBoolean stop = new AtomicBoolean();

        Watched(Runnable step) throws InterruptedException {
            AtomicInteger id = new AtomicInteger(-1);
            CountDownLatch started = new CountDownLatch(1);
            thread = Thread.ofPlatform().start(() -> {
                id.set(OsThreadState.currentTid());
                started.countDown();
                while (!stop.get()) {
                    step.run();
                }
            });
            started.await();
            tid = id.get();
        }

        @Override
        public void close() throws InterruptedException {
            stop.set(true);
            LockSupport.unpark(thread);
            thread.join();
        }
    }

    @Test
    void anUnknownThreadCountsAsBlocked() {
        assertTrue(OsThreadState.isBlocked(-1));
        assertTrue(OsThreadState.isBlocked(Integer.MAX_VALUE), "no such task");
    }
}
