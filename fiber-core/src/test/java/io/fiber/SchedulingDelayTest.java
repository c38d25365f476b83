package io.fiber;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

import static io.fiber.TestFibers.await;
import static io.fiber.TestFibers.result;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The scheduling-delay histogram ({@link SchedulerStats#schedulingDelay()}): one submission in
 * {@value DelayHistogram#SAMPLE_EVERY} is timed from the moment the fiber became runnable to its run,
 * counted per carrier and among submissions from other threads.
 */
class SchedulingDelayTest {

    @Test
    void oneSubmissionInSixteenIsTimed() throws Exception {
        try (FiberScheduler s = FiberScheduler.builder().carriers(1).name("delay-sampled").handoffAfter(Duration.ZERO).build()) {
            int fibers = 1_600;
            int yields = 10;
            List<Fiber<Void>> all = new ArrayList<>();
            for (int i = 0; i < fibers; i++) {
                all.add(s.spawn(() -> {
                    for (int k = 0; k < yields; k++) {
                        Thread.yield();
                    }
                    return null;
                }));
            }
            for (Fiber<Void> f : all) {
                result(f);
            }
            DelayHistogram delays = s.stats().schedulingDelay();
            long submissions = fibers + (long) fibers * yields; // the spawns from this thread, the yields on the carrier
            System.out.printf("scheduling delay of %,d submissions: %s%n", submissions, delays);
            long expected = submissions / DelayHistogram.SAMPLE_EVERY;
            assertTrue(Math.abs(delays.count() - expected) <= expected / 10, "timed " + delays.count() + " of " + submissions
                    + " submissions, expected about " + expected + ": " + delays);
            assertTrue(delays.percentileNanos(50) > 0 && delays.maxNanos() >= delays.percentileNanos(50), delays.toString());
        }
    }

    @Test
    void aFiberThatWaitsForABusyCarrierIsTimedWaiting() throws Exception {
        try (FiberScheduler s = FiberScheduler.builder().carriers(1).name("delay-waits").handoffAfter(Duration.ZERO).build()) {
            AtomicBoolean release = new AtomicBoolean();
            CountDownLatch spinning = new CountDownLatch(1);
            Fiber<Void> spinner = s.spawn(() -> {
                spinning.countDown();
                while (!release.get()) {
                    Thread.onSpinWait(); // holds the only carrier: no safe point, no handoff
                }
                return null;
            });
            await(spinning);
            DelayHistogram before = s.stats().schedulingDelay();
            int waiting = 4 * DelayHistogram.SAMPLE_EVERY;
            List<Fiber<Void>> waiters = new ArrayList<>();
            for (int i = 0; i < waiting; i++) {
                waiters.add(s.spawn(() -> null));
            }
            Thread.sleep(30); // every one of them runnable for at least this long
            release.set(true);
            result(spinner);
            for (Fiber<Void> f : waiters) {
                result(f);
            }
            DelayHistogram interval = s.stats().schedulingDelay().minus(before);
            System.out.printf("scheduling delay behind a 30 ms run: %s%n", interval);
            assertEquals(waiting / DelayHistogram.SAMPLE_EVERY, interval.count(), interval.toString());
            assertTrue(interval.percentileNanos(1) >= Duration.ofMillis(20).toNanos(),
                    "each timed fiber waited 30 ms or more: " + interval);
            assertTrue(s.stats().carriers().getFirst().schedulingDelay().count() >= interval.count(), "per carrier too");
        }
    }
}
