package io.fiber.internal.carrier;

import io.fiber.internal.jdk.OsThreadState;
import io.fiber.internal.jdk.VirtualThreadHook;

import java.util.concurrent.locks.LockSupport;

/**
 * The platform thread of a carrier loop. Submission recognises its own carriers by this type
 * ({@link Carriers#execute}), and so do the agent's hooks, which find the loop and its reactor and
 * timers through it.
 */
public final class CarrierThread extends Thread {
    /**
     * Set when the first loops are built, before their threads start; their classes and the JDK
     * hook's are loaded and initialised by then. Until then no code runs on our carriers, and
     * {@link #callerOnCarrier} answers without touching another class of the runtime: the
     * blocking-call detector asks it for every JDK virtual thread's file read, also inside the
     * JDK's class loading (reading a jar is file I/O), where loading a class of ours would re-enter
     * the loading of the class path. This class is small on purpose: the detector loads it early.
     */
    static volatile boolean anyBuilt;

    /** Set once, before the thread starts. */
    CarrierLoop loop;
    /**
     * Room for the {@code errno} of a system call that a fiber mounted on this thread makes (fiber-io's
     * socket reads and writes capture it here). Only code running on this thread writes and reads it,
     * so no two calls share it; an array per call would be garbage per read and write.
     */
    private final int[] callState = new int[1];
    /** The kernel's id of this thread, for {@link OsThreadState}; -1 until it runs, or where unknown. */
    volatile int nativeTid = -1;

    private static final int RUN = 0;
    private static final int WAIT = 1;
    private static final int ABANDON = 2;
    /**
     * A handoff's replacement thread is started before the handoff commits, so that a thread the
     * system cannot create (an {@code OutOfMemoryError}) leaves the old loop in charge rather than a
     * loop with no thread; it waits here until {@link #release} or {@link #abandon}.
     */
    private volatile int gate = RUN;

    CarrierThread(CarrierLoop loop, String name, boolean daemon) {
        super(null, null, name, 0, false);
        this.loop = loop;
        setDaemon(daemon);
    }

    /** {@link #callState}; only for calls made on this thread. */
    public int[] callState() {
        return callState;
    }

    /** A thread for a handoff's replacement loop: once started, it waits for {@link #release} or {@link #abandon}. */
    static CarrierThread waitingForHandoff(String name, boolean daemon) {
        CarrierThread thread = new CarrierThread(null, name, daemon);
        thread.gate = WAIT;
        return thread;
    }

    /** The handoff committed: run the loop set meanwhile. */
    void release() {
        assert loop != null : "released with no loop to run";
        gate = RUN;
        LockSupport.unpark(this);
    }

    /** The handoff did not happen (the run it was for ended): exit without running a loop. */
    void abandon() {
        gate = ABANDON;
        LockSupport.unpark(this);
    }

    /** The loop this thread runs; after a handoff, the one it ran (see {@link CarrierLoop#isHandedOff()}). */
    public CarrierLoop loop() {
        return loop;
    }

    /**
     * True when the caller runs on one of our carriers: in a fiber, or in a virtual thread a fiber
     * started (it inherits the fiber's scheduler). Such code holds a carrier loop while it blocks.
     */
    public static boolean callerOnCarrier() {
        return Thread.currentThread().isVirtual() && anyBuilt && VirtualThreadHook.isAvailable()
                && VirtualThreadHook.currentCarrierThread() instanceof CarrierThread;
    }

    @Override
    public void run() {
        int g;
        while ((g = gate) == WAIT) {
            LockSupport.park(this);
        }
        if (g == ABANDON) {
            return;
        }
        try {
            nativeTid = OsThreadState.currentTid();
        } catch (Throwable t) {
            // Unknown stays -1 (the watchdog then cannot tell a system call from a computation);
            // whatever this was (an OutOfMemoryError), the loop must run: it owns a reactor, timers
            // and a place in the carriers, and its exit is what drains them.
        }
        loop.run();
    }
}
