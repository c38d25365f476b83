package io.fiber.internal.time;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The carrier's timer heap on its own (no carrier fires it; the test thread does): deadline order,
 * cancels from any thread, saturation of huge delays, and the hand-over when a carrier exits.
 */
class CarrierTimersTest {
    private static CarrierTimers ownedByCaller() {
        return new CarrierTimers();
    }

    @Test
    void firesOnlyExpiredTimersInDeadlineOrder() throws Exception {
        List<Integer> fired = new ArrayList<>();
        CarrierTimers timers = ownedByCaller();
        Random random = new Random(42);
        int n = 500;
        CarrierTimers.Timer[] scheduled = new CarrierTimers.Timer[n];
        for (int i = 0; i < n; i++) {
            int id = i;
            scheduled[i] = timers.schedule(() -> fired.add(id), random.nextInt(20_000_000)); // < 20 ms
        }
        timers.schedule(() -> fired.add(-1), 60_000_000_000L);
        Thread.sleep(30);
        assertEquals(n, timers.fireExpired());
        assertEquals(n, fired.size());
        for (int i = 1; i < n; i++) {
            assertTrue(scheduled[fired.get(i - 1)].deadline() - scheduled[fired.get(i)].deadline() <= 0, "fired out of deadline order at " + i);
        }
        assertEquals(1, timers.size(), "the one-minute timer stays");
        long next = timers.nanosUntilNext();
        assertTrue(next > 50_000_000_000L && next <= 60_000_000_000L, "next deadline in about a minute: " + next);
        assertEquals(n, timers.fired());
    }

    @Test
    void cancelRemovesAtOnceAndTheTimerNeverRuns() {
        CarrierTimers timers = ownedByCaller();
        boolean[] ran = new boolean[1];
        Future<?> timer = timers.schedule(() -> ran[0] = true, 0);
        timers.schedule(() -> { }, 60_000_000_000L);
        assertTrue(timer.cancel(false));
        assertTrue(timer.isCancelled());
        assertEquals(1, timers.size());
        assertEquals(0, timers.fireExpired());
        assertFalse(ran[0]);
    }

    @Test
    void cancelFromAnotherThreadRemovesTheTimerToo() throws Exception {
        CarrierTimers timers = ownedByCaller();
        boolean[] ran = new boolean[1];
        Future<?> timer = timers.schedule(() -> ran[0] = true, 5_000_000);
        Thread other = Thread.ofPlatform().start(() -> assertTrue(timer.cancel(false)));
        other.join();
        assertEquals(0, timers.size());
        assertEquals(-1, timers.nanosUntilNext());
        Thread.sleep(10);
        assertEquals(0, timers.fireExpired());
        assertFalse(ran[0]);
    }

    @Test
    void hugeDelaysSaturateInsteadOfOverflowing() {
        CarrierTimers timers = ownedByCaller();
        timers.schedule(() -> { }, Long.MAX_VALUE);
        timers.schedule(() -> { }, 1_000_000_000L);
        long next = timers.nanosUntilNext();
        assertTrue(next > 0 && next <= 1_000_000_000L, "the one-second timer comes first: " + next);
        assertEquals(0, timers.fireExpired());
    }

    @Test
    void drainHandsOverEveryPendingTimer() {
        CarrierTimers timers = ownedByCaller();
        for (int i = 0; i < 10; i++) {
            timers.schedule(() -> { }, 1_000_000_000L + i);
        }
        Future<?> cancelled = timers.schedule(() -> { }, 1);
        cancelled.cancel(false);
        List<CarrierTimers.Timer> handed = new ArrayList<>();
        timers.drainTo(handed::add);
        assertEquals(10, handed.size());
        assertEquals(0, timers.size());
        assertEquals(-1, timers.nanosUntilNext());
    }

    /**
     * Carriers and fibers share the heap, so nobody may queue for it: a fiber queued for a lock is
     * unmounted, and a carrier queued behind it waits for a fiber that may need that carrier. Every
     * operation goes on while another thread holds this object's monitor (the lock it used to be).
     */
    @Test
    void noOperationWaitsForALockAnotherThreadHolds() throws Exception {
        CarrierTimers timers = ownedByCaller();
        synchronized (timers) {
            Thread user = Thread.ofVirtual().start(() -> {
                Future<?> t = timers.schedule(() -> { }, 1_000_000_000L);
                timers.nanosUntilNext();
                timers.size();
                timers.fireExpired();
                t.cancel(false);
                timers.drainTo(timer -> { });
            });
            assertTrue(user.join(java.time.Duration.ofSeconds(10)), "a timer operation waited for the monitor");
        }
    }

    /** Threads add, cancel and fire at once: every timer either fires once or is cancelled, none is lost. */
    /**
     * A timer fires or is cancelled, never both: a cancel while its task runs says it was too late.
     * {@code FutureTask.cancel(false)} says true then (the task's state stays NEW until the run ends),
     * which the stress test below caught as 80,001 outcomes for 80,000 timers.
     */
    @Test
    void aCancelWhileTheTimerFiresFailsAndTheFiringCompletes() throws Exception {
        CarrierTimers timers = ownedByCaller();
        java.util.concurrent.CountDownLatch running = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch finish = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicInteger ran = new java.util.concurrent.atomic.AtomicInteger();
        Future<?> timer = timers.schedule(() -> {
            running.countDown();
            try {
                finish.await();
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
            ran.incrementAndGet();
        }, 0);
        Thread firing = Thread.ofPlatform().start(timers::fireExpired);
        running.await();
        assertFalse(timer.cancel(false), "the timer is firing: too late to cancel");
        assertFalse(timer.isCancelled());
        finish.countDown();
        firing.join();
        assertEquals(1, ran.get());
        assertTrue(timer.isDone());
        assertFalse(timer.cancel(false), "fired");

        Future<?> cancelled = timers.schedule(ran::incrementAndGet, 0);
        assertTrue(cancelled.cancel(false));
        assertTrue(cancelled.isCancelled());
        assertFalse(cancelled.cancel(false), "cancelled once");
        timers.fireExpired();
        assertEquals(1, ran.get(), "a cancelled timer never fires");
    }

    @Test
    void concurrentSchedulesCancelsAndFiresLoseNothing() throws Exception {
        CarrierTimers timers = ownedByCaller();
        java.util.concurrent.atomic.AtomicInteger ran = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicInteger cancelled = new java.util.concurrent.atomic.AtomicInteger();
        int perThread = 20_000;
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            Thread.Builder builder = i % 2 == 0 ? Thread.ofPlatform() : Thread.ofVirtual();
            threads.add(builder.start(() -> {
                Random random = new Random();
                for (int n = 0; n < perThread; n++) {
                    Future<?> timer = timers.schedule(ran::incrementAndGet, random.nextInt(50_000));
                    if (random.nextBoolean() && timer.cancel(false)) {
                        cancelled.incrementAndGet();
                    }
                }
            }));
        }
        boolean alive = true;
        while (alive) {
            timers.fireExpired();
            alive = threads.stream().anyMatch(Thread::isAlive);
        }
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (timers.size() > 0 && System.nanoTime() < deadline) {
            timers.fireExpired();
        }
        assertEquals(0, timers.size());
        assertEquals(4 * perThread, ran.get() + cancelled.get(), "ran " + ran + ", cancelled " + cancelled);
    }
}
