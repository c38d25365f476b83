package io.fiber.internal.carrier;

import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The scheduler's global queue: continuations submitted from threads that are not its carriers
 * (spawns from outside, wakeups from JDK timer and poller threads and from platform threads) and
 * continuations that carriers moved off their local queues. Any carrier takes from it.
 *
 * <p>Two lanes, work under way and new fibers from outside, which the carriers take in turns
 * ({@code CarrierLoop.pollInjectTakingTurns}), so neither waits for the whole of the other. In one
 * FIFO a burst of 100,000 spawns would put every timer wakeup and every cancellation 100,000 places
 * back in line (the demo's 1-5 ms sleepers woke up to 570 ms late); with work under way always first,
 * a steady stream of wakeups from another thread left the new fibers waiting for a carrier to run
 * dry (seconds, for the workers a server's dispatcher thread started).
 *
 * <p>Under way is also whatever a carrier had taken on and moves off again ({@link #offerUnderway}):
 * the overflow of a full local queue, a handed-off carrier's queue, a fiber
 * asked to yield. Those were ahead of everything still in this queue, and their fibers belong to
 * work in progress even when they have not started: the forks of a scope with a deadline, the
 * handlers an acceptor fiber spawned. Behind a burst of new fibers from another thread they waited
 * for the whole burst: seconds, past the scope's deadline.
 *
 * <p>Each lane is a linearizable FIFO; {@link #poll}, {@link #isEmpty} and the lane order across
 * both are not atomic: they read one lane, then the other, and may report an empty queue while
 * tasks move through it. A task in the queue throughout the call is always seen, and whoever offers
 * one during the call wakes a sleeper after it ({@link IdleCarriers}), so no task is stranded.
 */
final class InjectQueue {
    private final ConcurrentLinkedQueue<Runnable> underway = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<Runnable> fresh = new ConcurrentLinkedQueue<>();

    /** A submission from outside the carriers: a fiber that has not started is new, any other continuation is under way. */
    void offer(Runnable task) {
        (task instanceof FiberTask t && !t.hasStarted() ? fresh : underway).offer(task);
    }

    /** A continuation a carrier had taken on (queued locally, or running) and moves to this queue. */
    void offerUnderway(Runnable task) {
        underway.offer(task);
    }

    /** Work under way first, then new fibers: for draining, where the order does not matter. */
    Runnable poll() {
        return poll(false);
    }

    /** From the new fibers' lane first if {@code freshFirst}, else from the work under way first. */
    Runnable poll(boolean freshFirst) {
        Runnable task = freshFirst ? fresh.poll() : underway.poll();
        if (task == null) {
            task = freshFirst ? underway.poll() : fresh.poll();
        }
        return task;
    }

    /** Work under way only, never a new fiber. */
    Runnable pollUnderway() {
        return underway.poll();
    }

    boolean isEmpty() {
        return underway.isEmpty() && fresh.isEmpty();
    }

    /** O(n): for statistics only. The hot paths keep no size counter, which would bounce between cores on every submit. */
    int size() {
        return underway.size() + fresh.size();
    }
}
