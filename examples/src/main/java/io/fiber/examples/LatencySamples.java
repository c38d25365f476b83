package io.fiber.examples;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Latencies recorded during a load run, in nanoseconds, and their percentiles. Each client thread
 * records into its own instance (no locking on the hot path); {@link #percentiles} merges them at
 * the end. Every sample is kept and sorted, so the percentiles are exact: cheap enough for the
 * hundreds of thousands of samples of a demo run.
 */
final class LatencySamples {
    private long[] nanos = new long[1024];
    private int count;

    /** Records one latency; called by the one thread that owns this instance. */
    void add(long latencyNanos) {
        if (count == nanos.length) {
            nanos = Arrays.copyOf(nanos, count * 2);
        }
        nanos[count++] = latencyNanos;
    }

    int count() {
        return count;
    }

    /** The percentiles of all samples of {@code parts} together; all zero when there are none. */
    static Percentiles percentiles(List<LatencySamples> parts) {
        long[] all = new long[parts.stream().mapToInt(LatencySamples::count).sum()];
        int at = 0;
        for (LatencySamples part : parts) {
            System.arraycopy(part.nanos, 0, all, at, part.count);
            at += part.count;
        }
        Arrays.sort(all);
        return new Percentiles(all.length, percentile(all, 50), percentile(all, 90), percentile(all, 99),
                percentile(all, 99.9), all.length == 0 ? 0 : all[all.length - 1]);
    }

    /**
     * The nearest-rank percentile of sorted samples: the smallest sample that at least
     * {@code percent} % of the samples do not exceed. {@code percent} is taken to one decimal place
     * (99.9), and the rank is computed in integers, so it is exact. 0 when there are no samples.
     */
    static long percentile(long[] sorted, double percent) {
        if (percent <= 0 || percent > 100) {
            throw new IllegalArgumentException("percent must be in (0, 100], got " + percent);
        }
        if (sorted.length == 0) {
            return 0;
        }
        long perThousand = Math.round(percent * 10);
        long rank = (perThousand * sorted.length + 999) / 1000; // ceil(percent / 100 * n), 1-based
        return sorted[(int) Math.max(1, rank) - 1];
    }

    /** Latency percentiles of a run, in nanoseconds. */
    record Percentiles(long count, long p50, long p90, long p99, long p999, long max) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "p50 %s  p90 %s  p99 %s  p99.9 %s  max %s ms",
                    millis(p50), millis(p90), millis(p99), millis(p999), millis(max));
        }

        private static String millis(long nanos) {
            return String.format(Locale.ROOT, "%.2f", nanos / 1e6);
        }
    }
}
