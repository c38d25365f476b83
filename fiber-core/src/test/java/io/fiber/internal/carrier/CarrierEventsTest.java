package io.fiber.internal.carrier;

import io.fiber.Fiber;
import io.fiber.FiberScheduler;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The watchdog's JFR events: a fiber spins on the only carrier while 50 fibers wait behind it; it is
 * asked to yield (it has no safe point, so it does not) and then handed off. A recording sees both,
 * naming the fiber and the carrier and how long the run had held it.
 */
class CarrierEventsTest {

    @Test
    void aYieldRequestAndAHandoffAreRecorded(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("carrier-events.jfr");
        try (Recording recording = new Recording()) {
            recording.enable("io.fiber.YieldRequest");
            recording.enable("io.fiber.Handoff");
            recording.start();
            try (FiberScheduler s = FiberScheduler.builder().carriers(1).name("jfr-events").build()) {
                AtomicBoolean release = new AtomicBoolean();
                CountDownLatch holding = new CountDownLatch(1);
                Fiber<Void> holder = s.spawn("the-holder", () -> {
                    holding.countDown();
                    while (!release.get()) {
                        Thread.onSpinWait();
                    }
                    return null;
                });
                assertTrue(holding.await(20, TimeUnit.SECONDS));
                AtomicInteger ran = new AtomicInteger();
                for (int i = 0; i < 50; i++) {
                    s.spawn(ran::incrementAndGet);
                }
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                while (ran.get() < 50 && System.nanoTime() < deadline) {
                    Thread.sleep(5); // the handoff's new thread runs them while the holder still spins
                }
                assertEquals(50, ran.get(), "handed off: the waiting fibers ran while the holder held its thread; " + s.stats());
                release.set(true);
                assertTrue(holder.join(Duration.ofSeconds(20)));
            }
            recording.stop();
            recording.dump(file);
        }
        List<RecordedEvent> events = RecordingFile.readAllEvents(file);
        RecordedEvent request = only(events, "io.fiber.YieldRequest");
        RecordedEvent handoff = only(events, "io.fiber.Handoff");
        for (RecordedEvent e : List.of(request, handoff)) {
            assertEquals("the-holder", e.getThread("fiber").getJavaName(), e.toString());
            assertEquals("jfr-events-carrier-0", e.getString("carrier"), "the carrier's name, not the held thread's new one: " + e);
            assertTrue(e.getDuration("heldFor").compareTo(Duration.ofMillis(1)) >= 0, e.toString());
        }
        assertFalse(handoff.getBoolean("inNative"), "a spin is not native code: " + handoff);
        assertTrue(handoff.getDuration("heldFor").compareTo(request.getDuration("heldFor")) > 0,
                "the handoff comes after the request, at a later look: " + request + handoff);
    }

    /**
     * A run of 50 ms makes a LongRun event when it ends; FiberRun events, off by default, come once a
     * recording enables them (the carriers notice within about a second).
     */
    @Test
    void aLongRunIsRecordedAndEachRunOnceFiberRunIsEnabled(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("runs.jfr");
        try (Recording recording = new Recording()) {
            recording.enable("io.fiber.LongRun");
            recording.start();
            try (FiberScheduler s = FiberScheduler.builder().carriers(1).name("jfr-runs").handoffAfter(Duration.ZERO).build()) {
                s.spawn("untraced", () -> null).join();
                s.spawn("the-holder", () -> {
                    long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(50);
                    while (System.nanoTime() < end) {
                        Thread.onSpinWait();
                    }
                    return null;
                }).join();
                recording.enable("io.fiber.FiberRun");
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                while (!CarrierEvents.fiberRunsWanted && System.nanoTime() < deadline) {
                    Thread.sleep(10);
                }
                assertTrue(CarrierEvents.fiberRunsWanted, "the watchdog noticed the enabled event");
                s.spawn("traced", () -> {
                    Thread.yield();
                    return null;
                }).join();
                Thread.sleep(50); // the holder's end seen by a look
            }
            recording.stop();
            recording.dump(file);
        }
        List<RecordedEvent> events = RecordingFile.readAllEvents(file);
        RecordedEvent longRun = only(events, "io.fiber.LongRun");
        assertEquals("jfr-runs-carrier-0", longRun.getString("carrier"), longRun.toString());
        assertTrue(longRun.getDuration("heldFor").compareTo(Duration.ofMillis(40)) >= 0, longRun.toString());
        List<RecordedEvent> runs = events.stream().filter(e -> e.getEventType().getName().equals("io.fiber.FiberRun")).toList();
        assertEquals(2, runs.stream().filter(e -> named(e, "traced")).count(), "a run before and one after its yield: " + runs);
        assertTrue(runs.stream().noneMatch(e -> named(e, "untraced")), "none while the event was off: " + runs);
        assertTrue(runs.stream().allMatch(e -> "jfr-runs-carrier-0".equals(e.getString("carrier"))), runs.toString());
    }

    private static boolean named(RecordedEvent e, String name) {
        return e.getThread("fiber") != null && name.equals(e.getThread("fiber").getJavaName());
    }

    private static RecordedEvent only(List<RecordedEvent> events, String type) {
        List<RecordedEvent> of = events.stream().filter(e -> e.getEventType().getName().equals(type))
                .filter(e -> "the-holder".equals(e.getThread("fiber") == null ? null : e.getThread("fiber").getJavaName())).toList();
        assertEquals(1, of.size(), type + " events of the holder: " + of + "; all of that type: "
                + events.stream().filter(e -> e.getEventType().getName().equals(type)).toList());
        return of.getFirst();
    }
}
