package io.fiber;

import io.fiber.internal.carrier.DelayRecorder;

import java.time.Duration;
import java.util.Arrays;

/**
 * A histogram of scheduling delays: how long fibers waited between becoming runnable (spawned,
 * unparked, woken by a socket or a timer, yielding) and running on a carrier, from
 * {@link SchedulerStats#schedulingDelay()} and {@link CarrierStats#schedulingDelay()}.
 *
 * <p>The carriers sample: every fiber's start is not timed, but one submission in
 * {@value #SAMPLE_EVERY} is, on each carrier and among submissions from other threads, so the
 * histogram costs two clock reads per {@value #SAMPLE_EVERY} runs. Counts are since the scheduler
 * started; subtract an earlier snapshot ({@link #minus}) for the delays of an interval, as a
 * dashboard's rate over a window does with the Prometheus buckets.
 *
 * <p>Buckets follow a 1-2-5 series from 1 microsecond to 10 seconds ({@link #upperBoundsNanos()}),
 * the last one unbounded: a percentile is known to within its bucket, and is reported as the
 * bucket's upper bound (the largest delay seen, for the unbounded one), so "p99 at most 200 us".
 */
public record DelayHistogram(long[] counts, long totalNanos, long maxNanos) {
    /** One submission in this many is timed, per carrier and among submissions from other threads. */
    public static final int SAMPLE_EVERY = DelayRecorder.SAMPLE_EVERY;

    private static final long[] UPPER_BOUNDS_NANOS = DelayRecorder.upperBoundsNanos();

    /**
     * A histogram of {@code counts}, one entry per bound ({@link #upperBoundsNanos()}) and one for
     * the delays above the last (the array is copied), with their sum and the largest.
     * A record, so the MXBean shows it as a composite value.
     */
    public DelayHistogram {
        if (counts.length != UPPER_BOUNDS_NANOS.length + 1) {
            throw new IllegalArgumentException("a delay histogram has " + (UPPER_BOUNDS_NANOS.length + 1) + " buckets, not " + counts.length);
        }
        counts = counts.clone();
    }

    /** An empty histogram. */
    public static DelayHistogram empty() {
        return new DelayHistogram(new long[UPPER_BOUNDS_NANOS.length + 1], 0, 0);
    }

    /** The bucket a delay falls in: the first whose upper bound is at least {@code nanos}; past the last bound, the unbounded one. */
    public static int bucketOf(long nanos) {
        return DelayRecorder.bucketOf(nanos);
    }

    /** The buckets' upper bounds in nanoseconds, ascending; one more bucket, unbounded, follows the last. */
    public static long[] upperBoundsNanos() {
        return UPPER_BOUNDS_NANOS.clone();
    }

    /** Delays per bucket (not cumulative); the last entry counts those above the largest bound. */
    @Override
    public long[] counts() {
        return counts.clone();
    }

    /** The number of delays timed. */
    public long count() {
        long n = 0;
        for (long c : counts) {
            n += c;
        }
        return n;
    }


    /**
     * The delay that {@code percentile} percent of the timed ones did not exceed, as the upper
     * bound of its bucket (the largest delay seen, past the last bound); 0 when nothing was timed.
     *
     * @param percentile from 0 (exclusive) to 100 (inclusive)
     */
    public long percentileNanos(double percentile) {
        if (!(percentile > 0 && percentile <= 100)) {
            throw new IllegalArgumentException("a percentile is above 0 and at most 100, not " + percentile);
        }
        long n = count();
        if (n == 0) {
            return 0;
        }
        long rank = (long) Math.ceil(n * percentile / 100);
        long seen = 0;
        for (int i = 0; i < counts.length; i++) {
            seen += counts[i];
            if (seen >= rank) {
                return i < UPPER_BOUNDS_NANOS.length ? Math.min(UPPER_BOUNDS_NANOS[i], Math.max(maxNanos, 1)) : maxNanos;
            }
        }
        return maxNanos;
    }

    /** {@link #percentileNanos} as a duration. */
    public Duration percentile(double percentile) {
        return Duration.ofNanos(percentileNanos(percentile));
    }

    /** The delays timed since {@code earlier}, a snapshot of the same scheduler or carrier. */
    public DelayHistogram minus(DelayHistogram earlier) {
        long[] c = new long[counts.length];
        for (int i = 0; i < c.length; i++) {
            c[i] = Math.max(0, counts[i] - earlier.counts[i]);
        }
        return new DelayHistogram(c, Math.max(0, totalNanos - earlier.totalNanos), maxNanos);
    }

    /** The delays of both: a scheduler's from its carriers'. */
    public DelayHistogram plus(DelayHistogram other) {
        long[] c = new long[counts.length];
        for (int i = 0; i < c.length; i++) {
            c[i] = counts[i] + other.counts[i];
        }
        return new DelayHistogram(c, totalNanos + other.totalNanos, Math.max(maxNanos, other.maxNanos));
    }

    @Override
    public String toString() {
        long n = count();
        if (n == 0) {
            return "no scheduling delays timed";
        }
        return String.format("%,d delays timed: p50 <= %s, p99 <= %s, p99.9 <= %s, max %s, mean %s", n,
                micros(percentileNanos(50)), micros(percentileNanos(99)), micros(percentileNanos(99.9)), micros(maxNanos),
                micros(totalNanos / n));
    }

    private static String micros(long nanos) {
        return nanos >= 10_000_000 ? nanos / 1_000_000 + " ms" : String.format("%,d us", nanos / 1_000);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DelayHistogram h && Arrays.equals(counts, h.counts) && totalNanos == h.totalNanos && maxNanos == h.maxNanos;
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(counts) * 31 + Long.hashCode(totalNanos);
    }
}
