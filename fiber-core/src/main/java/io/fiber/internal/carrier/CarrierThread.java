package io.fiber.internal.carrier;

import io.fiber.internal.jdk.OsThreadState;
import io.fiber.internal.jdk.VirtualThreadHook;

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
    /** The kernel's id of this thread, for {@link OsThreadState}; -1 until it runs, or where unknown. */
    volatile int nativeTid = -1;

    CarrierThread(CarrierLoop loop, String name, boolean daemon) {
        super(null, null, name, 0, false);
        this.loop = loop;
        setDaemon(daemon);
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
        nativeTid = OsThreadState.currentTid();
        loop.run();
    }
}
