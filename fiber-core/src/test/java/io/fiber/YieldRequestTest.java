package io.fiber;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Yield requests (the watchdog's cooperative preemption, {@link CarrierLoop#yieldIfRequested}): a
 * fiber that holds its carrier while other work waits is asked to yield, and does so at its next
 * spawn. With handoff off and one carrier, nothing else could let the fibers it spawned run. The
 * socket-read safe point is tested with the agent ({@code ReactorRoutingIT}).
 */
class YieldRequestTest {
    private static final long LIMIT_NANOS = TimeUnit.SECONDS.toNanos(10);

    @Test
    void aFiberThatSpawnsWithoutEverBlockingLetsWhatItSpawnedRun() throws Exception {
        try (FiberScheduler s = FiberScheduler.builder().carriers(1).name("yield-requests").handoffAfter(Duration.ZERO).build()) {
            AtomicInteger childrenRan = new AtomicInteger();
            Fiber<Long> spawner = s.spawn(() -> {
                long start = System.nanoTime();
                while (childrenRan.get() == 0 && System.nanoTime() - start < LIMIT_NANOS) {
                    s.spawn(childrenRan::incrementAndGet);
                }
                return System.nanoTime() - start;
            });
            long heldNanos = spawner.get();
            assertTrue(childrenRan.get() > 0 && heldNanos < LIMIT_NANOS,
                    "the spawner kept its only carrier for " + TimeUnit.NANOSECONDS.toMillis(heldNanos)
                            + " ms; its children ran " + childrenRan.get() + " times");
            System.out.printf("yield requests: the spawner's children first ran after %.1f ms%n", heldNanos / 1e6);
        }
    }
}
