package io.fiber.internal.jdk;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.invoke.VarHandle;
import java.util.concurrent.Executor;

/**
 * The one adapter over the package-private {@code java.lang} hooks a fiber runtime needs
 * (docs/design.md section 1). Every other class goes through here, so a JDK change touches this file only.
 *
 * <ul>
 *   <li>{@code ThreadBuilders.newVirtualThread(Executor, String, int, Runnable)}: creates a virtual
 *       thread whose continuation is submitted to the given executor instead of the JDK's
 *       ForkJoinPool. Since JDK 21.</li>
 *   <li>{@code Thread.currentCarrierThread()}: the platform thread the caller runs on. The JDK calls
 *       a scheduler's {@code execute} from pinned virtual threads (JDK 25: an unpark from a fiber),
 *       where {@code currentThread()} is the fiber, not the carrier.</li>
 *   <li>{@code VirtualThread.defaultScheduler()}: where continuations go after our scheduler has
 *       terminated, so that no late wakeup is ever dropped.</li>
 *   <li>{@code VirtualThread.runContinuation}, the field holding what a virtual thread submits to its
 *       executor each time it becomes runnable (one object for the thread's life): a fiber's task
 *       reads it from the thread rather than keep a copy of its own, one field fewer per fiber.</li>
 *   <li>{@code Thread.asyncGetStackTrace()}, called non-virtually on a virtual thread: the stack of
 *       the thread only if it is mounted, read in a handshake with its carrier, else null. The
 *       override {@code VirtualThread.asyncGetStackTrace()} behind {@code getStackTrace()} would
 *       go on to walk an unmounted thread, suspending it, and then resubmit it if it was runnable
 *       (JDK 25: {@code tryGetStackTrace}), which the carrier watchdog must not provoke.</li>
 * </ul>
 *
 * All five need {@code java.base/java.lang} opened to this module: the agent does it with
 * {@code Instrumentation.redefineModule}, or the user passes
 * {@code --add-opens java.base/java.lang=ALL-UNNAMED}. Without it {@link #isAvailable()} is false
 * and {@link #unavailableReason()} says why.
 */
public final class VirtualThreadHook {
    /** The JVM option that opens the hook without the agent, quoted in warnings. */
    public static final String ADD_OPENS = "--add-opens java.base/java.lang=ALL-UNNAMED";

    private static final MethodHandle NEW_VIRTUAL_THREAD;
    private static final MethodHandle CURRENT_CARRIER_THREAD;
    private static final VarHandle RUN_CONTINUATION;
    private static final VarHandle SCHEDULER;
    private static final Executor JDK_DEFAULT_SCHEDULER;
    /** {@code Thread.asyncGetStackTrace} bound non-virtually; null where this JDK lacks it (then stacks are unknown). */
    private static final MethodHandle MOUNTED_STACK_TRACE;
    private static final String UNAVAILABLE_REASON;

    static {
        MethodHandle newVirtualThread = null;
        MethodHandle currentCarrier = null;
        VarHandle runContinuation = null;
        VarHandle scheduler = null;
        Executor defaultScheduler = null;
        MethodHandle mountedStackTrace = null;
        String reason = null;
        try {
            MethodHandles.Lookup lookup = MethodHandles.privateLookupIn(Thread.class, MethodHandles.lookup());
            Class<?> builders = Class.forName("java.lang.ThreadBuilders");
            newVirtualThread = lookup.findStatic(builders, "newVirtualThread",
                    MethodType.methodType(Thread.class, Executor.class, String.class, int.class, Runnable.class));
            currentCarrier = lookup.findStatic(Thread.class, "currentCarrierThread",
                    MethodType.methodType(Thread.class));
            Class<?> virtualThread = Class.forName("java.lang.VirtualThread");
            runContinuation = MethodHandles.privateLookupIn(virtualThread, MethodHandles.lookup())
                    .findVarHandle(virtualThread, "runContinuation", Runnable.class);
            scheduler = MethodHandles.privateLookupIn(virtualThread, MethodHandles.lookup())
                    .findVarHandle(virtualThread, "scheduler", Executor.class);
            defaultScheduler = (Executor) lookup.findStatic(virtualThread, "defaultScheduler",
                    MethodType.methodType(Executor.class)).invoke();
            // A probe: fails here, not at the first spawn, when continuations are off (-XX:-VMContinuations).
            Thread probe = (Thread) newVirtualThread.invoke((Executor) Runnable::run, "fiber-hook-probe", 0, (Runnable) () -> { });
            if (!probe.isVirtual()) {
                reason = "the JDK's virtual thread hook returned a platform thread";
            }
            try {
                mountedStackTrace = lookup.findSpecial(Thread.class, "asyncGetStackTrace",
                        MethodType.methodType(StackTraceElement[].class), Thread.class);
            } catch (ReflectiveOperationException e) {
                mountedStackTrace = null; // optional: without it the watchdog sees every stack as empty, so every run as Java code
            }
        } catch (IllegalAccessException e) {
            reason = "java.base/java.lang is not open to the fiber runtime (" + e.getMessage() + ")";
        } catch (Throwable e) {
            reason = "this JDK (" + Runtime.version() + ") lacks the virtual thread scheduler hook: " + e;
        }
        if (reason != null) {
            newVirtualThread = null;
            currentCarrier = null;
            runContinuation = null;
            scheduler = null;
        }
        NEW_VIRTUAL_THREAD = newVirtualThread;
        CURRENT_CARRIER_THREAD = currentCarrier;
        RUN_CONTINUATION = runContinuation;
        SCHEDULER = scheduler;
        JDK_DEFAULT_SCHEDULER = defaultScheduler;
        MOUNTED_STACK_TRACE = mountedStackTrace;
        UNAVAILABLE_REASON = reason;
    }

    private VirtualThreadHook() { }

    public static boolean isAvailable() {
        return NEW_VIRTUAL_THREAD != null;
    }

    /** Why the hook is unavailable, or null when it is available. */
    public static String unavailableReason() {
        return UNAVAILABLE_REASON;
    }

    /**
     * {@code java.lang.Thread}'s characteristic bit for a thread that does not inherit its creator's
     * inheritable thread locals (it starts with none, and with the system class loader as its context
     * class loader), which {@code Thread.Builder.inheritInheritableThreadLocals(false)} sets.
     */
    private static final int NO_INHERIT_THREAD_LOCALS = 1 << 2;

    /** Whether a thread created with JDK {@code characteristics} inherits its creator's inheritable thread locals. */
    public static boolean inheritsThreadLocals(int characteristics) {
        return (characteristics & NO_INHERIT_THREAD_LOCALS) == 0;
    }

    /**
     * An unstarted virtual thread whose continuation runs through {@code scheduler}; it inherits the
     * caller's inheritable thread locals and context class loader when {@code inheritThreadLocals},
     * as a thread from {@code Thread.ofVirtual()} does by default.
     */
    public static Thread newVirtualThread(Executor scheduler, String name, boolean inheritThreadLocals, Runnable task) {
        try {
            return (Thread) NEW_VIRTUAL_THREAD.invokeExact(scheduler, name, inheritThreadLocals ? 0 : NO_INHERIT_THREAD_LOCALS, task);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * What virtual thread {@code thread}, made by {@link #newVirtualThread}, submits to its executor
     * whenever it becomes runnable: the same object for its whole life.
     */
    public static Runnable continuationOf(Thread thread) {
        return (Runnable) RUN_CONTINUATION.get(thread);
    }

    /** The executor virtual thread {@code thread} submits its continuation to: a fiber's own task, for one of ours. */
    public static Executor schedulerOf(Thread thread) {
        return (Executor) SCHEDULER.get(thread);
    }

    /** The platform thread the caller runs on: the caller itself, or the carrier of a virtual thread. */
    public static Thread currentCarrierThread() {
        try {
            return (Thread) CURRENT_CARRIER_THREAD.invokeExact();
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The stack of virtual thread {@code thread} if it is mounted on a carrier, else null; empty when
     * this JDK offers no such call. Unlike {@code getStackTrace()} it never touches an unmounted
     * thread: it cannot suspend it or submit its continuation.
     */
    public static StackTraceElement[] mountedStackTrace(Thread thread) {
        if (MOUNTED_STACK_TRACE == null) {
            return new StackTraceElement[0];
        }
        try {
            return (StackTraceElement[]) MOUNTED_STACK_TRACE.invokeExact(thread);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    /** The JDK's own virtual thread scheduler, or null if this JDK does not expose it. */
    public static Executor jdkDefaultScheduler() {
        return JDK_DEFAULT_SCHEDULER;
    }
}
