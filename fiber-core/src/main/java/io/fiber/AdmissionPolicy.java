package io.fiber;

import java.time.Duration;

/**
 * What a spawn does when the scheduler's or the group's bound on live fibers is reached
 * ({@link FiberScheduler.Builder#maxLiveFibers(int, AdmissionPolicy)},
 * {@link FiberGroup.Builder#maxLiveFibers(int, AdmissionPolicy)}):
 * <ul>
 *   <li>{@link #WAIT}: the spawner waits until a live fiber ends, then spawns. A fiber parks, a
 *       platform thread blocks; either way what feeds the spawner (an accept loop, a queue) slows to
 *       the rate fibers end: back pressure. Spawners are admitted in the order they came. An interrupt
 *       ends the wait with a {@link FiberRejectedException} whose cause is an
 *       {@link InterruptedException} (the interrupt status stays set), or with the
 *       {@link FiberTimeoutException} of a passed {@link Timeout}.</li>
 *   <li>{@link #waitAtMost(Duration)}: the same, then a {@link FiberRejectedException} if no fiber
 *       ended in time.</li>
 *   <li>{@link #REJECT}: a {@link FiberRejectedException} at once, naming the scheduler (and group),
 *       the bound and how to raise it.</li>
 * </ul>
 * Every way of making a fiber is bounded the same way: {@code spawn}, {@link FiberScope#fork},
 * {@link FiberPool}, {@link FiberScheduler#unstartedFiber} (its {@code Thread.start()} waits or
 * throws), and so the executors and thread factories over them and, under the agent, the threads
 * a program starts that become fibers. A shutdown refuses the waiting spawners with the scheduler's
 * {@link java.util.concurrent.RejectedExecutionException}.
 */
public final class AdmissionPolicy {
    /** The spawner waits as long as it takes for a live fiber to end. */
    public static final AdmissionPolicy WAIT = new AdmissionPolicy(-1);
    /** The spawn is refused at once with a {@link FiberRejectedException}. */
    public static final AdmissionPolicy REJECT = new AdmissionPolicy(0);

    /** -1: forever; 0: never; else nanoseconds. */
    private final long maxWaitNanos;

    private AdmissionPolicy(long maxWaitNanos) {
        this.maxWaitNanos = maxWaitNanos;
    }

    /**
     * The spawner waits at most {@code maxWait} for a live fiber to end, then is refused with a
     * {@link FiberRejectedException}; {@link Duration#ZERO} is {@link #REJECT}.
     */
    public static AdmissionPolicy waitAtMost(Duration maxWait) {
        if (maxWait == null || maxWait.isNegative()) {
            throw new IllegalArgumentException("waitAtMost takes zero (REJECT) or a positive duration, got " + maxWait
                    + "; for a wait without end use AdmissionPolicy.WAIT");
        }
        if (maxWait.isZero()) {
            return REJECT;
        }
        long nanos;
        try {
            nanos = maxWait.toNanos();
        } catch (ArithmeticException tooLong) {
            return WAIT; // some 292 years: without end
        }
        return new AdmissionPolicy(nanos);
    }

    /** Whether a spawner waits at all when the bound is reached (false for {@link #REJECT}). */
    public boolean waits() {
        return maxWaitNanos != 0;
    }

    /**
     * How long a spawner waits before it is refused: {@link Duration#ZERO} for {@link #REJECT}, null
     * for {@link #WAIT}, which waits as long as it takes.
     */
    public Duration maxWait() {
        return maxWaitNanos < 0 ? null : Duration.ofNanos(maxWaitNanos);
    }

    /** -1 (forever), 0 or nanoseconds, as the runtime's bound takes it. */
    long maxWaitNanos() {
        return maxWaitNanos;
    }

    /** The policy of a bound whose spawners wait {@code maxWaitNanos} (-1: forever). */
    static AdmissionPolicy ofMaxWaitNanos(long maxWaitNanos) {
        return maxWaitNanos < 0 ? WAIT : maxWaitNanos == 0 ? REJECT : new AdmissionPolicy(maxWaitNanos);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AdmissionPolicy p && p.maxWaitNanos == maxWaitNanos;
    }

    @Override
    public int hashCode() {
        return Long.hashCode(maxWaitNanos);
    }

    /** {@code WAIT}, {@code REJECT}, or {@code waitAtMost(250 ms)}. */
    @Override
    public String toString() {
        if (maxWaitNanos < 0) {
            return "WAIT";
        }
        if (maxWaitNanos == 0) {
            return "REJECT";
        }
        Duration d = Duration.ofNanos(maxWaitNanos);
        return "waitAtMost(" + (maxWaitNanos % 1_000_000 == 0 ? d.toMillis() + " ms" : d.toString()) + ")";
    }
}
