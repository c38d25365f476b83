package io.fiber.internal.group;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The groups of one scheduler and the carriers' pick among them (docs/design.md section 2,
 * "Groups"): weighted fair sharing as in Linux's CFS. Each group has a weight and a virtual runtime
 * that grows by the carrier time its fibers run, times {@link Group#DEFAULT_WEIGHT} / weight. A
 * carrier picking its next run serves, among the groups with queued work, the one with the least
 * virtual runtime, and the ungrouped fibers (one implicit group of the default weight, whose work
 * stays in the carriers' own queues) compete as one more such group ({@link #poll}).
 *
 * <p>A group that was idle re-enters at no less than the scheduler's floor minus one slice
 * ({@value #SLICE_MILLIS} ms of virtual time): the floor is the least virtual runtime among the busy
 * groups, seen at picks and never moved back (CFS's {@code min_vruntime}). So a group that uses
 * little CPU (fibers that sleep, or wait on sockets) is served ahead of a busy one as soon as its
 * work arrives, but cannot bank credit while idle and then starve the others.
 *
 * <p>A scheduler that never creates a group pays one volatile read per pick ({@link #inUse}): the
 * group array is empty, and run times are not measured.
 *
 * <p>Groups are never removed; the array is copied on creation, which is rare and done under this
 * object's monitor, which no carrier takes.
 */
public final class Groups {
    static final long SLICE_MILLIS = 2;
    private static final long SLICE_NANOS = TimeUnit.MILLISECONDS.toNanos(SLICE_MILLIS);

    private static final VarHandle FLOOR;

    static {
        try {
            FLOOR = MethodHandles.lookup().findVarHandle(Groups.class, "floor", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private volatile Group[] groups = new Group[0];
    /** The ungrouped fibers' share. */
    private final Group ungrouped = new Group(null, "(ungrouped)", Group.DEFAULT_WEIGHT, 0);
    /** The least virtual runtime among busy groups, as last seen; only grows. */
    private volatile long floor;

    /**
     * A new group, or {@link IllegalArgumentException} when one of that name exists.
     *
     * @param maxConcurrent at most this many of its fibers run at once; 0 for no bound
     */
    public Group create(Object owner, String name, int weight, int maxConcurrent) {
        return create(owner, name, weight, maxConcurrent, null);
    }

    /** {@link #create(Object, String, int, int)} with a bound on its live fibers ({@code liveLimit}; null: none). */
    public synchronized Group create(Object owner, String name, int weight, int maxConcurrent, LiveLimit liveLimit) {
        for (Group g : groups) {
            if (g.name().equals(name)) {
                throw new IllegalArgumentException("a group named '" + name + "' exists on this scheduler already:"
                        + " keep the FiberGroup it returned and spawn through it, or give the new group another name");
            }
        }
        Group group = new Group(owner, name, weight, maxConcurrent, liveLimit);
        Group[] grown = Arrays.copyOf(groups, groups.length + 1);
        grown[groups.length] = group;
        groups = grown;
        return group;
    }

    /** Whether any group exists: then the carriers time their runs and look at the groups' queues. */
    public boolean inUse() {
        return groups.length != 0;
    }

    /** Whether a continuation waits in any group's run queue. */
    public boolean anyQueued() {
        for (Group g : groups) {
            if (g.hasQueued()) {
                return true;
            }
        }
        return false;
    }

    /**
     * The carrier's pick: a continuation from the group with the least virtual runtime among those
     * with queued work, or null when there is none, or when {@code ungroupedWaiting} (ungrouped work
     * waits for this carrier) and the ungrouped fibers' virtual runtime is no more than that group's:
     * the carrier then takes its ungrouped work as it would without groups. Also null when another
     * carrier took the group's last continuation meanwhile.
     */
    public Runnable poll(boolean ungroupedWaiting) {
        Group[] gs = groups;
        long lowest = floor - SLICE_NANOS;
        Group best = null;
        long bestV = 0;
        for (Group g : gs) {
            if (g.hasQueued()) {
                long v = g.placedVruntime(lowest);
                if (best == null || v < bestV) {
                    best = g;
                    bestV = v;
                }
            }
        }
        if (best == null) {
            if (ungroupedWaiting) {
                keepFloorUpWith(ungrouped.vruntime()); // the only busy group: a group arriving now is placed against it
            }
            return null;
        }
        if (ungroupedWaiting) {
            long ungroupedV = ungrouped.placedVruntime(lowest);
            if (ungroupedV <= bestV) {
                advanceFloor(ungroupedV);
                return null;
            }
        }
        advanceFloor(bestV);
        return best.poll();
    }

    /**
     * Raises the floor to {@code least} once it lags by a slice: called at every pick while only the
     * ungrouped fibers are busy, so a CAS per slice of their run time rather than per pick.
     */
    private void keepFloorUpWith(long least) {
        if (least - floor > SLICE_NANOS) {
            advanceFloor(least);
        }
    }

    private void advanceFloor(long least) {
        for (long f = floor; least > f; f = floor) {
            if (FLOOR.compareAndSet(this, f, least)) {
                return;
            }
        }
    }

    /** A run of a fiber of {@code group} (null: an ungrouped one) took {@code nanos} of a carrier. */
    public void charge(Group group, long nanos) {
        (group != null ? group : ungrouped).charge(nanos);
    }

    /** Hands every queued grouped continuation to {@code sink}: when no carrier is left to run them. */
    public void drainTo(Consumer<Runnable> sink) {
        for (Group g : groups) {
            for (Runnable continuation; (continuation = g.poll()) != null; ) {
                sink.accept(continuation);
            }
        }
    }

    /** The groups, in creation order. */
    public List<Group> all() {
        return List.of(groups);
    }
}
