package io.fiber.channel;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.fail;

/** Channel-specific test helpers (schedulers and results: {@link io.fiber.TestFibers}); every wait is bounded so that a bug fails a test instead of hanging it. */
final class TestSupport {
    private TestSupport() { }

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

    /** Waits until {@code ch} has {@code n} parked operations. */
    static void awaitWaiters(Channel<?> ch, int n) {
        eventually(ch + " has " + n + " waiters", () -> ch.waiterCount() == n);
    }
}
