package io.fiber;

import org.junit.jupiter.api.Test;

import java.util.concurrent.CountDownLatch;
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
        AtomicInteger tid = new AtomicInteger(-1);
        AtomicBoolean stop = new AtomicBoolean();
        CountDownLatch started = new CountDownLatch(1);
        Thread parked = Thread.ofPlatform().start(() -> {
            tid.set(OsThreadState.currentTid());
            started.countDown();
            while (!stop.get()) {
                LockSupport.park();
            }
        });
        started.await();
        Thread.sleep(50);
        assertTrue(OsThreadState.isBlocked(tid.get()), "a parked thread sleeps in the kernel");
        stop.set(true);
        LockSupport.unpark(parked);
        parked.join();

        AtomicInteger spinnerTid = new AtomicInteger(-1);
        AtomicBoolean stopSpinning = new AtomicBoolean();
        CountDownLatch spinning = new CountDownLatch(1);
        Thread spinner = Thread.ofPlatform().start(() -> {
            spinnerTid.set(OsThreadState.currentTid());
            spinning.countDown();
            while (!stopSpinning.get()) {
                Thread.onSpinWait();
            }
        });
        spinning.await();
        long cpuBefore = OsThreadState.cpuNanos(spinner);
        Thread.sleep(50);
        boolean blocked = OsThreadState.isBlocked(spinnerTid.get());
        long cpuAfter = OsThreadState.cpuNanos(spinner);
        stopSpinning.set(true);
        spinner.join();
        assertFalse(blocked, "a spinning thread is running or runnable");
        assertTrue(cpuBefore < 0 || cpuAfter - cpuBefore > 1_000_000, "it used CPU: " + cpuBefore + " -> " + cpuAfter);
    }

    @Test
    void anUnknownThreadCountsAsBlocked() {
        assertTrue(OsThreadState.isBlocked(-1));
        assertTrue(OsThreadState.isBlocked(Integer.MAX_VALUE), "no such task");
    }
}
