package io.fiber.bridge;

import java.io.FileDescriptor;
import java.io.IOException;
import java.util.concurrent.Executor;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * The bridge between patched JDK classes, the agent and the fiber runtime. Not an application API.
 *
 * <p>The agent defines this class (and its nested interfaces) in the boot class loader, then inlines
 * calls to {@link #hooks()} into {@code sun.nio.ch.Poller} and {@code java.lang.VirtualThread}, and
 * calls to {@link #detector()} into the JDK's blocking methods: code in {@code java.base} can only
 * see classes of the boot loader. The runtime, loaded by the application class loader, installs its
 * {@link Hooks} and its {@link Detector} here; until then (and in a JVM that never uses fibers) every
 * patched method sees null and runs the JDK's own code. The agent installs its {@link Patcher}, so
 * the runtime can ask for more methods to be patched.
 *
 * <p>Kept tiny and free of dependencies on purpose: everything it references must itself be on the
 * boot class path.
 */
public final class FiberBridge {
    private static volatile Hooks hooks;
    private static volatile Detector detector;
    private static volatile Patcher patcher;

    private FiberBridge() { }

    /** What patched JDK methods call; each method returns "not handled" for threads that are not ours. */
    public interface Hooks {
        /**
         * {@code Poller.poll}: waits until {@code fd} is ready for {@code event} (the JDK's
         * {@code Net.POLLIN} or {@code Net.POLLOUT}), {@code nanos} pass (0: no timeout), the thread
         * is unparked, or the fd is closed ({@code isOpen} false). Returns false when the caller is not
         * one of ours, and the JDK's poller then handles the wait.
         */
        boolean poll(int fd, int event, long nanos, BooleanSupplier isOpen) throws IOException;

        /** {@code Poller.pollSelector}: a {@code Selector.select} waits for its own epoll fd to be readable. */
        boolean pollSelector(int fd, long nanos) throws IOException;

        /** {@code Poller.stopPoll}: an fd is being closed or shut down; wake whoever waits on it. */
        void stopPoll(int fd, int event);

        /**
         * {@code sun.nio.ch.UnixDispatcher}'s close and pre-close: a socket, pipe or datagram fd is
         * about to be closed (or replaced), so its number may soon name another file.
         */
        void fdClosing(FileDescriptor fd);

        /**
         * {@code NioSocketImpl.tryRead}, a blocking-mode socket read: true when the caller's reactor
         * knows the read would find nothing, and the read then returns {@code IOStatus.UNAVAILABLE}
         * without its system call, so the JDK waits for input at once. Otherwise
         * {@link #readReturned} follows the read.
         */
        boolean readBegins(FileDescriptor fd);

        /** The read after {@link #readBegins} returned {@code got} of {@code asked} bytes (JDK {@code IOStatus} codes below 0). */
        void readReturned(FileDescriptor fd, int asked, int got);

        /**
         * {@code VirtualThread.schedule}: a timed park or wait of a virtual thread whose scheduler is
         * {@code scheduler}. Returns the timer, or null to let the JDK's timer threads handle it.
         */
        Future<?> schedule(Executor scheduler, Runnable task, long delay, TimeUnit unit);

        /**
         * At the entry of a blocking JDK method of detector category {@code category} (the ordinal
         * of {@code io.fiber.detector.BlockingCategory}): if that category is offloaded and the caller
         * is a fiber on one of our carriers, moves the fiber onto an offload-pool thread and returns
         * true; the method then runs there, and {@link #offloadExit} must follow when it returns or throws.
         */
        boolean offloadEnter(int category);

        /** After a method {@link #offloadEnter} moved: moves the fiber back to the carriers. */
        void offloadExit();
    }

    /**
     * What the JDK's blocking methods call on entry, once patched (the blocking-call detector). A
     * call's {@code rule} says on which threads it holds the OS thread; {@code receiver} is the
     * method's {@code this}, or null for a static method.
     */
    public interface Detector {
        /** Blocks whichever thread calls it (file I/O, DNS, process start). */
        int ANY_THREAD = 0;
        /** Blocks a platform thread; a virtual thread unmounts instead (sleeps, parks, socket waits). */
        int PLATFORM_THREAD = 1;
        /** A virtual thread parks its carrier because it is pinned ({@code VirtualThread.parkOnCarrierThread}). */
        int PINNED = 2;
        /** {@code Object.wait}: blocks a platform thread, and a virtual thread only while it is pinned. */
        int WAIT = 3;

        void blockingCall(String method, int category, int rule, Object receiver);
    }

    /** The agent's side: patches more methods to call the {@link Detector} (the detector's {@code markAsBlocking}). */
    public interface Patcher {
        /**
         * Patches {@code className.methodName} with JVM {@code descriptor} to report its calls with
         * {@code category}; throws {@link IllegalArgumentException} or {@link IllegalStateException}
         * naming what was wrong when that cannot be done.
         */
        void markAsBlocking(String className, String methodName, String descriptor, int category);
    }

    /**
     * Hands a call to the installed detector, if any: what methods the agent rewrites at class
     * definition call (library natives, methods marked before their class loaded), as one static call.
     */
    public static void blockingCall(String method, int category, int rule, Object receiver) {
        Detector d = detector;
        if (d != null) {
            d.blockingCall(method, category, rule, receiver);
        }
    }

    /** The installed detector, or null (detector off, or no runtime yet). Called from patched JDK methods. */
    public static Detector detector() {
        return detector;
    }

    /** Installs (or, with null, removes) the detector; returns the one it replaced. */
    public static synchronized Detector setDetector(Detector newDetector) {
        Detector old = detector;
        detector = newDetector;
        return old;
    }

    /** The agent's patcher, or null without the agent. */
    public static Patcher patcher() {
        return patcher;
    }

    public static void setPatcher(Patcher agentPatcher) {
        patcher = agentPatcher;
    }

    /** The installed hooks, or null. Called from patched JDK methods. */
    public static Hooks hooks() {
        return hooks;
    }

    /** Installs the runtime's hooks; false if another runtime (another class loader) got here first. */
    public static synchronized boolean install(Hooks runtimeHooks) {
        if (hooks != null) {
            return false;
        }
        hooks = runtimeHooks;
        return true;
    }

    /** True when the agent put this class on the boot class path, that is, when the JDK is patched to call it. */
    public static boolean isBridged() {
        return FiberBridge.class.getClassLoader() == null;
    }
}
