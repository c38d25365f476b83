package io.fiber.internal.carrier;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * One carrier's scheduling delays (the API's {@code DelayHistogram} is their snapshot): written by
 * the carrier's thread only (a handed-off loop's replacement takes the same recorder over, and the
 * old thread records nothing after the run it was replaced in began), read by any thread for
 * statistics. Opaque stores, so a reader sees each counter whole, without a fence on the carrier's
 * path. The buckets and the sampling rate are defined here, below the API that documents them.
 */
public final class DelayRecorder {
    /** One submission in this many is timed, per carrier and among submissions from other threads. */
    public static final int SAMPLE_EVERY = 16;

    private static final long[] UPPER_BOUNDS_NANOS = bounds();
    private static final VarHandle COUNTS = MethodHandles.arrayElementVarHandle(long[].class);
    private static final VarHandle TOTAL;
    private static final VarHandle MAX;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            TOTAL = l.findVarHandle(DelayRecorder.class, "totalNanos", long.class);
            MAX = l.findVarHandle(DelayRecorder.class, "maxNanos", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** 1 us, 2 us, 5 us, 10 us, ..., 5 s, 10 s: 22 bounds, and one bucket above the last. */
    private static long[] bounds() {
        long[] b = new long[22];
        long decade = 1_000;
        for (int i = 0; i < b.length; i++) {
            b[i] = decade * (i % 3 == 0 ? 1 : i % 3 == 1 ? 2 : 5);
            if (i % 3 == 2) {
                decade *= 10;
            }
        }
        return b;
    }

    /** The buckets' upper bounds, ascending (a copy). */
    public static long[] upperBoundsNanos() {
        return UPPER_BOUNDS_NANOS.clone();
    }

    /** The bucket a delay falls in: the first whose upper bound is at least {@code nanos}, or the one above them all. */
    public static int bucketOf(long nanos) {
        long[] b = UPPER_BOUNDS_NANOS;
        for (int i = 0; i < b.length; i++) { // short delays are the common case: from the bottom
            if (nanos <= b[i]) {
                return i;
            }
        }
        return b.length;
    }

    private final long[] counts = new long[UPPER_BOUNDS_NANOS.length + 1];
    private long totalNanos;
    private long maxNanos;

    /** By the carrier's thread. */
    void record(long nanos) {
        int bucket = bucketOf(nanos);
        COUNTS.setOpaque(counts, bucket, counts[bucket] + 1);
        TOTAL.setOpaque(this, totalNanos + nanos);
        if (nanos > maxNanos) {
            MAX.setOpaque(this, nanos);
        }
    }

    /** The counts per bucket now (a copy); any thread. */
    public long[] counts() {
        long[] c = new long[counts.length];
        for (int i = 0; i < c.length; i++) {
            c[i] = (long) COUNTS.getOpaque(counts, i);
        }
        return c;
    }

    /** The sum of the delays recorded; any thread. */
    public long totalNanos() {
        return (long) TOTAL.getOpaque(this);
    }

    /** The largest delay recorded; any thread. */
    public long maxNanos() {
        return (long) MAX.getOpaque(this);
    }
}
