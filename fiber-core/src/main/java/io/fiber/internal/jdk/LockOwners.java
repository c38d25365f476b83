package io.fiber.internal.jdk;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.reflect.Method;
import java.util.concurrent.locks.AbstractOwnableSynchronizer;

/**
 * The owner of an exclusive {@code java.util.concurrent} lock, for fiber dumps and deadlock reports:
 * {@code AbstractOwnableSynchronizer.getExclusiveOwnerThread()}, which is protected, so reachable
 * only where {@code java.util.concurrent.locks} is opened to this code
 * ({@code --add-opens java.base/java.util.concurrent.locks=ALL-UNNAMED}). Without it, owners are
 * unknown and say so; nothing else changes.
 */
public final class LockOwners {
    private static final MethodHandle GET_OWNER = exclusiveOwnerGetter();

    private LockOwners() { }

    private static MethodHandle exclusiveOwnerGetter() {
        try {
            Method m = AbstractOwnableSynchronizer.class.getDeclaredMethod("getExclusiveOwnerThread");
            m.setAccessible(true);
            return MethodHandles.lookup().unreflect(m);
        } catch (ReflectiveOperationException | RuntimeException notOpened) {
            return null; // InaccessibleObjectException: the package is not opened to us
        }
    }

    /** Whether owners can be read here. */
    public static boolean isAvailable() {
        return GET_OWNER != null;
    }

    /**
     * The thread holding {@code blocker} exclusively (the object a thread parked on, from
     * {@code LockSupport.getBlocker}: a {@code ReentrantLock}'s or a write lock's synchronizer), or
     * null: not such a synchronizer, free, held shared, or owners unreadable ({@link #isAvailable}).
     */
    public static Thread ownerOf(Object blocker) {
        if (GET_OWNER == null || !(blocker instanceof AbstractOwnableSynchronizer synchronizer)) {
            return null;
        }
        try {
            return (Thread) GET_OWNER.invoke(synchronizer);
        } catch (Throwable e) {
            return null;
        }
    }
}
