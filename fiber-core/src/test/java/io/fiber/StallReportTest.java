package io.fiber;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Stall reports: a scheduler whose fibers can no longer be woken from inside it says so, and names
 * the fibers and what they wait on; one whose fibers can still wake by themselves says nothing.
 */
class StallReportTest {
    private static final Duration QUIET = Duration.ofMillis(300);

    /** Two fibers, each holding one lock and wanting the other's: reported with the fibers and a dump. */
    @Test
    void twoFibersWaitingForEachOthersLocksAreReported() throws Exception {
        LinkedBlockingQueue<String> reports = new LinkedBlockingQueue<>();
        FiberScheduler s = FiberScheduler.builder().carriers(2).name("deadlocked").stallReportAfter(QUIET).onStall(reports::add).build();
        ReentrantLock a = new ReentrantLock();
        ReentrantLock b = new ReentrantLock();
        CountDownLatch bothHold = new CountDownLatch(2);
        Fiber<Void> first = s.spawn("first", () -> lockBoth(a, b, bothHold));
        Fiber<Void> second = s.spawn("second", () -> lockBoth(b, a, bothHold));
        String report = reports.poll(20, TimeUnit.SECONDS);
        assertNotNull(report, "no stall report within 20 s");
        assertTrue(report.startsWith("Scheduler 'deadlocked' looks stuck: all 2 fibers have been waiting for "), report);
        assertTrue(report.contains("only a thread outside it"), "says what can still wake them: " + report);
        assertTrue(report.contains("\"first\"") && report.contains("\"second\""), report);
        assertTrue(report.contains("ReentrantLock$NonfairSync@"), report);
        assertTrue(report.contains("Fibers of scheduler 'deadlocked'"), "with a dump: " + report);
        first.cancel();
        second.cancel();
        s.shutdownNow();
    }

    /** Fibers that sleep (on the JDK's timer here, without the agent) will wake: no report, however long the carriers idle. */
    @Test
    void sleepingFibersAreNotReported() throws Exception {
        LinkedBlockingQueue<String> reports = new LinkedBlockingQueue<>();
        try (FiberScheduler s = FiberScheduler.builder().carriers(1).name("sleepy").stallReportAfter(QUIET).onStall(reports::add).build()) {
            Fiber<Void> sleeper = s.spawn(() -> {
                Thread.sleep(1_500);
                return null;
            });
            assertNull(reports.poll(1_200, TimeUnit.MILLISECONDS), "a sleeping fiber will wake by itself");
            sleeper.join();
        }
    }

    /** A latch a platform thread will count down: reported (nothing inside can wake it), and the report says a thread outside may. */
    @Test
    void aFiberWaitingForAPlatformThreadIsReportedAsPossiblyWokenFromOutside() throws Exception {
        LinkedBlockingQueue<String> reports = new LinkedBlockingQueue<>();
        try (FiberScheduler s = FiberScheduler.builder().carriers(1).name("waits-outside").stallReportAfter(QUIET).onStall(reports::add).build()) {
            CountDownLatch latch = new CountDownLatch(1);
            Fiber<Void> waiter = s.spawn("waiter", () -> {
                latch.await();
                return null;
            });
            String report = reports.poll(20, TimeUnit.SECONDS);
            assertNotNull(report);
            assertTrue(report.contains("all 1 fiber has been waiting") && report.contains("CountDownLatch$Sync@"), report);
            assertTrue(!report.contains("Deadlock:"), "no cycle: " + report);
            latch.countDown();
            waiter.join();
        }
    }

    private static Void lockBoth(ReentrantLock mine, ReentrantLock theirs, CountDownLatch bothHold) throws InterruptedException {
        mine.lock();
        try {
            bothHold.countDown();
            bothHold.await();
            theirs.lockInterruptibly();
            theirs.unlock();
        } finally {
            mine.unlock();
        }
        return null;
    }
}
