package io.fiber.internal.group;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.LongAdder;

/**
 * What the carriers and the API know of one group of fibers (the API's {@code io.fiber.FiberGroup},
 * an opaque {@link #owner()} here): its share of carrier time ({@link #weight()}), its optional
 * bound ({@link Admission}), the run queue its fibers' continuations wait in, its virtual runtime
 * and its counters. The pick among groups is {@link Groups}'; docs/design.md section 2, "Groups".
 *
 * <p>The run queue is shared by every carrier of the scheduler (groups are few, and a group is where
 * carriers look first for work that must not wait behind the rest): a linearizable FIFO, so the
 * continuations of a group run in the order they became runnable.
 */
public final class Group {
    /** The weight of a group built without one, and of the ungrouped fibers. */
    public static final int DEFAULT_WEIGHT = 100;
    /** Weights range over 1 to this: from 1/100 of the default share to 100 times it (CFS: about 1/60 to 86 times). */
    public static final int MAX_WEIGHT = 10_000;
    private static final VarHandle VRUNTIME;

    static {
        try {
            VRUNTIME = MethodHandles.lookup().findVarHandle(Group.class, "vruntime", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Object owner;
    private final String name;
    private final int weight;
    /** Null when the group has no bound. */
    private final Admission admission;
    /** Null when the group has no bound on its live fibers. */
    private final LiveLimit liveLimit;
    private final ConcurrentLinkedQueue<Runnable> runQueue = new ConcurrentLinkedQueue<>();
    /** Nanoseconds its fibers ran, times {@link #DEFAULT_WEIGHT} / {@link #weight}: what the pick compares. */
    private volatile long vruntime;
    private final LongAdder spawned = new LongAdder();
    private final LongAdder finished = new LongAdder();
    private final LongAdder runs = new LongAdder();
    private final LongAdder runNanos = new LongAdder();

    /**
     * @param maxConcurrent at most this many of its fibers run at once; 0 for no bound
     */
    Group(Object owner, String name, int weight, int maxConcurrent) {
        this(owner, name, weight, maxConcurrent, null);
    }

    /**
     * @param maxConcurrent at most this many of its fibers run at once; 0 for no bound
     * @param liveLimit     the bound on its live fibers, or null
     */
    Group(Object owner, String name, int weight, int maxConcurrent, LiveLimit liveLimit) {
        if (weight < 1 || weight > MAX_WEIGHT) {
            throw new IllegalArgumentException("weight must be between 1 and " + MAX_WEIGHT + ", got " + weight);
        }
        this.owner = owner;
        this.name = name;
        this.weight = weight;
        this.admission = maxConcurrent == 0 ? null : new Admission(maxConcurrent);
        this.liveLimit = liveLimit;
    }

    /** The API's group object. */
    public Object owner() {
        return owner;
    }

    public String name() {
        return name;
    }

    public int weight() {
        return weight;
    }

    /** Whether its fibers wait for a slot to start ({@link #admission()} is not null). */
    public boolean isBounded() {
        return admission != null;
    }

    /** The group's bound, or null when it has none. */
    public Admission admission() {
        return admission;
    }

    /** The bound on the group's live fibers (spawners wait or are refused), or null when it has none. */
    public LiveLimit liveLimit() {
        return liveLimit;
    }

    // ---- the run queue, for the carriers ------------------------------------------------------

    /** A continuation of one of its fibers became runnable. */
    public void offer(Runnable continuation) {
        runQueue.offer(continuation);
    }

    Runnable poll() {
        return runQueue.poll();
    }

    boolean hasQueued() {
        return !runQueue.isEmpty();
    }

    long vruntime() {
        return vruntime;
    }

    /**
     * The virtual runtime it competes with now: its own, raised to {@code lowest} if below (and kept
     * there), so a group that was idle re-enters with at most one slice of credit (CFS's placement of
     * a waking task).
     */
    long placedVruntime(long lowest) {
        for (;;) {
            long v = vruntime;
            if (v >= lowest) {
                return v;
            }
            if (VRUNTIME.compareAndSet(this, v, lowest)) {
                return lowest;
            }
        }
    }

    /** A run of one of its fibers took {@code nanos} of a carrier. */
    void charge(long nanos) {
        runs.increment();
        runNanos.add(nanos);
        VRUNTIME.getAndAdd(this, nanos * DEFAULT_WEIGHT / weight);
    }

    // ---- counters -----------------------------------------------------------------------------

    /** A fiber of the group was admitted to the scheduler. */
    public void spawned() {
        spawned.increment();
    }

    /** A fiber of the group finished. */
    public void finished() {
        finished.increment();
    }

    public long spawnedCount() {
        return spawned.sum();
    }

    public long finishedCount() {
        return finished.sum();
    }

    /** Fibers waiting for a slot. */
    public int waitingCount() {
        return admission == null ? 0 : admission.waiting();
    }

    /** Continuations of its fibers run so far (starts and resumptions); counted while the scheduler has groups. */
    public long runs() {
        return runs.sum();
    }

    /** Carrier time its fibers ran, in nanoseconds; measured while the scheduler has groups. */
    public long runNanos() {
        return runNanos.sum();
    }

    /** Its virtual runtime, in nanoseconds. */
    public long virtualRuntimeNanos() {
        return vruntime;
    }

    /** Continuations waiting in its run queue; O(n), for statistics. */
    public int queueDepth() {
        return runQueue.size();
    }

    @Override
    public String toString() {
        return "group '" + name + "'";
    }
}
