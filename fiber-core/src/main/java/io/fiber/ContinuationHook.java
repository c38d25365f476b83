package io.fiber;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

/**
 * The one adapter over {@code jdk.internal.vm.Continuation}: is the current virtual thread pinned
 * to its carrier (a native frame or a class initialiser on its stack)?
 *
 * <p>Why the reactor asks: a pinned fiber that parks blocks its carrier thread itself
 * ({@code VirtualThread.parkOnCarrierThread}), so that carrier's own reactor could never deliver
 * the event the fiber waits for. Pinned waits therefore stay on the JDK's poller threads.
 *
 * <p>Needs {@code java.base/jdk.internal.vm} exported to the runtime, which the agent does; without
 * it {@link #isAvailable()} is false and socket waits keep the JDK's pollers.
 */
final class ContinuationHook {
    private static final MethodHandle IS_PINNED;
    private static final String UNAVAILABLE_REASON;

    static {
        MethodHandle isPinned = null;
        String reason = null;
        try {
            Class<?> continuation = Class.forName("jdk.internal.vm.Continuation");
            Class<?> scopeClass = Class.forName("jdk.internal.vm.ContinuationScope");
            MethodHandles.Lookup javaLang = MethodHandles.privateLookupIn(Thread.class, MethodHandles.lookup());
            Object virtualThreadScope = javaLang.findStatic(Class.forName("java.lang.VirtualThread"),
                    "continuationScope", MethodType.methodType(scopeClass)).invoke();
            isPinned = MethodHandles.insertArguments(MethodHandles.lookup().findStatic(continuation, "isPinned",
                    MethodType.methodType(boolean.class, scopeClass)), 0, virtualThreadScope);
        } catch (Throwable e) {
            reason = "cannot ask whether a fiber is pinned (" + e + ")";
        }
        IS_PINNED = isPinned;
        UNAVAILABLE_REASON = reason;
    }

    private ContinuationHook() { }

    static boolean isAvailable() {
        return IS_PINNED != null;
    }

    static String unavailableReason() {
        return UNAVAILABLE_REASON;
    }

    /** Whether the calling virtual thread cannot unmount now; call only when {@link #isAvailable()}. */
    static boolean isPinned() {
        try {
            return (boolean) IS_PINNED.invokeExact();
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }
}
