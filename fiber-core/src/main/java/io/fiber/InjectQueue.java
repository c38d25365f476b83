package io.fiber;

import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The scheduler's global queue: continuations submitted from threads that are not its carriers
 * (spawns from outside, wakeups from JDK timer and poller threads and from platform threads) and the
 * overflow of full local queues. Any carrier takes from it.
 *
 * <p>Two lanes, so finishing work goes before starting work: resumed fibers before new ones.
 * Otherwise a burst of 100,000 spawns would put every timer wakeup and every cancellation 100,000
 * places back in line (the demo's 1-5 ms sleepers woke up to 570 ms late; with the lanes, about
 * 20 ms). New fibers cannot starve: a carrier that runs dry takes them, and the periodic check
 * alternates lanes.
 */
final class InjectQueue {
    private final ConcurrentLinkedQueue<Runnable> resumed = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<Runnable> fresh = new ConcurrentLinkedQueue<>();

    void offer(Runnable task) {
        (task instanceof FiberTask t && !t.hasStarted() ? fresh : resumed).offer(task);
    }

    /**
     * A continuation that held its carrier until asked to yield: at the back of the new fibers' lane,
     * so it runs after everything that was waiting, as Go puts a preempted goroutine at the tail of
     * its global queue.
     */
    void offerLast(Runnable task) {
        fresh.offer(task);
    }

    /** Resumed continuations first, then new fibers. */
    Runnable poll() {
        return poll(false);
    }

    Runnable poll(boolean freshFirst) {
        Runnable task = freshFirst ? fresh.poll() : resumed.poll();
        if (task == null) {
            task = freshFirst ? resumed.poll() : fresh.poll();
        }
        return task;
    }

    boolean isEmpty() {
        return resumed.isEmpty() && fresh.isEmpty();
    }

    /** O(n): for statistics only. The hot paths keep no size counter, which would bounce between cores on every submit. */
    int size() {
        return resumed.size() + fresh.size();
    }
}
