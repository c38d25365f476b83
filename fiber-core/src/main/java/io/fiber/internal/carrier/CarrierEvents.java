package io.fiber.internal.carrier;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.FlightRecorder;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;

/**
 * The carriers' JFR events, in the category "Fiber" beside the detector's {@code io.fiber.BlockingCall}:
 * {@code io.fiber.YieldRequest} and {@code io.fiber.Handoff}, each with the fiber, its carrier and
 * how long the run had held the carrier. The watchdog emits them, never a carrier's own path, and
 * only once Flight Recorder is initialised: before that no recording can want them, and loading an
 * event class would start JFR's machinery in a program that never uses it.
 */
final class CarrierEvents {
    private CarrierEvents() { }

    @Name("io.fiber.YieldRequest")
    @Label("Yield Request")
    @Category({"Fiber"})
    @Description("The watchdog asked a fiber's run to yield at its next safe point: it had held its carrier while other work waited")
    @StackTrace(false)
    static final class YieldRequest extends Event {
        @Label("Fiber")
        Thread fiber;
        @Label("Carrier")
        String carrier;
        @Label("Held For")
        @Timespan
        long heldFor;
    }

    @Name("io.fiber.Handoff")
    @Label("Handoff")
    @Category({"Fiber"})
    @Description("A fiber's run held its carrier's thread so long, with other work waiting, that a new thread took over the carrier")
    @StackTrace(false)
    static final class Handoff extends Event {
        @Label("Fiber")
        Thread fiber;
        @Label("Carrier")
        String carrier;
        @Label("Held For")
        @Timespan
        long heldFor;
        @Label("In Native Code")
        boolean inNative;
    }

    /**
     * Registers both event classes with Flight Recorder once it is up, before the first event of
     * either is made: an event class first loaded while a recording runs was, now and then, not yet
     * enabled for its first event (a handoff's event went missing in one of about ten runs of
     * {@code CarrierEventsTest}).
     */
    private static final class Registered {
        static {
            FlightRecorder.register(YieldRequest.class);
            FlightRecorder.register(Handoff.class);
        }

        static boolean ready() {
            return true;
        }
    }

    /** The watchdog asked the run of {@code running} on {@code carrier} to yield after {@code heldFor} ns. */
    static void yieldRequested(Runnable running, String carrier, long heldFor) {
        if (!FlightRecorder.isInitialized() || !Registered.ready()) {
            return;
        }
        YieldRequest event = new YieldRequest();
        if (event.shouldCommit()) {
            event.fiber = fiberOf(running);
            event.carrier = carrier;
            event.heldFor = heldFor;
            event.commit();
        }
    }

    /** The watchdog handed off {@code carrier}, whose run of {@code running} had held it {@code heldFor} ns. */
    static void handedOff(Runnable running, String carrier, long heldFor, boolean inNative) {
        if (!FlightRecorder.isInitialized() || !Registered.ready()) {
            return;
        }
        Handoff event = new Handoff();
        if (event.shouldCommit()) {
            event.fiber = fiberOf(running);
            event.carrier = carrier;
            event.heldFor = heldFor;
            event.inNative = inNative;
            event.commit();
        }
    }

    /** The fiber's thread; null for a virtual thread a fiber started (its continuation has no task of ours). */
    private static Thread fiberOf(Runnable running) {
        return running instanceof FiberTask task ? task.thread() : null;
    }
}
