package io.fiber.benchmarks.echo;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The histogram's percentiles are within its stated precision (about 3%, never below the true value). */
class LatencyHistogramTest {
    @Test
    void percentilesOfUniformValuesAreWithinThreePercent() {
        LatencyHistogram h = new LatencyHistogram();
        for (long v = 1; v <= 100_000; v++) {
            h.record(v * 1_000);   // 1 us to 100 ms
        }
        assertEquals(100_000, h.count());
        for (double p : new double[] {50, 99, 99.9}) {
            double exact = p / 100 * 100_000 * 1_000;
            long reported = h.percentile(p);
            assertTrue(reported >= exact && reported <= exact * 1.032, p + ": " + reported + " vs " + exact);
        }
        assertEquals(100_000_000, h.percentile(100));
        assertEquals(100_000_000, h.max());
    }

    @Test
    void mergedHistogramsCountEverything() {
        LatencyHistogram a = new LatencyHistogram();
        LatencyHistogram b = new LatencyHistogram();
        a.record(0);
        a.record(31);
        b.record(Long.MAX_VALUE);
        a.add(b);
        assertEquals(3, a.count());
        assertEquals(0, a.percentile(1));
        assertEquals(31, a.percentile(66));
        assertEquals(Long.MAX_VALUE, a.percentile(100));
    }
}
