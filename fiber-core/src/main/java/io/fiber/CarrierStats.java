package io.fiber;

/**
 * A snapshot of one carrier loop.
 *
 * @param name       the carrier thread's name
 * @param queueDepth continuations waiting in its local queue and run-next slot
 * @param runs       continuations it has run (fiber starts plus resumptions after a park or yield)
 * @param stolen     continuations it took from other carriers' queues
 * @param sleeps     times it went to sleep for lack of work
 */
public record CarrierStats(String name, int queueDepth, long runs, long stolen, long sleeps) {
}
