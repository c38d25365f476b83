package io.fiber.internal.group;

import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

/**
 * A bound on how many fibers of a scheduler, or of one group, are alive at once (spawned and not
 * finished), with a policy for the spawner that finds it reached: wait for a fiber to end, wait at
 * most a while, or be refused at once (docs/design.md section 2, "Admission control").
 *
 * <p>Unlike a group's {@link Admission} line for starts, where the new fiber itself waits (it exists
 * already), here the spawner waits before the fiber is made: what is bounded is what live fibers
 * hold (their stacks, the requests they carry), and a spawner that waits is back pressure on
 * whatever feeds it. The count and the waiting spawners are an {@link Admission} all the same: a
 * slot per live fiber, taken by the spawner and given back as the fiber ends ({@link #release}),
 * and a lock-free line of spawners woken in order as slots free. Below the bound a spawn takes a
 * slot with one CAS ({@link Admission#tryTake}) and never joins the line.
 *
 * <p>No wakeup is lost: a spawner joins the line and then looks for a free slot, a fiber that ends
 * gives its slot back and then looks at the line ({@link Admission}'s Dekker pair), whatever ended
 * it (its task returning or failing, a cancel, {@code shutdownNow}). A shutdown ({@link #close})
 * sets a flag and then takes every spawner out of the line; a spawner reads the flag after joining
 * the line, so either it sees the flag or the shutdown finds it there, and each leaves with the
 * owner's shut-down rejection.
 */
public final class LiveLimit {
    /** {@link #maxWaitNanos()} of a spawner that waits as long as it takes. */
    public static final long WAIT_FOREVER = -1;

    /** What the owner throws, in the API's types (this layer does not name them). */
    public interface Refusals {
        /** The bound is reached and the policy refuses: at once, or after {@code waitedNanos} of waiting. */
        RuntimeException full(LiveLimit limit, long waitedNanos);

        /** The owner shut down while the spawner waited (or before it could take a slot). */
        RuntimeException shutDown();

        /** The spawner was interrupted while it waited, and left the line without a slot; its interrupt status is set. */
        RuntimeException interrupted(LiveLimit limit);
    }

    private static final int WAITING = 0;
    private static final int ADMITTED = 1;
    private static final int SHUT_OUT = 2;

    /** A spawner in line: told once, by whoever admits it or shuts the limit, and unparked. */
    private static final class Waiter implements Admission.Member {
        final Thread thread = Thread.currentThread();
        volatile int state = WAITING;

        @Override
        public void admitted() {
            state = ADMITTED;
            LockSupport.unpark(thread);
        }

        void shutOut() {
            state = SHUT_OUT;
            LockSupport.unpark(thread);
        }
    }

    private final Admission slots;
    private final long maxWaitNanos;
    private final Refusals refusals;
    private volatile boolean closed;
    private final LongAdder rejected = new LongAdder();
    private final LongAdder waited = new LongAdder();
    private final LongAdder waitNanos = new LongAdder();

    /**
     * @param bound        at most this many live fibers, at least 1
     * @param maxWaitNanos how long a spawner waits for a slot: {@link #WAIT_FOREVER}, 0 (refused at once) or more
     */
    public LiveLimit(int bound, long maxWaitNanos, Refusals refusals) {
        if (maxWaitNanos < WAIT_FOREVER) {
            throw new IllegalArgumentException("maxWaitNanos must be WAIT_FOREVER, 0 or positive, got " + maxWaitNanos);
        }
        this.slots = new Admission(bound);
        this.maxWaitNanos = maxWaitNanos;
        this.refusals = refusals;
    }

    public int bound() {
        return slots.bound();
    }

    /** {@link #WAIT_FOREVER}, 0 (a spawner is refused at once) or the longest wait in nanoseconds. */
    public long maxWaitNanos() {
        return maxWaitNanos;
    }

    /**
     * Takes a slot for a fiber about to be made, waiting by the policy when none is free. The caller
     * gives it back with {@link #release} when the fiber ends, or at once if the fiber is not made.
     *
     * @throws RuntimeException the {@link Refusals}' exception when refused, shut down or interrupted
     */
    public void acquire() {
        if (closed) {
            throw refusals.shutDown();
        }
        if (slots.tryTake()) {
            return;
        }
        if (maxWaitNanos == 0) {
            rejected.increment();
            throw refusals.full(this, 0);
        }
        waitForSlot();
    }

    private void waitForSlot() {
        Waiter me = new Waiter();
        long start = System.nanoTime();
        long deadline = start + maxWaitNanos;
        slots.enter(me); // admits at once if a slot freed meanwhile
        boolean interrupted = false;
        try {
            for (;;) {
                int state = me.state;
                if (state == ADMITTED) {
                    if (closed) { // admitted as the owner shut down: the fiber would be refused anyway
                        release();
                        throw refusals.shutDown();
                    }
                    return;
                }
                if (state == SHUT_OUT || closed && slots.withdraw(me)) {
                    throw refusals.shutDown();
                }
                if (Thread.interrupted()) {
                    if (slots.withdraw(me)) {
                        rejected.increment();
                        Thread.currentThread().interrupt(); // kept for the refusal, which may report a Timeout's
                        throw refusals.interrupted(this);
                    }
                    interrupted = true; // admitted (or shut out) meanwhile: the next look says which; the interrupt is kept
                    continue;
                }
                if (maxWaitNanos == WAIT_FOREVER) {
                    LockSupport.park(this);
                } else {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        if (slots.withdraw(me)) {
                            rejected.increment();
                            throw refusals.full(this, System.nanoTime() - start);
                        }
                        continue; // admitted meanwhile
                    }
                    LockSupport.parkNanos(this, left);
                }
            }
        } finally {
            waited.increment();
            waitNanos.add(System.nanoTime() - start);
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** A fiber that held a slot ended (or was not made after all): its slot goes to the next spawner in line. */
    public void release() {
        slots.leave();
    }

    /**
     * The owner shut down: spawners waiting now, and any that come, are refused with
     * {@link Refusals#shutDown()}. Slots of live fibers are still given back as they end.
     */
    public void close() {
        closed = true;
        slots.withdrawAll(m -> ((Waiter) m).shutOut());
    }

    // ---- statistics, read racily ---------------------------------------------------------------

    /** Live fibers holding a slot (plus, for a moment, slots being handed over). */
    public int holders() {
        return slots.holders();
    }

    /** Spawners waiting for a slot now. */
    public int waiting() {
        return slots.waiting();
    }

    /** Spawns refused: the bound reached under a policy that refuses, a wait that ran out or was interrupted. */
    public long rejected() {
        return rejected.sum();
    }

    /** Spawns that had to wait for a slot (admitted or not in the end). */
    public long waited() {
        return waited.sum();
    }

    /** Time spawners spent waiting for a slot, in nanoseconds, summed. */
    public long waitNanos() {
        return waitNanos.sum();
    }
}
