package io.fiber;

import java.time.Duration;

/**
 * A snapshot of one {@link FiberGroup}, from {@link FiberGroup#stats()} and
 * {@link SchedulerStats#groups()}. Read without stopping anything: each figure is consistent on its
 * own, not with the others.
 *
 * @param name          the group's name
 * @param weight        its weight (its share of carrier time relative to other groups')
 * @param maxConcurrent its bound; {@link Integer#MAX_VALUE} when it has none
 * @param spawned       fibers spawned into it
 * @param running       fibers started (or admitted and about to start) and not finished
 * @param waiting       fibers waiting for a slot (its bound reached)
 * @param finished      fibers that finished
 * @param runs          continuations of its fibers that carriers ran (starts and resumptions)
 * @param runTime       carrier time its fibers ran (0 in the fallback mode, which does not measure it)
 * @param virtualRuntime its run time weighted by default weight / weight: what carriers compare to pick
 *                      the next group (it only grows, and an idle group's is raised when it returns)
 * @param queueDepth    continuations of its fibers waiting for a carrier
 * @param admission     the bound on its live fibers and what it did ({@link FiberGroup.Builder#maxLiveFibers});
 *                      {@link AdmissionStats#bounded()} false without one
 */
public record FiberGroupStats(String name, int weight, int maxConcurrent, long spawned, long running, int waiting,
                              long finished, long runs, Duration runTime, Duration virtualRuntime, int queueDepth,
                              AdmissionStats admission) {

    /** One line, for logs. */
    @Override
    public String toString() {
        return String.format("group %-12s weight %,6d  %s  spawned %,10d  running %,7d  waiting %,9d  finished %,10d"
                        + "  runs %,12d  run time %,9d ms  vruntime %,9d ms  queued %d",
                name, weight, maxConcurrent == Integer.MAX_VALUE ? "unbounded " : String.format("at most %,d", maxConcurrent),
                spawned, running, waiting, finished, runs, runTime.toMillis(), virtualRuntime.toMillis(), queueDepth)
                + (admission.bounded() ? "  admission " + admission : "");
    }
}
