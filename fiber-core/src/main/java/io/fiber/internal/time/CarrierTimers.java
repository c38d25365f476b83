package io.fiber.internal.time;

import io.fiber.internal.jdk.VirtualThreadHook;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.FutureTask;
import java.util.function.Consumer;

/**
 * A carrier loop's own timers (docs/design.md section 4): the timed parks and sleeps of fibers running
 * on it, which the agent reroutes here from the JDK's {@code VirtualThread-unparker} threads. A timer
 * fires on the carrier that set it, so the fiber it wakes lands in that carrier's run-next slot with no
 * cross-thread hop, and the carrier sleeps in its reactor exactly until the earliest deadline.
 *
 * <p>A binary min-heap on the deadline, guarded by a lock that is uncontended in the common case:
 * the carrier adds and fires, and the JDK cancels a park's timer from whichever carrier the fiber
 * resumed on. The lock is what lets a handoff (docs/design.md section 5) give the heap to a
 * replacement carrier while the blocked one may still add to it; a timer added by any thread but
 * the firing carrier's, that becomes the earliest, wakes that carrier so it recomputes how long to
 * sleep. Expired timers run outside the lock.
 *
 * <p>Nobody queues for the lock ({@link #lock()} spins on {@code tryLock}): its holders only
 * touch the heap, so a wait is short, while a queue would mix carriers and fibers. A fiber queued
 * for a lock is unmounted, and a carrier queued behind it waits for a fiber that may need that
 * carrier to run (what hung {@code EpollReactor}'s close behind a fiber's wakeup).
 */
public final class CarrierTimers {
    /**
     * One timer: the JDK's runnable, its deadline ({@link System#nanoTime} based) and its heap slot.
     * It fires or is cancelled, never both: {@code FutureTask.cancel(false)} succeeds while the task
     * runs (its state stays NEW until the run sets the outcome), so a cancel racing the firing
     * carrier returned true for a timer that ran anyway. The {@link #claimed} flag decides instead.
     */
    public final class Timer extends FutureTask<Void> {
        private static final VarHandle CLAIMED;

        static {
            try {
                CLAIMED = MethodHandles.lookup().findVarHandle(Timer.class, "claimed", boolean.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        private final long deadline;
        /** Set once, by the firing ({@link #run}) or by a successful {@link #cancel}, whichever comes first. */
        private volatile boolean claimed;
        /** The fiber whose timed park or sleep it ends, or null: for the fiber dump. */
        private final Thread wakes;
        int heapIndex = -1;

        Timer(Runnable task, long deadline, Thread wakes) {
            super(task, null);
            this.deadline = deadline;
            this.wakes = wakes;
        }

        /** The fiber whose timed park or sleep it ends, or null for any other timer. */
        public Thread wakes() {
            return wakes;
        }

        /** When it fires, on the {@link System#nanoTime} scale. */
        public long deadline() {
            return deadline;
        }

        @Override
        public void run() {
            if (CLAIMED.compareAndSet(this, false, true)) {
                super.run();
            }
        }

        /** True if the timer will not fire: it had not begun to; false if it has fired or is firing, or was cancelled before. */
        @Override
        public boolean cancel(boolean mayInterruptIfRunning) {
            if (!CLAIMED.compareAndSet(this, false, true)) {
                return false;
            }
            super.cancel(false);
            remove(this);
            return true;
        }
    }

    private static final Timer[] NONE = new Timer[0];
    private final ReentrantLock lock = new ReentrantLock();
    private Timer[] heap = new Timer[64];
    private int size;
    /** {@link #size}, written under the lock, read by the watchdog and statistics from anywhere. */
    private volatile int pending;
    /** Written under the lock, read by statistics from anywhere. */
    private volatile long fired;
    /** The earliest deadline, or Long.MAX_VALUE with no timer: lets the carrier check for expiry without the lock. */
    private volatile long earliest = Long.MAX_VALUE;
    /**
     * The thread that fires these timers (a carrier's, or its replacement's after a handoff) and
     * how to wake it: a timer that another thread adds and that becomes the earliest must shorten
     * that thread's sleep.
     */
    private volatile Firer firer;

    private record Firer(Thread thread, Runnable wake) { }

    /** Called by the carrier that fires these timers, and again by its replacement after a handoff. */
    public void firedBy(Thread thread, Runnable wake) {
        firer = new Firer(thread, wake);
    }

    /**
     * Delays are capped at 2^62 ns (146 years) so that deadlines compare by subtraction without
     * overflow, whatever {@link System#nanoTime}'s origin.
     */
    public Timer schedule(Runnable task, long delayNanos) {
        return schedule(task, delayNanos, null);
    }

    /** {@link #schedule(Runnable, long)} for a timer that ends {@code fiber}'s timed park or sleep. */
    public Timer schedule(Runnable task, long delayNanos, Thread fiber) {
        long delay = Math.min(Math.max(0, delayNanos), Long.MAX_VALUE >> 1);
        Timer timer = new Timer(task, System.nanoTime() + delay, fiber);
        boolean first;
        lock();
        try {
            if (size == heap.length) {
                heap = Arrays.copyOf(heap, size * 2);
            }
            timer.heapIndex = size;
            heap[size++] = timer;
            siftUp(timer.heapIndex);
            first = heap[0] == timer;
            noteChange();
        } finally {
            lock.unlock();
        }
        Firer f = firer;
        if (first && f != null && VirtualThreadHook.currentCarrierThread() != f.thread) {
            f.wake.run();
        }
        return timer;
    }

    /** The firing carrier: runs every timer whose deadline has passed; returns how many ran. */
    public int fireExpired() {
        Timer[] expired = takeExpired();
        for (Timer timer : expired) {
            timer.run();
        }
        return expired.length;
    }

    /** Whether the earliest timer is due (no lock; a carrier asks between every two runs). */
    public boolean anyExpired() {
        long e = earliest;
        return e != Long.MAX_VALUE && e - System.nanoTime() <= 0;
    }

    /** Takes the lock without queuing for it; see the class comment. */
    private void lock() {
        for (int spins = 0; !lock.tryLock(); spins++) {
            if (spins < 100) {
                Thread.onSpinWait();
            } else {
                Thread.yield(); // the holder may be a thread the OS has descheduled
            }
        }
    }

    /** Under the lock, after the heap changed. */
    private void noteChange() {
        assert lock.isHeldByCurrentThread();
        earliest = size == 0 ? Long.MAX_VALUE : heap[0].deadline;
        pending = size;
    }

    private Timer[] takeExpired() {
        lock();
        try {
            if (size == 0) {
                return NONE;
            }
            long now = System.nanoTime();
            if (heap[0].deadline - now > 0) {
                return NONE;
            }
            Timer[] expired = new Timer[4];
            int count = 0;
            while (size > 0 && heap[0].deadline - now <= 0) {
                if (count == expired.length) {
                    expired = Arrays.copyOf(expired, count * 2);
                }
                expired[count++] = heap[0];
                removeAt(0);
            }
            noteChange();
            fired += count; // under the lock, and before they run: a woken fiber may end, and its joiner read the statistics, first
            return count == expired.length ? expired : Arrays.copyOf(expired, count);
        } finally {
            lock.unlock();
        }
    }

    /** Nanoseconds until the earliest deadline (at least 0), or -1 with no timer. */
    public long nanosUntilNext() {
        long e = earliest;
        return e == Long.MAX_VALUE ? -1 : Math.max(0, e - System.nanoTime());
    }

    /** Timers waiting to fire; read racily. */
    public int size() {
        return pending;
    }

    /** Passes every pending timer to {@code action}, under the lock: for the fiber dump. */
    public void forEachPending(Consumer<Timer> action) {
        lock();
        try {
            for (int i = 0; i < size; i++) {
                action.accept(heap[i]);
            }
        } finally {
            lock.unlock();
        }
    }

    /** Timers fired so far. */
    public long fired() {
        return fired;
    }

    /**
     * When the carrier exits: hands every pending timer to {@code sink} so that a virtual thread
     * which outlives the scheduler still wakes up.
     */
    public void drainTo(Consumer<Timer> sink) {
        Timer[] drained;
        lock();
        try {
            drained = Arrays.copyOf(heap, size);
            for (int i = 0; i < size; i++) {
                heap[i].heapIndex = -1;
                heap[i] = null;
            }
            size = 0;
            noteChange();
        } finally {
            lock.unlock();
        }
        for (Timer timer : drained) {
            sink.accept(timer);
        }
    }

    private void remove(Timer timer) {
        lock();
        try {
            int i = timer.heapIndex;
            if (i >= 0 && i < size && heap[i] == timer) {
                removeAt(i);
                noteChange();
            }
        } finally {
            lock.unlock();
        }
    }

    private void removeAt(int i) {
        assert lock.isHeldByCurrentThread();
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
        assert lock.isHeldByCurrentThread();
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
        assert lock.isHeldByCurrentThread();
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
