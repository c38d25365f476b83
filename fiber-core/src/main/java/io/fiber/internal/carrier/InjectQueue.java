package io.fiber.internal.carrier;

import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The scheduler's global queue: continuations submitted from threads that are not its carriers
 * (spawns from outside, wakeups from JDK timer and poller threads and from platform threads) and
 * continuations that carriers moved off their local queues. Any carrier takes from it.
 *
 * <p>Three lanes, which the carriers take in turns ({@code CarrierLoop.pollInjectTakingTurns}), so
 * none waits for the whole of another:
 * <ul>
 *   <li>{@link #WOKEN}: fibers that had started, made runnable by another thread (a timer thread
 *       ending a sleep, a poller, a platform thread's unpark);</li>
 *   <li>{@link #FRESH}: new fibers from outside;</li>
 *   <li>{@link #UNDERWAY}: whatever a carrier had taken on and moves off again ({@link #offerUnderway}):
 *       the overflow of a full local queue, a handed-off carrier's queue, a fiber asked to yield.</li>
 * </ul>
 * In one FIFO a burst of 100,000 spawns would put every timer wakeup and every cancellation 100,000
 * places back in line (the demo's 1-5 ms sleepers woke up to 570 ms late); with work under way always
 * first, a steady stream of wakeups from another thread left the new fibers waiting for a carrier to
 * run dry (seconds, for the workers a server's dispatcher thread started). What a carrier moves off
 * was ahead of everything still in this queue, and its fibers belong to work in progress even when
 * they have not started (the forks of a scope with a deadline, the handlers an acceptor fiber
 * spawned): behind a burst of new fibers from another thread they waited for the whole burst,
 * seconds, past the scope's deadline. And a wakeup from another thread shared the lane of work under
 * way, where a fiber's own burst of spawns overflows: a fiber sleeping 1 ms without the agent (the
 * JDK's timer thread unparks it) waited behind tens of thousands of them ({@code SpawnBurstTest}).
 *
 * <p>Each lane is a linearizable FIFO; {@link #poll}, {@link #isEmpty} and the lane order across
 * them are not atomic: they read one lane, then the others, and may report an empty queue while
 * tasks move through it. A task in the queue throughout the call is always seen, and whoever offers
 * one during the call wakes a sleeper after it ({@link IdleCarriers}), so no task is stranded.
 */
final class InjectQueue {
    static final int WOKEN = 0;
    static final int FRESH = 1;
    static final int UNDERWAY = 2;
    static final int LANES = 3;

    private final ConcurrentLinkedQueue<Runnable> woken = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<Runnable> fresh = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<Runnable> underway = new ConcurrentLinkedQueue<>();

    /** A submission from outside the carriers: a fiber that has not started is new, any other continuation was woken. */
    void offer(Runnable task) {
        (task instanceof FiberTask t && !t.hasStarted() ? fresh : woken).offer(task);
    }

    /** A continuation a carrier had taken on (queued locally, or running) and moves to this queue. */
    void offerUnderway(Runnable task) {
        underway.offer(task);
    }

    /** In lane order: for draining, where the order does not matter. */
    Runnable poll() {
        return poll(WOKEN);
    }

    /** From lane {@code firstLane} first, then the lanes after it in turn. */
    Runnable poll(int firstLane) {
        assert firstLane >= 0 && firstLane < LANES : "no lane " + firstLane;
        for (int i = 0; i < LANES; i++) {
            Runnable task = lane((firstLane + i) % LANES).poll();
            if (task != null) {
                return task;
            }
        }
        return null;
    }

    /** A new fiber from outside only, or null. */
    Runnable pollFresh() {
        return fresh.poll();
    }

    /** Fibers that had started only (woken, then under way), never a new fiber. */
    Runnable pollStarted() {
        Runnable task = woken.poll();
        return task != null ? task : underway.poll();
    }

    private ConcurrentLinkedQueue<Runnable> lane(int lane) {
        return switch (lane) {
            case WOKEN -> woken;
            case FRESH -> fresh;
            default -> underway;
        };
    }

    boolean isEmpty() {
        return woken.isEmpty() && fresh.isEmpty() && underway.isEmpty();
    }

    /** O(n): for statistics only. The hot paths keep no size counter, which would bounce between cores on every submit. */
    int size() {
        return woken.size() + fresh.size() + underway.size();
    }
}
