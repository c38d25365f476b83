package io.fiber;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Helpers shared by the fiber-core tests (io.fiber and io.fiber.channel): schedulers on our carriers, and waits that fail instead of hanging. */
public final class TestFibers {
    private TestFibers() { }

    /** A 2-carrier scheduler; fails if fibers would fall back to the JDK scheduler. */
    public static FiberScheduler scheduler(String name) {
        return scheduler(name, 2);
    }

    public static FiberScheduler scheduler(String name, int carriers) {
        FiberScheduler s = FiberScheduler.builder().carriers(carriers).name(name).build();
        assertTrue(s.usesOwnCarriers(), "fibers must run on our carriers (surefire passes --add-opens)");
        return s;
    }

    /** The fiber's value; fails instead of hanging if it does not end within 20 s. */
    public static <T> T result(Fiber<T> f) throws InterruptedException {
        if (!f.join(Duration.ofSeconds(20))) {
            f.scheduler().shutdownNow();
            fail(f + " did not finish within 20 s");
        }
        return f.get();
    }

    /**
     * Waits until {@code t} is blocked (WAITING, TIMED_WAITING, or BLOCKED on a monitor); fails after 20 s.
     * A latch counted down just before a fiber parks says only that it started: wait for this before a test
     * relies on the fiber being parked (its resumption counted, a wakeup taken from another thread).
     */
    public static void awaitBlocked(Thread t) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        for (;;) {
            Thread.State st = t.getState();
            if (st == Thread.State.WAITING || st == Thread.State.TIMED_WAITING || st == Thread.State.BLOCKED) {
                return;
            }
            if (System.nanoTime() - deadline > 0) {
                fail(t + " never blocked, state " + st);
            }
            LockSupport.parkNanos(100_000);
        }
    }

    public static void await(CountDownLatch latch) throws InterruptedException {
        assertTrue(latch.await(20, TimeUnit.SECONDS), "latch not reached within 20 s");
    }

    /** A platform thread that counts {@code latch} down after {@code millis}, so a caller can block on it first. */
    public static Thread countDownLater(CountDownLatch latch, long millis) {
        return Thread.ofPlatform().start(() -> {
            try {
                Thread.sleep(millis);
            } catch (InterruptedException ignored) {
                // count down at once
            }
            latch.countDown();
        });
    }

    public static long millisSince(long startNanos) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
    }

    /** A scheduler's carriers and their shared state, for tests of the carrier layer. */
    public static io.fiber.internal.carrier.Carriers carriers(FiberScheduler scheduler) {
        return scheduler.carriers();
    }
}
