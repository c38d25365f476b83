package io.fiber.internal.carrier;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Enabled;
import jdk.jfr.Event;
import jdk.jfr.EventType;
import jdk.jfr.FlightRecorder;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;

/**
 * The carriers' JFR events, in the category "Fiber" beside the detector's {@code io.fiber.BlockingCall}:
 * {@code io.fiber.YieldRequest}, {@code io.fiber.Handoff} and {@code io.fiber.LongRun}, each with
 * the fiber, its carrier and how long the run had held the carrier. The watchdog emits them, never
 * a carrier's own path, and only once Flight Recorder is initialised: before that no recording can
 * want them, and loading an event class would start JFR's machinery in a program that never uses
 * it. {@code io.fiber.FiberRun}, one per run and off by default, is the exception: the carrier
 * makes it around each run while a recording has it enabled ({@link #fiberRunsWanted}).
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

    @Name("io.fiber.LongRun")
    @Label("Long Run")
    @Category({"Fiber"})
    @Description("A fiber ran without leaving its carrier for 10 ms or more (timed by the watchdog, to within its 1 ms period): "
            + "a computation or a call that blocks the thread; whatever was queued on that carrier waited")
    @StackTrace(false)
    static final class LongRun extends Event {
        @Label("Fiber")
        Thread fiber;
        @Label("Carrier")
        String carrier;
        @Label("Held For")
        @Timespan
        long heldFor;
    }

    @Name("io.fiber.FiberRun")
    @Label("Fiber Run")
    @Category({"Fiber"})
    @Description("One run of a fiber on a carrier, from mount to unmount: for deep investigations of scheduling, off by default "
            + "(an event per run); enable it in a recording's settings")
    @Enabled(false)
    @StackTrace(false)
    static final class FiberRun extends Event {
        @Label("Fiber")
        Thread fiber;
        @Label("Carrier")
        String carrier;
    }

    /** Runs of at least this long make a {@link LongRun} event. */
    static final long LONG_RUN_NANOS = 10_000_000;

    /**
     * Whether a recording wants {@link FiberRun} events: read by the carriers before each run (a
     * plain volatile read, so tracing off costs them nothing more), refreshed by the watchdog
     * about once a second ({@link #refresh}), so a recording's first second may lack them.
     */
    static volatile boolean fiberRunsWanted;

    private static long lastRefresh;

    /** By the watchdog at each look: whether {@link FiberRun} events are wanted, checked about once a second. */
    static void refresh(long now) {
        if (now - lastRefresh < 1_000_000_000L) {
            return;
        }
        lastRefresh = now;
        boolean wanted = FlightRecorder.isInitialized() && Registered.ready() && Registered.FIBER_RUN.isEnabled();
        if (wanted != fiberRunsWanted) {
            fiberRunsWanted = wanted;
        }
    }

    /**
     * A run of {@code running} on {@code carrier} begins: its event, typed {@code Object} so that the
     * carrier's code names no JFR class (a runtime without {@code jdk.jfr} never resolves one).
     */
    static Object runBegins(Runnable running, String carrier) {
        FiberRun event = new FiberRun();
        event.fiber = fiberOf(running);
        event.carrier = carrier;
        event.begin();
        return event;
    }

    /** The run {@link #runBegins} began has ended. */
    static void runEnded(Object begun) {
        FiberRun event = (FiberRun) begun;
        event.end();
        if (event.shouldCommit()) {
            event.commit();
        }
    }

    /** The watchdog saw the run of {@code running} on {@code carrier} end after at least {@code heldFor} ns. */
    static void longRun(Runnable running, String carrier, long heldFor) {
        if (!FlightRecorder.isInitialized() || !Registered.ready()) {
            return;
        }
        LongRun event = new LongRun();
        if (event.shouldCommit()) {
            event.fiber = fiberOf(running);
            event.carrier = carrier;
            event.heldFor = heldFor;
            event.commit();
        }
    }

    /**
     * Registers the event classes with Flight Recorder once it is up, before the first event of
     * either is made: an event class first loaded while a recording runs was, now and then, not yet
     * enabled for its first event (a handoff's event went missing in one of about ten runs of
     * {@code CarrierEventsTest}).
     */
    private static final class Registered {
        static final EventType FIBER_RUN;

        static {
            FlightRecorder.register(YieldRequest.class);
            FlightRecorder.register(Handoff.class);
            FlightRecorder.register(LongRun.class);
            FlightRecorder.register(FiberRun.class);
            FIBER_RUN = EventType.getEventType(FiberRun.class);
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
