package io.fiber;

import io.fiber.internal.group.Group;
import io.fiber.internal.group.LiveLimit;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.RejectedExecutionException;

/**
 * A group of a scheduler's fibers with a share of its carrier time and an optional bound on how many
 * of them run at once: Celery's queues of different priority, and its serial queue served by one
 * worker, inside one scheduler. Built with {@link FiberScheduler#group(String)}.
 * <pre>{@code
 * FiberGroup frontend = scheduler.group("frontend").weight(1_000).build();   // 10x the default share
 * FiberGroup batch = scheduler.group("batch").weight(10).maxConcurrent(4).build();
 * FiberGroup db = scheduler.group("db").serial().build();
 * frontend.spawn(() -> render(request));
 * db.spawn(() -> cache.put(key, value));   // never overlaps another fiber of db: no lock needed
 * }</pre>
 *
 * <p><b>Share.</b> Carriers share their time among the groups that have runnable fibers in
 * proportion to their weights (default {@value Group#DEFAULT_WEIGHT}; the fibers spawned outside any
 * group count as one group of the default weight), as Linux's CFS shares a CPU among tasks: a group
 * whose fibers mostly wait (for a timer, a socket) is served as soon as they become runnable, ahead of
 * a group that keeps the carriers busy, and a busy group cannot starve another. A run is never
 * interrupted: the share decides which fiber runs next, when the running one parks or yields.
 *
 * <p><b>Bound.</b> With {@link Builder#maxConcurrent(int) maxConcurrent(n)}, at most n of the group's
 * fibers have started and not finished; the others are admitted to the scheduler (a shutdown waits
 * for them, {@link FiberScheduler#shutdownNow()} cancels them, {@link Fiber#join()} waits for them)
 * but start only when a running one finishes, in the order they were spawned. {@link Builder#serial()}
 * is a bound of 1, a serial lane: its fibers never overlap and start in submission order, and each
 * sees everything its predecessors wrote, so an object touched only from the lane needs no lock (an
 * actor). A fiber of a bounded group that waits for another fiber of the same group it spawned can
 * wait forever once the bound is reached: spawn such helpers into another group (for a scope's forks,
 * {@link FiberScope#open(FiberGroup, java.time.Duration)}). In a serial lane that wait is certain, and
 * {@link Fiber#join()}, {@link Fiber#get()} and {@link FiberScope#join()} throw
 * {@link IllegalStateException} instead of waiting. A fiber cancelled while it waits in line leaves
 * the line and ends at once, without running its task (so closing a scope whose forks wait in line
 * does not hang).
 *
 * <p><b>Membership.</b> A fiber spawned from a fiber of the group, on the same scheduler
 * ({@link Fibers#spawn}, {@link FiberScheduler#spawn}, {@link FiberScope#fork},
 * {@link FiberScheduler#unstartedFiber}), joins the group; {@code other.spawn(...)} puts it in
 * another group. A virtual thread a fiber starts on its own (not a fiber: no agent) runs outside any
 * group.
 *
 * <p><b>Fallback mode</b> (no carriers: fibers on the JDK's scheduler): bounds and serial lanes hold;
 * weights are not applied, and run times are not measured.
 *
 * <p>A group lives as long as its scheduler.
 */
public final class FiberGroup {
    /** The weight of a group built without one, and of the fibers outside any group. */
    public static final int DEFAULT_WEIGHT = Group.DEFAULT_WEIGHT;
    /** The largest weight: 100 times the default. */
    public static final int MAX_WEIGHT = Group.MAX_WEIGHT;
    private final FiberScheduler scheduler;
    private final Group group;

    private FiberGroup(FiberScheduler scheduler, String name, int weight, int maxConcurrent, int maxLiveFibers,
                       AdmissionPolicy policy) {
        this.scheduler = scheduler;
        LiveLimit liveLimit = maxLiveFibers == 0 ? null : new LiveLimit(maxLiveFibers, policy.maxWaitNanos(),
                new FiberScheduler.Refusals(scheduler.carriers(), "group '" + name + "' of scheduler '" + scheduler.name() + "'", name));
        this.group = scheduler.carriers().groups().create(this, name, weight, maxConcurrent, liveLimit);
    }

    /**
     * The group of the calling fiber, or null when the caller is not a fiber or its fiber is in no
     * group.
     */
    public static FiberGroup current() {
        Fiber<?> fiber = Fiber.current();
        return fiber == null ? null : fiber.group();
    }

    public String name() {
        return group.name();
    }

    /** Its weight: its share of carrier time relative to other groups'. */
    public int weight() {
        return group.weight();
    }

    /** How many of its fibers may run at once; {@link Integer#MAX_VALUE} when it has no bound. */
    public int maxConcurrent() {
        return group.isBounded() ? group.admission().bound() : Integer.MAX_VALUE;
    }

    /** The bound on its live fibers ({@link Builder#maxLiveFibers}); {@link Integer#MAX_VALUE} when none. */
    public int maxLiveFibers() {
        LiveLimit limit = group.liveLimit();
        return limit == null ? Integer.MAX_VALUE : limit.bound();
    }

    /** What a spawn into the group does at {@link #maxLiveFibers()}; null when there is no bound. */
    public AdmissionPolicy admissionPolicy() {
        LiveLimit limit = group.liveLimit();
        return limit == null ? null : AdmissionPolicy.ofMaxWaitNanos(limit.maxWaitNanos());
    }

    /** Whether it is a serial lane: at most one of its fibers runs at once. */
    public boolean isSerial() {
        return maxConcurrent() == 1;
    }

    public FiberScheduler scheduler() {
        return scheduler;
    }

    /** Starts a fiber of this group running {@code task}. */
    public Fiber<Void> spawn(Runnable task) {
        return scheduler.start(group, null, Objects.requireNonNull(task, "task"));
    }

    /** Starts a fiber of this group running {@code task}; its value is {@link Fiber#get()}. */
    public <T> Fiber<T> spawn(Callable<T> task) {
        return scheduler.start(group, null, Objects.requireNonNull(task, "task"));
    }

    /**
     * Starts a fiber of this group running {@code task}. The name (may be null) shows in thread dumps.
     *
     * @throws RejectedExecutionException if the scheduler is shut down
     */
    public <T> Fiber<T> spawn(String fiberName, Callable<T> task) {
        return scheduler.start(group, fiberName, Objects.requireNonNull(task, "task"));
    }

    /** A snapshot of what the group's fibers have done; also in {@link FiberScheduler#stats()}. */
    public FiberGroupStats stats() {
        long spawned = group.spawnedCount();
        long finished = group.finishedCount();
        int waiting = group.waitingCount();
        return new FiberGroupStats(group.name(), group.weight(), maxConcurrent(), spawned,
                Math.max(0, spawned - finished - waiting), waiting, finished, group.runs(),
                Duration.ofNanos(group.runNanos()), Duration.ofNanos(group.virtualRuntimeNanos()), group.queueDepth(),
                FiberScheduler.admissionStats(group.liveLimit()));
    }

    @Override
    public String toString() {
        return "FiberGroup[" + name() + ", weight " + weight()
                + (group.isBounded() ? ", at most " + maxConcurrent() + " at once" : "")
                + (group.liveLimit() != null ? ", at most " + maxLiveFibers() + " live (" + admissionPolicy() + ")" : "")
                + ", " + scheduler.name() + "]";
    }

    /** Settings for a new {@link FiberGroup}; from {@link FiberScheduler#group(String)}. */
    public static final class Builder {
        private final FiberScheduler scheduler;
        private final String name;
        private int weight = Group.DEFAULT_WEIGHT;
        private int maxConcurrent;
        private int maxLiveFibers;
        private AdmissionPolicy admissionPolicy = AdmissionPolicy.WAIT;

        Builder(FiberScheduler scheduler, String name) {
            this.scheduler = scheduler;
            this.name = name;
        }

        /**
         * Its share of carrier time relative to other groups' (default {@value Group#DEFAULT_WEIGHT},
         * the share of the fibers outside any group): a group of weight 1,000 next to one of 100 gets
         * 10 times its carrier time while both have fibers to run. Between 1 and {@value Group#MAX_WEIGHT}.
         */
        public Builder weight(int weight) {
            if (weight < 1 || weight > Group.MAX_WEIGHT) {
                throw new IllegalArgumentException("group '" + name + "': weight must be between 1 and " + Group.MAX_WEIGHT
                        + " (default " + Group.DEFAULT_WEIGHT + ", the share of fibers outside any group), got " + weight);
            }
            this.weight = weight;
            return this;
        }

        /**
         * At most {@code maxConcurrent} of its fibers run at once (started and not finished); the others
         * start as running ones finish, in the order they were spawned. Default: no bound.
         */
        public Builder maxConcurrent(int maxConcurrent) {
            if (maxConcurrent < 1) {
                throw new IllegalArgumentException("group '" + name + "': maxConcurrent must be at least 1 (1 is a serial"
                        + " lane, serial()); for no bound, do not call it. Got " + maxConcurrent);
            }
            this.maxConcurrent = maxConcurrent;
            return this;
        }

        /**
         * At most {@code maxLiveFibers} of its fibers alive at once (spawned and not finished, running
         * or waiting for a {@link #maxConcurrent} slot); a spawn beyond waits until one ends
         * ({@link AdmissionPolicy#WAIT}). Default: no bound. See {@link #maxLiveFibers(int, AdmissionPolicy)}.
         */
        public Builder maxLiveFibers(int maxLiveFibers) {
            return maxLiveFibers(maxLiveFibers, AdmissionPolicy.WAIT);
        }

        /**
         * At most {@code maxLiveFibers} of its fibers alive at once; at the bound a spawn into the group
         * (including a fiber spawned from one of its fibers, which joins it) does what {@code policy}
         * says, as for the scheduler's bound ({@link FiberScheduler.Builder#maxLiveFibers(int, AdmissionPolicy)}),
         * which holds as well: a spawn takes a slot of both. Unlike {@link #maxConcurrent}, whose extra
         * fibers exist and wait in line, this bounds how many fibers exist: the spawner waits or is refused.
         */
        public Builder maxLiveFibers(int maxLiveFibers, AdmissionPolicy policy) {
            if (maxLiveFibers < 1) {
                throw new IllegalArgumentException("group '" + name + "': maxLiveFibers must be at least 1, got "
                        + maxLiveFibers + "; for no bound, do not call it");
            }
            this.maxLiveFibers = maxLiveFibers;
            this.admissionPolicy = Objects.requireNonNull(policy, "policy");
            return this;
        }

        /** A serial lane: {@code maxConcurrent(1)}. Its fibers never overlap and start in submission order. */
        public Builder serial() {
            return maxConcurrent(1);
        }

        /**
         * The group.
         *
         * @throws IllegalArgumentException if the scheduler has a group of this name already
         * @throws RejectedExecutionException if the scheduler is shut down
         */
        public FiberGroup build() {
            if (scheduler.isShutdown()) {
                throw new RejectedExecutionException("cannot build group '" + name + "' on scheduler '" + scheduler.name()
                        + "': it is shut down. Build groups on a running scheduler, before its shutdown.");
            }
            return new FiberGroup(scheduler, name, weight, maxConcurrent, maxLiveFibers, admissionPolicy);
        }
    }
}
