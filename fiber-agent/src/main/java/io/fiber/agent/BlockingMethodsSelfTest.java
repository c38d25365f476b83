package io.fiber.agent;

import io.fiber.internal.bridge.FiberBridge;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.locks.LockSupport;

/**
 * Proves at start-up that every entry of {@link BlockingMethods} is live on this JDK: BlockHound's
 * chronic failure is a JDK update that moves a call path so a patched method is no longer reached,
 * and detection silently stops.
 *
 * <p>For each entry a probe detector expects that entry's name, and the entry's exercise runs on
 * this thread. The patched method must call the probe, which notes it and throws a {@link Signal}
 * right there, at the method's entry, so the JDK method itself never runs. Other patched methods the exercise
 * passes through (opening {@code /dev/null} before reading it) are let through. Calls from other
 * threads are passed to the detector that was installed before, if any.
 */
final class BlockingMethodsSelfTest {
    static final String PROBE_THREAD_NAME = "fiber-agent-self-test";

    /** Thrown by the probe at the entry of the expected method. */
    static final class Signal extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Signal(String method) {
            super(method, null, false, false);
        }
    }

    private static final class Probe implements FiberBridge.Detector {
        private final Thread owner = Thread.currentThread();
        private final FiberBridge.Detector previous;
        private volatile String expected;
        /** Set when the probe threw: some JDK callers swallow runtime exceptions (reverse DNS does). */
        private volatile boolean fired;

        Probe(FiberBridge.Detector previous) {
            this.previous = previous;
        }

        @Override
        public void blockingCall(String method, int category, int rule, Object receiver) {
            Thread t = Thread.currentThread();
            if (t == owner || (t.isVirtual() && t.getName().equals(PROBE_THREAD_NAME))) {
                if (method.equals(expected)) {
                    fired = true;
                    throw new Signal(method);
                }
            } else if (previous != null) {
                previous.blockingCall(method, category, rule, receiver);
            }
        }
    }

    private BlockingMethodsSelfTest() { }

    /** Runs every exercise; throws naming each entry that did not fire. */
    static void run(List<BlockingMethods.Found> entries) {
        Probe probe = new Probe(FiberBridge.detector());
        FiberBridge.setDetector(probe);
        List<String> failures = new ArrayList<>();
        try {
            for (BlockingMethods.Found entry : entries) {
                String name = entry.name();
                probe.fired = false;
                probe.expected = name;
                try {
                    entry.entry().exercise().run();
                    if (!probe.fired) {
                        failures.add(name + " (its exercise completed without reaching it)");
                    }
                } catch (Throwable t) {
                    if (!probe.fired || !isSignal(t)) {
                        failures.add(name + " (its exercise failed " + (probe.fired ? "after" : "before") + " reaching it: " + t + ")");
                    }
                } finally {
                    probe.expected = null;
                }
            }
        } finally {
            FiberBridge.setDetector(probe.previous);
        }
        if (!failures.isEmpty()) {
            throw new IllegalStateException("the blocking-call detector's self-test failed on JDK " + Runtime.version()
                    + ": these patched methods are not reached on this JDK, so calls through them would go unflagged: "
                    + String.join("; ", failures) + ". This agent supports JDK 25.");
        }
    }

    private static boolean isSignal(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof Signal) {
                return true;
            }
        }
        return false;
    }

    /**
     * A virtual thread parks while pinned by a class initialiser: the carrier (this thread, through
     * an executor that runs the continuation in place) must reach {@code parkOnCarrierThread}. Made
     * through the JDK's custom-scheduler hook ({@code java.lang.ThreadBuilders}, open to the runtime
     * and this agent), so the JDK's own virtual thread scheduler is not started.
     */
    static void parkPinned() throws Throwable {
        MethodHandles.Lookup lookup = MethodHandles.privateLookupIn(Thread.class, MethodHandles.lookup());
        MethodHandle newVirtualThread = lookup.findStatic(Class.forName("java.lang.ThreadBuilders"), "newVirtualThread",
                MethodType.methodType(Thread.class, Executor.class, String.class, int.class, Runnable.class));
        Throwable[] failure = new Throwable[1];
        Runnable body = () -> {
            try {
                Class.forName(ParksInInitializer.class.getName(), true, BlockingMethodsSelfTest.class.getClassLoader());
            } catch (Throwable t) {
                failure[0] = t;
            }
        };
        Thread thread = (Thread) newVirtualThread.invoke((Executor) Runnable::run, PROBE_THREAD_NAME, 0, body);
        thread.start();
        if (failure[0] != null) {
            throw failure[0];
        }
    }

    private static final class ParksInInitializer {
        static {
            LockSupport.parkNanos(java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(BlockingMethods.EXERCISE_TIMEOUT_MILLIS));
        }

        private ParksInInitializer() { }
    }
}
