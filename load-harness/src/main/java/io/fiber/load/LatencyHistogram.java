package io.fiber.load;

/**
 * A log-bucketed histogram of latencies in nanoseconds, for a load run's percentiles.
 *
 * <p>Values below 32 get a bucket each; above that, every power of two is split into 32 equal
 * buckets, so a reported value is at most 1/32 (about 3%) above the true one, over the whole
 * {@code long} range, in 1,920 counters. That is the HdrHistogram idea with a fixed precision, small
 * enough to write here rather than add a dependency. Recording is an index computation and an
 * increment, with no allocation, so a client thread can record every round trip of a long run
 * without the garbage or the memory that keeping each sample would cost. Not thread-safe: each client
 * thread keeps its own and they are {@link #add merged} at the end.
 */
public final class LatencyHistogram {
    private static final int SUB_BUCKET_BITS = 5;
    private static final int SUB_BUCKETS = 1 << SUB_BUCKET_BITS;

    private final long[] counts = new long[(Long.SIZE - SUB_BUCKET_BITS + 1) * SUB_BUCKETS];
    private long total;
    private long max;

    /** Records one latency; a negative one (a clock step) counts as 0. */
    public void record(long nanos) {
        long value = Math.max(0, nanos);
        counts[bucket(value)]++;
        total++;
        max = Math.max(max, value);
    }

    /** Adds {@code other}'s values to this histogram. */
    public void add(LatencyHistogram other) {
        for (int i = 0; i < counts.length; i++) {
            counts[i] += other.counts[i];
        }
        total += other.total;
        max = Math.max(max, other.max);
    }

    public long count() {
        return total;
    }

    public long max() {
        return max;
    }

    /**
     * The nearest-rank value at {@code percent} (more than 0, at most 100): the top of the bucket
     * holding the smallest value that at least {@code percent} % of the values do not exceed, so at
     * most about 3% above the true value, and never above the largest value recorded. 0 when empty.
     *
     * <p>{@code percent} is taken to one decimal place and the rank computed in integers: in floating
     * point, 99.9 / 100 * 1,000 comes out just above 999, and the rank would be one too high.
     */
    public long percentile(double percent) {
        if (!(percent > 0 && percent <= 100)) {
            throw new IllegalArgumentException("percent must be in (0, 100], got " + percent);
        }
        if (total == 0) {
            return 0;
        }
        long perThousand = Math.round(percent * 10);
        long rank = Math.max(1, (perThousand * total + 999) / 1000); // ceil(percent / 100 * total), 1-based
        long seen = 0;
        for (int i = 0; i < counts.length; i++) {
            seen += counts[i];
            if (seen >= rank) {
                return Math.min(highestValueIn(i), max);
            }
        }
        return max;
    }

    private static int bucket(long value) {
        int highestBit = Long.SIZE - 1 - Long.numberOfLeadingZeros(value);   // -1 for 0
        if (highestBit < SUB_BUCKET_BITS) {
            return (int) value;
        }
        int shift = highestBit - SUB_BUCKET_BITS;
        return (shift + 1) * SUB_BUCKETS + (int) ((value >>> shift) - SUB_BUCKETS);
    }

    private static long highestValueIn(int bucket) {
        if (bucket < SUB_BUCKETS) {
            return bucket;
        }
        int shift = bucket / SUB_BUCKETS - 1;
        long mantissa = SUB_BUCKETS + bucket % SUB_BUCKETS;
        return ((mantissa + 1) << shift) - 1;
    }
}
