package io.fiber;

/**
 * A snapshot of one carrier loop.
 *
 * @param name       the carrier thread's name
 * @param queueDepth continuations waiting in its local queue and run-next slot
 * @param runs       continuations it has run (fiber starts plus resumptions after a park or yield)
 * @param stolen     continuations it took from other carriers' queues
 * @param sleeps     times it went to sleep for lack of work
 * @param ioWaits    socket waits its reactor took (0 without the agent, whose pollers are the JDK's then)
 * @param skippedReads socket reads its reactor skipped: a short read had drained the socket and no
 *                   data came since, so the fiber waited without the read that would have found nothing
 * @param timers     timers it fired: fibers' sleeps and timed parks, rerouted by the agent
 * @param handoffs   times a fiber held this carrier's thread so long that a new thread took over the
 *                   carrier's work (these counts carry over to the new thread)
 * @param yieldRequests times the watchdog asked a run that held this carrier, with other work
 *                   waiting, to yield at its next safe point
 * @param busyNanos  time the carrier was awake (running fibers or looking for them) since it started
 * @param idleNanos  time it slept for lack of work; busy plus idle is the time since it started
 * @param wakeups    times another thread woke it from its sleep (work for it, or a timer due sooner)
 * @param pendingTimers timers waiting to fire on it now
 * @param schedulingDelay how long the fibers it ran had waited to run, sampled ({@link DelayHistogram})
 */
public record CarrierStats(String name, int queueDepth, long runs, long stolen, long sleeps, long ioWaits, long skippedReads, long timers,
                           long handoffs, long yieldRequests, long busyNanos, long idleNanos, long wakeups, int pendingTimers,
                           DelayHistogram schedulingDelay) {
}
