package io.fiber;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DelayHistogramTest {
    private static final long US = 1_000;
    private static final long MS = 1_000_000;

    @Test
    void bucketsFollowA125SeriesFromOneMicrosecondToTenSeconds() {
        long[] bounds = DelayHistogram.upperBoundsNanos();
        assertEquals(22, bounds.length);
        assertEquals(US, bounds[0]);
        assertEquals(2 * US, bounds[1]);
        assertEquals(5 * US, bounds[2]);
        assertEquals(10 * US, bounds[3]);
        assertEquals(10_000 * MS, bounds[21]);
        assertEquals(0, DelayHistogram.bucketOf(0));
        assertEquals(0, DelayHistogram.bucketOf(US));
        assertEquals(1, DelayHistogram.bucketOf(US + 1));
        assertEquals(21, DelayHistogram.bucketOf(10_000 * MS));
        assertEquals(22, DelayHistogram.bucketOf(10_000 * MS + 1), "past the last bound: the unbounded bucket");
    }

    @Test
    void percentilesAreTheUpperBoundOfTheirBucket() {
        DelayHistogram h = of(new long[] {3 * US, 3 * US, 40 * US, 40 * US, 40 * US, 40 * US, 40 * US, 40 * US, 40 * US, 150 * MS});
        assertEquals(10, h.count());
        assertEquals(5 * US, h.percentileNanos(20));
        assertEquals(50 * US, h.percentileNanos(50));
        assertEquals(50 * US, h.percentileNanos(90));
        assertEquals(150 * MS, h.percentileNanos(99), "within the 200 ms bucket, no more than the largest seen");
        assertEquals(150 * MS, h.maxNanos());
        assertEquals(6 * US + 280 * US + 150 * MS, h.totalNanos());
        assertEquals(0, DelayHistogram.empty().percentileNanos(99));
        assertThrows(IllegalArgumentException.class, () -> h.percentileNanos(0));
        assertThrows(IllegalArgumentException.class, () -> h.percentileNanos(100.5));
    }

    @Test
    void beyondTheLastBoundThePercentileIsTheLargestDelaySeen() {
        DelayHistogram h = of(new long[] {20_000 * MS, 1 * US});
        assertEquals(20_000 * MS, h.percentileNanos(99));
    }

    @Test
    void minusGivesAnIntervalsDelaysAndPlusMergesCarriers() {
        DelayHistogram earlier = of(new long[] {3 * US, 40 * US});
        DelayHistogram later = of(new long[] {3 * US, 40 * US, 40 * US, 900 * US});
        DelayHistogram interval = later.minus(earlier);
        assertEquals(2, interval.count());
        assertEquals(940 * US, interval.totalNanos());
        assertEquals(900 * US, interval.percentileNanos(99), "within the 1 ms bucket, no more than the largest seen");
        DelayHistogram merged = earlier.plus(later);
        assertEquals(6, merged.count());
        long[] counts = merged.counts();
        counts[0] = 99; // a copy
        assertEquals(6, merged.count());
        assertThrows(IllegalArgumentException.class, () -> new DelayHistogram(new long[3], 0, 0));
        assertArrayEquals(merged.counts(), earlier.plus(later).counts());
        assertEquals(merged, earlier.plus(later));
        assertTrue(merged.toString().contains("6 delays timed"), merged.toString());
    }

    private static DelayHistogram of(long[] delays) {
        long[] counts = new long[DelayHistogram.upperBoundsNanos().length + 1];
        long total = 0;
        long max = 0;
        for (long d : delays) {
            counts[DelayHistogram.bucketOf(d)]++;
            total += d;
            max = Math.max(max, d);
        }
        return new DelayHistogram(counts, total, max);
    }
}
