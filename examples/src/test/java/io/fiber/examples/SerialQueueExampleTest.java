package io.fiber.examples;

import io.fiber.FiberScheduler;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The serial queue: a plain map updated by 1,000 clients through one serial lane ends with every
 * count right, each client's read sees its own writes, and the program prints so.
 */
class SerialQueueExampleTest {

    @Test
    void everyWriteThroughTheLaneCounts() throws Exception {
        try (FiberScheduler scheduler = FiberScheduler.builder().name("serial-queue-test").carriers(2).build()) {
            SerialQueueExample.Outcome outcome = SerialQueueExample.run(scheduler);
            long perKey = (long) SerialQueueExample.CLIENTS * SerialQueueExample.WRITES_PER_CLIENT / SerialQueueExample.KEYS;
            assertEquals(SerialQueueExample.KEYS, outcome.values().size(), outcome.values().toString());
            for (Map.Entry<String, Long> e : outcome.values().entrySet()) {
                assertEquals(perKey, e.getValue(), e.getKey());
            }
            assertEquals((long) SerialQueueExample.CLIENTS * SerialQueueExample.WRITES_PER_CLIENT, outcome.writes());
            assertTrue(outcome.everyReadSawItsWrites());
            assertEquals(1, outcome.lane().maxConcurrent());
        }
    }

    @Test
    void theProgramPrintsThatEveryCountIsRight() throws Exception {
        String out = CrawlerExampleTest.captured(() -> SerialQueueExample.main(new String[0]));
        assertTrue(out.contains("1,000 clients sent 100,000 writes and 1,000 reads through the serial lane 'store'"), out);
        assertTrue(out.contains("store: 10 keys of 10,000 each, 100,000 writes: every count right"), out);
        assertTrue(out.contains("every client's read saw its own writes: yes"), out);
        assertTrue(out.contains("group store"), out);
    }
}
