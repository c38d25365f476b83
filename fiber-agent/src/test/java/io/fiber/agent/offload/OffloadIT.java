package io.fiber.agent.offload;

import io.fiber.internal.carrier.CarrierThread;
import io.fiber.Fiber;
import io.fiber.FiberScheduler;
import io.fiber.Fibers;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.FileInputStream;
import java.io.FileNotFoundException;
import java.io.FileOutputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The agent option {@code offload=file+process}, run with {@code detector=fail,handoff=off}: a fiber's
 * file and process-start calls move it onto the offload pool for the call and back, so they hold
 * no carrier (the detector, which flags calls on carriers, stays silent) and with handoff off only
 * the offload can keep a one-carrier scheduler going. The proof is a FIFO: its reader blocks in
 * {@code open} and {@code read} until a writer comes, and the writer is a fiber of the same carrier.
 */
class OffloadIT {
    private FiberScheduler scheduler;

    @BeforeEach
    void start() {
        assertEquals("file+process", System.getProperty("fiber.offload"), "run by the failsafe execution 'offload'");
        scheduler = FiberScheduler.builder().carriers(1).name("offload").build();
    }

    @AfterEach
    void stop() throws InterruptedException {
        scheduler.shutdownNow();
        assertTrue(scheduler.awaitTermination(Duration.ofSeconds(20)), "scheduler did not terminate: " + scheduler.stats());
    }

    @Test
    void aFifoReaderWaitsOnThePoolWhileItsWriterRunsOnTheOnlyCarrier(@TempDir Path dir) throws Exception {
        Path fifo = dir.resolve("pipe");
        Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start();
        assertEquals(0, mkfifo.waitFor());
        long offloadedBefore = scheduler.stats().blockingCalls();
        Fiber<String> reader = scheduler.spawn(() -> {
            Thread self = Thread.currentThread();
            try (InputStream in = new FileInputStream(fifo.toFile())) { // blocks until the writer opens
                int b = in.read();                                      // blocks until it writes
                assertSame(self, Thread.currentThread(), "the fiber stays itself");
                return "read " + b + ", back on a carrier " + CarrierThread.callerOnCarrier();
            }
        });
        Fiber<Void> writer = scheduler.spawn(() -> {
            Thread.sleep(50); // let the reader block first
            try (FileOutputStream out = new FileOutputStream(fifo.toFile())) {
                out.write(42);
            }
            return null;
        });
        assertTrue(reader.join(Duration.ofSeconds(20)), "the reader must not hold the only carrier: " + scheduler.stats());
        assertEquals("read 42, back on a carrier true", reader.get());
        writer.get();
        assertTrue(scheduler.stats().blockingCalls() - offloadedBefore >= 4, "open, read, open, write went to the pool: " + scheduler.stats());
    }

    @Test
    void theCallsExceptionComesBackAndTheFiberReturnsToTheCarriers(@TempDir Path dir) throws Exception {
        Fiber<String> f = scheduler.spawn(() -> {
            FileNotFoundException e = assertThrows(FileNotFoundException.class,
                    () -> new FileInputStream(dir.resolve("missing").toFile()));
            return e.getMessage().contains("missing") + " " + CarrierThread.callerOnCarrier();
        });
        assertTrue(f.join(Duration.ofSeconds(20)));
        assertEquals("true true", f.get());
    }

    @Test
    void filesAndProcessesFromAFiberAreNotFlaggedOnceOffloaded(@TempDir Path dir) throws Exception {
        Fiber<String> f = scheduler.spawn(() -> {
            Path file = dir.resolve("data.txt");
            Files.writeString(file, "offloaded");
            Process p = new ProcessBuilder("cat", file.toString()).start();
            String out = new String(p.getInputStream().readAllBytes());
            assertEquals(0, p.waitFor());
            return Files.readString(file) + "/" + out;
        });
        assertTrue(f.join(Duration.ofSeconds(20)));
        assertEquals("offloaded/offloaded", f.get(), "detector=fail would have thrown BlockingCallError on a carrier");
    }
}
