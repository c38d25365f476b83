package io.fiber;

import java.util.List;

/**
 * A snapshot of a {@link FiberScheduler}, from {@link FiberScheduler#stats()}. Counters are read
 * without stopping the carriers, so the figures are consistent each on its own, not with each other.
 *
 * @param name           the scheduler's name
 * @param ownCarriers    true when fibers run on this scheduler's carrier loops; false in the fallback
 *                       mode, where they run on the JDK's default scheduler
 * @param fibersSpawned  fibers spawned since the scheduler was built
 * @param fibersAlive    fibers spawned and not yet finished
 * @param parks          times a fiber was resumed after it parked or yielded (carrier runs minus starts)
 * @param injectDepth    continuations waiting in the global inject queue
 * @param blockingCalls  calls run on the offload pool ({@link Fibers#blocking}) since the scheduler was built
 * @param blockingThreads threads alive in the offload pool now
 * @param blockingQueued calls (and fibers remounted for one) waiting for an offload pool thread now
 * @param carriers       one entry per carrier loop
 * @param groups         one entry per {@link FiberGroup}, in the order they were built; empty without groups
 */
public record SchedulerStats(String name, boolean ownCarriers, long fibersSpawned, long fibersAlive,
                             long parks, int injectDepth, long blockingCalls, int blockingThreads, int blockingQueued,
                             List<CarrierStats> carriers, List<FiberGroupStats> groups) {

    /**
     * How long fibers waited between becoming runnable and running, over all carriers (sampled:
     * {@link DelayHistogram}); empty in the fallback mode, where the JDK's scheduler runs them.
     */
    public DelayHistogram schedulingDelay() {
        DelayHistogram all = DelayHistogram.empty();
        for (CarrierStats c : carriers) {
            all = all.plus(c.schedulingDelay());
        }
        return all;
    }

    /** Times carriers were woken from their sleep by another thread, summed over all carriers. */
    public long wakeups() {
        return carriers.stream().mapToLong(CarrierStats::wakeups).sum();
    }

    /** Timers waiting to fire on the carriers, summed. */
    public int pendingTimers() {
        return carriers.stream().mapToInt(CarrierStats::pendingTimers).sum();
    }

    /** Continuations stolen between carriers, summed over all carriers. */
    public long steals() {
        return carriers.stream().mapToLong(CarrierStats::stolen).sum();
    }

    /** Socket waits served by the carriers' own reactors, summed over all carriers. */
    public long ioWaits() {
        return carriers.stream().mapToLong(CarrierStats::ioWaits).sum();
    }

    /** Socket reads the carriers' reactors skipped (see {@link CarrierStats#skippedReads}), summed over all carriers. */
    public long skippedReads() {
        return carriers.stream().mapToLong(CarrierStats::skippedReads).sum();
    }

    /** Timers fired by the carriers themselves, summed over all carriers. */
    public long timers() {
        return carriers.stream().mapToLong(CarrierStats::timers).sum();
    }

    /** A few lines for logs and the demo. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("scheduler %s: %s, %d fibers spawned, %d alive, %d parks, %d steals, inject queue %d, "
                        + "%d offloaded calls (%d pool threads, %d queued)%n",
                name, ownCarriers ? carriers.size() + " carrier loops" : "JDK default scheduler (fallback)",
                fibersSpawned, fibersAlive, parks, steals(), injectDepth, blockingCalls, blockingThreads, blockingQueued));
        if (ownCarriers) {
            sb.append(String.format("  scheduling delay: %s%n", schedulingDelay()));
        }
        for (CarrierStats c : carriers) {
            sb.append(String.format("  %-16s runs %,12d  stolen %,10d  sleeps %,9d  io waits %,10d  reads skipped %,10d  timers %,9d  handoffs %,7d"
                            + "  yield requests %,7d  busy %,9d ms  idle %,9d ms  wakeups %,9d  timers pending %,7d  queued %d%n",
                    c.name(), c.runs(), c.stolen(), c.sleeps(), c.ioWaits(), c.skippedReads(), c.timers(), c.handoffs(),
                    c.yieldRequests(), c.busyNanos() / 1_000_000, c.idleNanos() / 1_000_000, c.wakeups(), c.pendingTimers(),
                    c.queueDepth()));
        }
        for (FiberGroupStats g : groups) {
            sb.append("  ").append(g).append(String.format("%n"));
        }
        return sb.toString();
    }
}
