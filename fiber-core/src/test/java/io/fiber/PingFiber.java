package io.fiber;

import java.time.Duration;
import java.util.Arrays;
import java.util.function.LongSupplier;

/**
 * A fiber that sleeps 1 ms in a loop on the scheduler under test and records how late each wake-up
 * was. A carrier held by a blocking call, or a run queue the workload floods, shows up as lateness:
 * the probe is how tests see that the carriers kept serving other fibers (the JDBC tests, the DNS
 * tests; in fiber-core's test jar for the other modules).
 *
 * <p>On each tick it can also sample a gauge (for example the number of fibers waiting for a pooled
 * connection) and keeps its maximum.
 */
public final class PingFiber {
    public static final Duration PERIOD = Duration.ofMillis(1);
    private static final int MAX_SAMPLES = 1 << 20;

    private final long[] latenessNanos = new long[MAX_SAMPLES];
    private final LongSupplier gauge;
    private final Fiber<Void> fiber;
    private volatile boolean stopped;
    private int count;
    private long gaugeMax;

    private PingFiber(FiberScheduler scheduler, LongSupplier gauge) {
        this.gauge = gauge;
        this.fiber = scheduler.spawn("ping", this::loop);
    }

    public static PingFiber start(FiberScheduler scheduler) {
        return new PingFiber(scheduler, () -> 0);
    }

    public static PingFiber start(FiberScheduler scheduler, LongSupplier gauge) {
        return new PingFiber(scheduler, gauge);
    }

    private Void loop() throws InterruptedException {
        long period = PERIOD.toNanos();
        while (!stopped && count < MAX_SAMPLES) {
            long before = System.nanoTime();
            Thread.sleep(PERIOD);
            latenessNanos[count++] = Math.max(0, System.nanoTime() - before - period);
            gaugeMax = Math.max(gaugeMax, gauge.getAsLong());
        }
        return null;
    }

    /** Stops the loop and returns what it saw; fails if the ping fiber itself failed or did not stop within 5 s. */
    public Report stop() throws InterruptedException {
        stopped = true;
        if (!fiber.join(Duration.ofSeconds(5))) {
            throw new AssertionError("the ping fiber did not stop within 5 s: its carrier is stuck");
        }
        fiber.get();   // rethrows its failure, if any
        long[] sorted = Arrays.copyOf(latenessNanos, count);
        Arrays.sort(sorted);
        return new Report(count, at(sorted, 0.50), at(sorted, 0.99), count == 0 ? 0 : sorted[count - 1], gaugeMax);
    }

    private static long at(long[] sorted, double quantile) {
        return sorted.length == 0 ? 0 : sorted[Math.min(sorted.length - 1, (int) Math.ceil(quantile * sorted.length) - 1)];
    }

    /** Lateness figures in nanoseconds, and the gauge's maximum. */
    public record Report(int ticks, long p50Nanos, long p99Nanos, long maxNanos, long gaugeMax) {
        public double p99Millis() {
            return p99Nanos / 1e6;
        }

        @Override
        public String toString() {
            return String.format("ping fiber: %,d wake-ups of a 1 ms sleep, lateness p50 %.3f ms, p99 %.3f ms, max %.3f ms",
                    ticks, p50Nanos / 1e6, p99Nanos / 1e6, maxNanos / 1e6);
        }
    }
}
