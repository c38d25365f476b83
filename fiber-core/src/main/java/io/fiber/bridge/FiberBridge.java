package io.fiber.bridge;

import java.io.IOException;
import java.util.concurrent.Executor;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * The bridge between patched JDK classes and the fiber runtime. Not an application API.
 *
 * <p>The agent appends this class (and {@link Hooks}) to the boot class path, then inlines calls
 * to {@link #hooks()} into {@code sun.nio.ch.Poller} and {@code java.lang.VirtualThread}: code in
 * {@code java.base} can only see classes of the boot loader. The runtime, loaded by the application
 * class loader, installs its {@link Hooks} here once; until then (and in a JVM that never uses fibers)
 * every patched method sees null and runs the JDK's own code.
 *
 * <p>Kept tiny and free of dependencies on purpose: everything it references must itself be on the
 * boot class path.
 */
public final class FiberBridge {
    private static volatile Hooks hooks;

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
         * {@code VirtualThread.schedule}: a timed park or wait of a virtual thread whose scheduler is
         * {@code scheduler}. Returns the timer, or null to let the JDK's timer threads handle it.
         */
        Future<?> schedule(Executor scheduler, Runnable task, long delay, TimeUnit unit);
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
