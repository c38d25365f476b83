package io.fiber.examples;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The percentile helper: nearest rank, exact for 99.9 %, over samples recorded by several clients. */
class LatencySamplesTest {

    @Test
    void percentilesOfOneToAThousandSpreadOverClients() {
        List<Long> values = new ArrayList<>();
        for (long v = 1; v <= 1000; v++) {
            values.add(v);
        }
        Collections.shuffle(values, new Random(1));
        List<LatencySamples> clients = List.of(new LatencySamples(), new LatencySamples(), new LatencySamples());
        for (int i = 0; i < values.size(); i++) {
            clients.get(i % clients.size()).add(values.get(i));
        }
        LatencySamples.Percentiles p = LatencySamples.percentiles(clients);
        assertEquals(new LatencySamples.Percentiles(1000, 500, 900, 990, 999, 1000), p);
    }

    @Test
    void nearestRankRoundsUp() {
        long[] sorted = {10, 20, 30};
        assertEquals(20, LatencySamples.percentile(sorted, 50));   // rank ceil(1.5) = 2
        assertEquals(30, LatencySamples.percentile(sorted, 90));
        assertEquals(30, LatencySamples.percentile(sorted, 99.9));
        assertEquals(10, LatencySamples.percentile(sorted, 0.1));
        assertEquals(30, LatencySamples.percentile(sorted, 100));
    }

    @Test
    void noSamplesGiveZeros() {
        assertEquals(new LatencySamples.Percentiles(0, 0, 0, 0, 0, 0), LatencySamples.percentiles(List.of(new LatencySamples())));
        assertThrows(IllegalArgumentException.class, () -> LatencySamples.percentile(new long[] {1}, 0));
    }

    @Test
    void printsMilliseconds() {
        assertEquals("p50 0.05  p90 1.50  p99 2.00  p99.9 10.00  max 123.46 ms",
                new LatencySamples.Percentiles(5, 50_000, 1_500_000, 2_000_000, 10_000_000, 123_456_789).toString());
    }
}
