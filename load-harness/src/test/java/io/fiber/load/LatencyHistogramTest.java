package io.fiber.load;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The histogram's percentiles: nearest rank, computed exactly, and within the stated precision
 * (about 3%, never below the true value); values below 32 are exact.
 */
class LatencyHistogramTest {
    @Test
    void percentilesOfUniformValuesAreWithinThreePercent() {
        LatencyHistogram h = new LatencyHistogram();
        for (long v = 1; v <= 100_000; v++) {
            h.record(v * 1_000);   // 1 us to 100 ms
        }
        assertEquals(100_000, h.count());
        for (double p : new double[] {50, 90, 99, 99.9}) {
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

    /** In floating point 99.9 % of 1,000 is a hair over 999, which would make the rank 1,000. */
    @Test
    void theRankIsExactForOneDecimalPlace() {
        List<Long> values = new ArrayList<>(Collections.nCopies(999, 7L));
        values.add(1_000_000L);
        Collections.shuffle(values, new Random(1));
        List<LatencyHistogram> clients = List.of(new LatencyHistogram(), new LatencyHistogram(), new LatencyHistogram());
        for (int i = 0; i < values.size(); i++) {
            clients.get(i % clients.size()).record(values.get(i));
        }
        LatencyHistogram all = new LatencyHistogram();
        clients.forEach(all::add);
        assertEquals(1000, all.count());
        assertEquals(7, all.percentile(99.9), "the 999th value, not the 1,000th");
        assertEquals(1_000_000, all.percentile(100));
    }

    @Test
    void smallValuesAreExactAndTheNearestRankRoundsUp() {
        LatencyHistogram h = new LatencyHistogram();
        h.record(10);
        h.record(20);
        h.record(30);
        assertEquals(20, h.percentile(50));   // rank ceil(1.5) = 2
        assertEquals(30, h.percentile(90));
        assertEquals(30, h.percentile(99.9));
        assertEquals(10, h.percentile(0.1));
        assertEquals(30, h.percentile(100));
        h.record(-5);                          // a clock step counts as 0
        assertEquals(0, h.percentile(25));
    }

    @Test
    void noValuesGiveZerosAndAPercentOutOfRangeIsRefused() {
        LatencyHistogram empty = new LatencyHistogram();
        assertEquals(0, empty.count());
        assertEquals(0, empty.percentile(50));
        assertEquals(0, empty.max());
        assertThrows(IllegalArgumentException.class, () -> empty.percentile(0));
        assertThrows(IllegalArgumentException.class, () -> empty.percentile(100.1));
    }
}
