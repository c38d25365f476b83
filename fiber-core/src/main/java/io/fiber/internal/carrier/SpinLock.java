package io.fiber.internal.carrier;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A lock word for critical sections of a few field writes that both virtual and platform threads
 * enter, padded so that two of them never share a cache line. Subclasses put the state it guards
 * after it ({@link LiveFibers}' stripes); {@link ChunkedQueue} holds two.
 *
 * <p>Why not a monitor or a {@code ReentrantLock}: a virtual thread that meets a held monitor or
 * lock is unmounted (its frames copied to a new stack chunk on the heap, a later resubmission),
 * which costs far more than the few writes it waits for; and a fiber finishing, or a platform thread
 * spawning from outside, meets one often. A spin of a few iterations outlasts the holder; a holder
 * the OS descheduled is waited for with {@link Thread#yield}, which on a fiber lets its carrier run
 * other fibers meanwhile.
 *
 * <p>{@link #unlock} is a volatile write rather than a release, so that a holder's writes and a
 * volatile read after it are ordered as a Dekker pair needs ({@link LiveFibers}' spawn racing a stop).
 */
@SuppressWarnings("unused")
class SpinLock extends SpinLockPadding {
    private static final VarHandle LOCK;

    static {
        try {
            LOCK = MethodHandles.lookup().findVarHandle(SpinLock.class, "lock", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** 0 free, 1 held. */
    private volatile int lock;

    final void lock() {
        if (!LOCK.compareAndSet(this, 0, 1)) {
            lockContended();
        }
    }

    private void lockContended() {
        for (int spins = 1; ; spins++) {
            if (lock == 0 && LOCK.compareAndSet(this, 0, 1)) {
                return;
            }
            if ((spins & 63) == 0) {
                Thread.yield();
            } else {
                Thread.onSpinWait();
            }
        }
    }

    final void unlock() {
        assert lock == 1 : "unlocked a lock nobody held";
        lock = 0;
    }

    /** A lock with nothing after it but a cache line of padding. */
    static final class Padded extends SpinLock {
        long q0, q1, q2, q3, q4, q5, q6, q7;
    }
}

/** A cache line before {@link SpinLock}'s lock word: a superclass's fields are laid out first. */
@SuppressWarnings("unused")
abstract class SpinLockPadding {
    long p0, p1, p2, p3, p4, p5, p6, p7;
}
