package io.fiber.internal.carrier;

import io.fiber.CarrierStats;
import io.fiber.Fiber;
import io.fiber.FiberScheduler;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
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

    /**
     * A fiber asked to yield goes behind the fibers that wait in the scheduler's inject queue (here
     * one spawned from a platform thread), as Go puts a preempted goroutine on its global queue.
     * Back in the local queue it would be taken again at once, run after run, until the periodic
     * check of the inject queue {@value CarrierLoop#GLOBAL_QUEUE_INTERVAL} runs later. Its safe point
     * is a spawn on another scheduler, which adds nothing to this carrier's queue.
     */
    @Test
    void aFiberAskedToYieldGoesBehindFibersWaitingFromOutside() throws Exception {
        try (FiberScheduler s = FiberScheduler.builder().carriers(1).name("yield-behind").handoffAfter(Duration.ZERO).build();
             FiberScheduler elsewhere = FiberScheduler.builder().carriers(1).name("yield-elsewhere").build()) {
            AtomicInteger outsiderRan = new AtomicInteger();
            CountDownLatch spinning = new CountDownLatch(1);
            Fiber<Long> spinner = s.spawn(() -> {
                long start = System.nanoTime();
                spinning.countDown();
                while (outsiderRan.get() == 0 && System.nanoTime() - start < LIMIT_NANOS) {
                    elsewhere.spawn(() -> { });
                }
                return System.nanoTime() - start;
            });
            assertTrue(spinning.await(10, TimeUnit.SECONDS));
            s.spawn(outsiderRan::incrementAndGet);
            long heldNanos = spinner.get();
            long runs = s.stats().carriers().stream().mapToLong(CarrierStats::runs).sum();
            assertTrue(outsiderRan.get() > 0 && heldNanos < LIMIT_NANOS, "the spinner kept its only carrier for "
                    + TimeUnit.NANOSECONDS.toMillis(heldNanos) + " ms");
            // The spinner's first run, the outsider, and at most a few more slices of the spinner.
            assertTrue(runs < CarrierLoop.GLOBAL_QUEUE_INTERVAL / 4, "the carrier ran " + runs
                    + " continuations before the outsider finished: the asked-to-yield spinner kept going first");
            System.out.printf("yield requests: a fiber from outside ran after %.1f ms, %d runs%n", heldNanos / 1e6, runs);
        }
    }

    /**
     * A fiber asked to yield does so at the {@value CarrierLoop#SAFE_POINT_BUDGET}th safe point
     * after the request, not at the first: a fiber forking children (a safe point per fork) that
     * yielded at each request waited behind its carrier's whole queue every millisecond. Here 1,000
     * forks of 100 microseconds each hold the carrier for about 100 ms while the forks wait: a yield
     * shows as runs of the carrier between two forks: about once per budget, where yielding at the
     * first safe point after each request would be about once per millisecond.
     */
    @Test
    void aForkingFiberYieldsOncePerBudgetOfSafePoints() throws Exception {
        int forks = 1_000;
        try (FiberScheduler s = FiberScheduler.builder().carriers(1).name("yield-budget").handoffAfter(Duration.ZERO).build()) {
            Fiber<Integer> forker = s.spawn(() -> {
                int yields = 0;
                long runsBefore = s.stats().carriers().get(0).runs();
                for (int i = 0; i < forks; i++) {
                    s.spawn(() -> { });
                    long spinUntil = System.nanoTime() + 100_000;
                    while (System.nanoTime() < spinUntil) {
                        Thread.onSpinWait();
                    }
                    long runs = s.stats().carriers().get(0).runs();
                    if (runs != runsBefore) {
                        yields++; // other fibers ran since the previous fork: this fiber yielded
                        runsBefore = runs;
                    }
                }
                return yields;
            });
            int yields = forker.get();
            assertTrue(yields >= 1, "the watchdog asked the forker to yield, and it did");
            // About once per budget (1,000 / 128 + 1); honoured at the first safe point, once per millisecond, about 100.
            assertTrue(yields <= 10, "the forker yielded " + yields + " times in " + forks + " forks: more than once per "
                    + CarrierLoop.SAFE_POINT_BUDGET + " safe points");
        }
    }
}
