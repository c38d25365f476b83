package io.fiber;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link FiberScheduler#unstartedFiber}: a fiber handed out as an unstarted {@link Thread} counts as
 * one of the scheduler's fibers from its {@code start()} on, and not before.
 */
class UnstartedFiberTest {

    @Test
    void isNothingToTheSchedulerUntilStartedThenAFiberOfIt() throws Exception {
        try (FiberScheduler s = TestFibers.scheduler("unstarted-count")) {
            AtomicReference<Fiber<?>> inside = new AtomicReference<>();
            Thread thread = s.unstartedFiber("worker-7", () -> inside.set(Fibers.current()));
            assertTrue(thread.isVirtual());
            assertEquals(Thread.State.NEW, thread.getState());
            assertEquals("worker-7", thread.getName());
            assertEquals(0, s.stats().fibersSpawned(), "not counted before start()");

            thread.start();
            assertTrue(thread.join(Duration.ofSeconds(20)));
            Fiber<?> fiber = inside.get();
            assertNotNull(fiber, "Fibers.current() works in it");
            assertSame(s, fiber.scheduler());
            assertSame(thread, fiber.thread());
            assertEquals(1, s.stats().fibersSpawned());
            assertEquals(0, s.stats().fibersAlive());
        }
    }

    @Test
    void shutdownWaitsForAStartedOneAndNotForAnUnstartedOne() throws Exception {
        try (FiberScheduler s = TestFibers.scheduler("unstarted-wait")) {
            CountDownLatch release = new CountDownLatch(1);
            Thread started = s.unstartedFiber(null, () -> {
                try {
                    release.await();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
            s.unstartedFiber(null, () -> { }); // never started: must not hold the scheduler up
            started.start();
            s.shutdown();
            assertFalse(s.awaitTermination(Duration.ofMillis(200)), "a started one is waited for");
            release.countDown();
            assertTrue(s.awaitTermination(Duration.ofSeconds(20)), "terminates once it ended: " + s.stats());
        }
    }

    @Test
    void startOnAShutDownSchedulerIsRejectedAndTheTaskNeverRuns() throws Exception {
        FiberScheduler s = TestFibers.scheduler("unstarted-rejected");
        AtomicBoolean ran = new AtomicBoolean();
        Thread madeBefore = s.unstartedFiber(null, () -> ran.set(true));
        s.close();
        RejectedExecutionException e = assertThrows(RejectedExecutionException.class, madeBefore::start);
        assertTrue(e.getMessage().contains("scheduler 'unstarted-rejected'") && e.getMessage().contains("shut down"),
                e.getMessage());
        assertTrue(madeBefore.join(Duration.ofSeconds(20)));
        assertEquals(Thread.State.TERMINATED, madeBefore.getState());
        Thread madeAfter = s.unstartedFiber(null, () -> ran.set(true));
        assertThrows(RejectedExecutionException.class, madeAfter::start);
        assertFalse(ran.get());
        assertEquals(0, s.stats().fibersSpawned());
    }

    @Test
    void shutdownNowInterruptsAStartedOne() throws Exception {
        try (FiberScheduler s = TestFibers.scheduler("unstarted-cancel")) {
            CountDownLatch sleeping = new CountDownLatch(1);
            AtomicBoolean interrupted = new AtomicBoolean();
            Thread thread = s.unstartedFiber(null, () -> {
                sleeping.countDown();
                try {
                    Thread.sleep(TimeUnit.SECONDS.toMillis(30));
                } catch (InterruptedException e) {
                    interrupted.set(true);
                }
            });
            thread.start();
            TestFibers.await(sleeping);
            assertEquals(1, s.shutdownNow());
            assertTrue(thread.join(Duration.ofSeconds(20)));
            assertTrue(interrupted.get());
        }
    }

    @Test
    void anExceptionGoesToTheThreadsUncaughtExceptionHandler() throws Exception {
        try (FiberScheduler s = TestFibers.scheduler("unstarted-uncaught")) {
            IllegalStateException thrown = new IllegalStateException("task failed");
            AtomicReference<Thread> handledThread = new AtomicReference<>();
            AtomicReference<Throwable> handled = new AtomicReference<>();
            Thread thread = s.unstartedFiber(null, () -> {
                throw thrown;
            });
            thread.setUncaughtExceptionHandler((t, e) -> {
                handledThread.set(t);
                handled.set(e);
            });
            thread.start();
            assertTrue(thread.join(Duration.ofSeconds(20)));
            assertSame(thrown, handled.get());
            assertSame(thread, handledThread.get());
        }
    }
}
