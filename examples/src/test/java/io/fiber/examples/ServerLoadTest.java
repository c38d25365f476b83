package io.fiber.examples;

import io.fiber.load.LatencyHistogram;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The load run's latency line: the harness's percentiles, in milliseconds to two places. */
class ServerLoadTest {
    @Test
    void printsMilliseconds() {
        LatencyHistogram latency = new LatencyHistogram();
        assertEquals("p50 0.00  p90 0.00  p99 0.00  p99.9 0.00  max 0.00 ms", ServerLoad.percentiles(latency), "no samples");
        latency.record(50_000);
        latency.record(123_456_789);
        assertEquals("p50 0.05  p90 123.46  p99 123.46  p99.9 123.46  max 123.46 ms", ServerLoad.percentiles(latency));
    }
}
