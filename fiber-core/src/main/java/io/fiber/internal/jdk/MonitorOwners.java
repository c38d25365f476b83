package io.fiber.internal.jdk;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Monitors for deadlock reports: the one a thread is blocked entering, and those it holds. The
 * JDK answers both for virtual threads only through {@code jdk.internal.vm.ThreadSnapshot} (what
 * {@code jcmd Thread.dump_to_file} uses; {@code ThreadMXBean} does not see virtual threads), a
 * package-private class, so this works where {@code jdk.internal.vm} is opened to this code: the
 * agent opens it, or {@code --add-opens java.base/jdk.internal.vm=ALL-UNNAMED}. Without it, monitor
 * cycles are not named; nothing else changes. Each call takes a snapshot of the thread (a handshake
 * with it): for reports on stuck programs, not for hot paths.
 */
public final class MonitorOwners {
    private static final MethodHandle SNAPSHOT_OF;
    private static final MethodHandle BLOCKED_ON;
    private static final MethodHandle STACK_TRACE;
    private static final MethodHandle OWNED_AT;

    static {
        MethodHandle of = null;
        MethodHandle blockedOn = null;
        MethodHandle stackTrace = null;
        MethodHandle ownedAt = null;
        try {
            Class<?> snapshot = Class.forName("jdk.internal.vm.ThreadSnapshot");
            of = handle(snapshot.getDeclaredMethod("of", Thread.class));
            blockedOn = handle(snapshot.getDeclaredMethod("blockedOn"));
            stackTrace = handle(snapshot.getDeclaredMethod("stackTrace"));
            ownedAt = handle(snapshot.getDeclaredMethod("ownedMonitorsAt", int.class));
        } catch (ReflectiveOperationException | RuntimeException notOpened) {
            of = null; // InaccessibleObjectException: not opened to us; NoSuchMethodException: another JDK
        }
        SNAPSHOT_OF = of;
        BLOCKED_ON = blockedOn;
        STACK_TRACE = stackTrace;
        OWNED_AT = ownedAt;
    }

    private MonitorOwners() { }

    private static MethodHandle handle(Method m) throws IllegalAccessException {
        m.setAccessible(true);
        return MethodHandles.lookup().unreflect(m);
    }

    /** Whether monitors can be read here. */
    public static boolean isAvailable() {
        return SNAPSHOT_OF != null;
    }

    /** The monitor {@code thread} is blocked entering ({@code synchronized}), or null: none, or unreadable. */
    public static Object blockedOn(Thread thread) {
        if (SNAPSHOT_OF == null) {
            return null;
        }
        try {
            Object snapshot = SNAPSHOT_OF.invoke(thread);
            return snapshot == null ? null : BLOCKED_ON.invoke(snapshot);
        } catch (Throwable e) {
            return null; // the thread ended meanwhile, say
        }
    }

    /** The monitors {@code thread} holds, innermost frame first; empty when none or unreadable. */
    @SuppressWarnings("unchecked")
    public static List<Object> heldBy(Thread thread) {
        List<Object> held = new ArrayList<>();
        if (SNAPSHOT_OF == null) {
            return held;
        }
        try {
            Object snapshot = SNAPSHOT_OF.invoke(thread);
            if (snapshot == null) {
                return held;
            }
            int depth = ((StackTraceElement[]) STACK_TRACE.invoke(snapshot)).length;
            for (int i = 0; i < depth; i++) {
                ((Stream<Object>) OWNED_AT.invoke(snapshot, i)).forEach(held::add);
            }
        } catch (Throwable e) {
            held.clear();
        }
        return held;
    }
}
