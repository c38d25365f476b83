package io.fiber.internal.carrier;

import io.fiber.internal.Settings;
import io.fiber.Fiber;
import io.fiber.TestFibers;
import io.fiber.FiberScheduler;
import io.fiber.internal.jdk.VirtualThreadHook;

import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;

import static io.fiber.TestFibers.result;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A fiber's continuation is in the run queues at most once ({@link FiberTask}), whatever calls
 * {@code execute}. On JDK 25, {@code getStackTrace()} of an unmounted virtual thread that is runnable
 * (yielded, unparked) suspends it for the walk and then submits it again, "as task may have run
 * while suspended"; if it had not, the fiber is now queued twice, and on a carrier whose fibers
 * are always runnable both entries survive every run: that fiber runs twice as often forever. The
 * watchdog took such stack traces (a run's top frame, to tell native code), and so does any thread
 * dump, profiler or log appender that records another thread's stack.
 *
 * <p>Both tests put 100 fibers on one carrier, each looping on {@code Thread.yield()} with a little
 * computation. One takes stack traces of the yielding fibers from a platform thread and counts the
 * carrier's queue entries against the fibers; the other checks that the fibers share the carrier
 * evenly with the watchdog and handoff on, as by default.
 */
class QueuedOnceTest {
    private static final int FIBERS = 100;

    @Test
    void stackTracesOfYieldingFibersNeverQueueThemTwice() throws Exception {
        // Handoff off: only the test's own stack traces can queue a fiber twice.
        try (FiberScheduler s = FiberScheduler.builder().carriers(1).name("queued-once-traces").handoffAfter(Duration.ZERO).build()) {
            Yielders yielders = Yielders.spawn(s);
            int maxEntries = 0;
            long traces = 0;
            long end = System.nanoTime() + Duration.ofSeconds(1).toNanos();
            while (System.nanoTime() < end) {
                for (int i = 0; i < 50; i++) {
                    yielders.fibers.get(ThreadLocalRandom.current().nextInt(FIBERS)).thread().getStackTrace();
                    traces++;
                }
                maxEntries = Math.max(maxEntries, queuedEntries(s));
            }
            for (int i = 0; i < 200; i++) { // the duplicates, if any, stay: they are still there after the traces stop
                maxEntries = Math.max(maxEntries, queuedEntries(s));
                Thread.sleep(1);
            }
            long[] counts = yielders.stop();
            System.out.printf("queued once, %d stack traces of %d yielding fibers: at most %d queue entries; %s%n",
                    traces, FIBERS, maxEntries, spread(counts));
            assertTrue(maxEntries <= FIBERS, "the carrier held " + maxEntries + " queue entries for " + FIBERS
                    + " fibers: stack traces queued some fibers twice");
        }
    }

    /**
     * The fairness loop: with the watchdog sampling runs (handoff on), every fiber gets a
     * fair share. Repeated: a duplicate needs the watchdog to catch a run across two looks, which
     * about half of the one-second runs did when it took stack traces with {@code getStackTrace()}.
     * The shares are counted from the moment all fibers have started: the first fiber runs alone
     * until the carrier takes the others from the inject queue, and when the spawning thread is
     * descheduled meanwhile that head start reached a third of a second's share (seen in CI).
     */
    @RepeatedTest(5)
    void yieldingFibersShareOneCarrierEvenly() throws Exception {
        try (FiberScheduler s = FiberScheduler.builder().carriers(1).name("queued-once-fair")
                .handoffAfter(Settings.DEFAULT_HANDOFF).build()) {
            Yielders yielders = Yielders.spawn(s);
            long[] before = yielders.iterationsSoFar(); // the first fibers ran alone while the rest were spawned
            Thread.sleep(1000);
            int entries = queuedEntries(s);
            long[] counts = yielders.stop();
            for (int i = 0; i < FIBERS; i++) {
                counts[i] -= before[i];
            }
            long[] sorted = counts.clone();
            Arrays.sort(sorted);
            long median = sorted[FIBERS / 2];
            System.out.printf("queued once, fairness of %d yielding fibers on one carrier: %s, %d queue entries%n",
                    FIBERS, spread(counts), entries);
            assertTrue(entries <= FIBERS, "the carrier held " + entries + " queue entries for " + FIBERS + " fibers");
            assertTrue(sorted[FIBERS - 1] <= median * 3 / 2 && sorted[0] >= median * 2 / 3,
                    "unfair shares: " + spread(counts));
        }
    }

    /**
     * The watchdog's stack sample ({@link VirtualThreadHook#mountedStackTrace}) reads a mounted fiber's
     * stack, and returns null for an unmounted one rather than walking it as {@code getStackTrace()}
     * does (suspending it, and submitting it again if it is runnable).
     */
    @Test
    void theWatchdogsStackSampleReadsMountedFibersOnly() throws Exception {
        try (FiberScheduler s = FiberScheduler.builder().carriers(2).name("queued-once-sample").build()) {
            AtomicBoolean release = new AtomicBoolean();
            CountDownLatch spinning = new CountDownLatch(1);
            Fiber<Void> spinner = s.spawn(() -> {
                spinning.countDown();
                spinUntil(release);
            });
            Fiber<Void> parked = s.spawn(() -> {
                while (!release.get()) {
                    LockSupport.park();
                }
            });
            TestFibers.await(spinning);
            while (parked.thread().getState() != Thread.State.WAITING) {
                Thread.sleep(1);
            }
            StackTraceElement[] mounted = VirtualThreadHook.mountedStackTrace(spinner.thread());
            assertTrue(mounted != null && Arrays.stream(mounted).anyMatch(f -> f.getMethodName().equals("spinUntil")),
                    "the spinning fiber's stack: " + Arrays.toString(mounted));
            assertNull(VirtualThreadHook.mountedStackTrace(parked.thread()), "an unmounted fiber has no sample");
            assertTrue(parked.thread().getStackTrace().length > 0, "getStackTrace() walks the unmounted fiber");
            release.set(true);
            LockSupport.unpark(parked.thread());
            result(spinner);
            result(parked);
        }
    }

    private static void spinUntil(AtomicBoolean release) {
        while (!release.get()) {
            Thread.onSpinWait();
        }
    }

    /** Continuations waiting for the carrier: its local queue and run-next slot, then the inject queue (read second, so an entry moving from there to here is not counted twice). */
    private static int queuedEntries(FiberScheduler s) {
        int local = s.stats().carriers().get(0).queueDepth();
        return local + TestFibers.carriers(s).injectSize();
    }

    private static String spread(long[] counts) {
        long[] sorted = counts.clone();
        Arrays.sort(sorted);
        return String.format("iterations min %d, median %d, max %d, total %d", sorted[0], sorted[sorted.length / 2],
                sorted[sorted.length - 1], Arrays.stream(counts).sum());
    }

    /**
     * {@value #FIBERS} fibers that loop on a little computation and {@code Thread.yield()}, each counting its
     * iterations (also published, so the test can subtract what the first ones did before the last started).
     */
    private record Yielders(List<Fiber<Long>> fibers, AtomicBoolean stopFlag, AtomicLongArray published) {
        static Yielders spawn(FiberScheduler s) throws InterruptedException {
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLongArray published = new AtomicLongArray(FIBERS);
            CountDownLatch started = new CountDownLatch(FIBERS);
            List<Fiber<Long>> fibers = new ArrayList<>();
            for (int i = 0; i < FIBERS; i++) {
                int index = i;
                fibers.add(s.spawn(() -> {
                    started.countDown();
                    long iterations = 0;
                    long x = 1;
                    while (!stop.get()) {
                        for (int k = 0; k < 200; k++) {
                            x = x * 6364136223846793005L + 1442695040888963407L;
                        }
                        iterations++;
                        published.lazySet(index, iterations);
                        Thread.yield();
                    }
                    return x == 42 ? -iterations : iterations; // x used, so the computation stays
                }));
            }
            TestFibers.await(started);
            return new Yielders(fibers, stop, published);
        }

        long[] iterationsSoFar() {
            long[] counts = new long[FIBERS];
            for (int i = 0; i < FIBERS; i++) {
                counts[i] = published.get(i);
            }
            return counts;
        }

        long[] stop() throws InterruptedException {
            stopFlag.set(true);
            long[] counts = new long[fibers.size()];
            for (int i = 0; i < counts.length; i++) {
                counts[i] = Math.abs(result(fibers.get(i)));
            }
            return counts;
        }
    }
}
