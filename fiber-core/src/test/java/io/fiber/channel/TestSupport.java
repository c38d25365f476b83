package io.fiber.channel;

import io.fiber.Fiber;
import io.fiber.FiberScheduler;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Helpers for the channel tests; every wait is bounded so that a bug fails a test instead of hanging it. */
final class TestSupport {
    private TestSupport() { }

    static FiberScheduler scheduler(String name) {
        FiberScheduler s = FiberScheduler.builder().carriers(2).name(name).build();
        assertTrue(s.usesOwnCarriers(), "fibers must run on our carriers (surefire passes --add-opens)");
        return s;
    }

    /** The fiber's value; fails (and cancels the scheduler's fibers, so its close cannot hang) if it takes over 20 s. */
    static <T> T result(Fiber<T> f) throws InterruptedException {
        if (!f.join(Duration.ofSeconds(20))) {
            f.scheduler().shutdownNow();
            fail(f + " did not finish within 20 s");
        }
        return f.get();
    }

    /** Waits until {@code condition} holds; fails after 10 s. */
    static void eventually(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                fail("timed out waiting until " + what);
            }
            LockSupport.parkNanos(100_000);
        }
    }

    /** Waits until {@code t} is parked (a fiber or thread blocked in a channel operation). */
    static void awaitParked(Thread t) {
        eventually(t + " is parked", () -> {
            Thread.State s = t.getState();
            return s == Thread.State.WAITING || s == Thread.State.TIMED_WAITING;
        });
    }

    /** Waits until {@code ch} has {@code n} parked operations. */
    static void awaitWaiters(Channel<?> ch, int n) {
        eventually(ch + " has " + n + " waiters", () -> ch.waiterCount() == n);
    }
}
