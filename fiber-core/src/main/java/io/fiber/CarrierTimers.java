package io.fiber;

import java.util.Arrays;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.FutureTask;
import java.util.function.Consumer;

/**
 * A carrier loop's own timers (DESIGN.md section 4): the timed parks and sleeps of fibers running
 * on it, which the agent reroutes here from the JDK's {@code VirtualThread-unparker} threads. A timer
 * fires on the carrier that set it, so the fiber it wakes lands in that carrier's run-next slot with no
 * cross-thread hop, and the carrier sleeps in its reactor exactly until the earliest deadline.
 *
 * <p>A binary min-heap on the deadline, owned by the carrier thread: only the owner adds, removes
 * and fires. The JDK cancels a park's timer on the fiber once it resumes, which may be on another
 * carrier; such a foreign cancel only marks the timer (the {@link FutureTask} state) and queues it
 * in {@link #foreignCancels}, and the owner takes it out of the heap on its next visit. A cancelled
 * timer that fires anyway does nothing, so the hand-off only keeps the heap small.
 */
final class CarrierTimers {
    /** One timer: the JDK's runnable, its deadline ({@link System#nanoTime} based) and its heap slot. */
    final class Timer extends FutureTask<Void> {
        final long deadline;
        int heapIndex = -1;

        Timer(Runnable task, long deadline) {
            super(task, null);
            this.deadline = deadline;
        }

        @Override
        public boolean cancel(boolean mayInterruptIfRunning) {
            boolean cancelled = super.cancel(false);
            if (cancelled) {
                if (VirtualThreadHook.currentCarrierThread() == owner) {
                    remove(this);
                } else {
                    foreignCancels.add(this);
                }
            }
            return cancelled;
        }
    }

    private final Thread owner;
    private final ConcurrentLinkedQueue<Timer> foreignCancels = new ConcurrentLinkedQueue<>();
    private Timer[] heap = new Timer[64];
    private int size;
    /** Written by the owner only, read by {@link FiberScheduler#stats()} from anywhere. */
    private volatile long fired;

    CarrierTimers(Thread owner) {
        this.owner = owner;
    }

    /**
     * Owner thread only. Delays are capped at 2^62 ns (146 years) so that deadlines compare by
     * subtraction without overflow, whatever {@link System#nanoTime}'s origin.
     */
    Timer schedule(Runnable task, long delayNanos) {
        long delay = Math.min(Math.max(0, delayNanos), Long.MAX_VALUE >> 1);
        Timer timer = new Timer(task, System.nanoTime() + delay);
        if (size == heap.length) {
            heap = Arrays.copyOf(heap, size * 2);
        }
        timer.heapIndex = size;
        heap[size++] = timer;
        siftUp(timer.heapIndex);
        return timer;
    }

    /** Owner thread only: runs every timer whose deadline has passed; returns how many ran. */
    int fireExpired() {
        dropForeignCancels();
        if (size == 0) {
            return 0;
        }
        long now = System.nanoTime();
        int count = 0;
        while (size > 0 && heap[0].deadline - now <= 0) {
            Timer timer = heap[0];
            removeAt(0);
            // Counted before it runs: the woken fiber may end on another carrier, and whoever joined
            // it read the statistics, before this carrier gets past run().
            fired++; // single writer
            timer.run();
            count++;
        }
        return count;
    }

    /** Owner thread only: nanoseconds until the earliest deadline (at least 0), or -1 with no timer. */
    long nanosUntilNext() {
        dropForeignCancels();
        return size == 0 ? -1 : Math.max(0, heap[0].deadline - System.nanoTime());
    }

    int size() {
        return size;
    }

    /** Timers fired so far. */
    long fired() {
        return fired;
    }

    /**
     * Owner thread, when the carrier exits: hands every pending timer to {@code sink} so that a
     * virtual thread which outlives the scheduler still wakes up.
     */
    void drainTo(Consumer<Timer> sink) {
        dropForeignCancels();
        for (int i = 0; i < size; i++) {
            Timer timer = heap[i];
            heap[i] = null;
            timer.heapIndex = -1;
            sink.accept(timer);
        }
        size = 0;
    }

    private void dropForeignCancels() {
        for (Timer timer; (timer = foreignCancels.poll()) != null; ) {
            remove(timer);
        }
    }

    private void remove(Timer timer) {
        int i = timer.heapIndex;
        if (i >= 0 && i < size && heap[i] == timer) {
            removeAt(i);
        }
    }

    private void removeAt(int i) {
        Timer removed = heap[i];
        removed.heapIndex = -1;
        Timer last = heap[--size];
        heap[size] = null;
        if (i == size) {
            return;
        }
        heap[i] = last;
        last.heapIndex = i;
        siftDown(i);
        if (heap[i] == last) {
            siftUp(i);
        }
    }

    private void siftUp(int i) {
        Timer timer = heap[i];
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            Timer p = heap[parent];
            if (p.deadline - timer.deadline <= 0) {
                break;
            }
            heap[i] = p;
            p.heapIndex = i;
            i = parent;
        }
        heap[i] = timer;
        timer.heapIndex = i;
    }

    private void siftDown(int i) {
        Timer timer = heap[i];
        int half = size >>> 1;
        while (i < half) {
            int child = 2 * i + 1;
            int right = child + 1;
            if (right < size && heap[right].deadline - heap[child].deadline < 0) {
                child = right;
            }
            Timer c = heap[child];
            if (timer.deadline - c.deadline <= 0) {
                break;
            }
            heap[i] = c;
            c.heapIndex = i;
            i = child;
        }
        heap[i] = timer;
        timer.heapIndex = i;
    }
}
