package io.fiber.internal.carrier;

import io.fiber.internal.jdk.VirtualThreadHook;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A carrier's local run queue: a bounded single-producer, multi-consumer ring, after Go's
 * {@code runq} (proc.go) and Tokio's {@code queue.rs}.
 *
 * <p>Only the owning carrier pushes (at {@code tail}); the owner pops and other carriers steal
 * (both at {@code head}). Invariants:
 * <ul>
 *   <li>{@code tail} is written by the owner alone, with release semantics after the slot is
 *       filled, so a consumer that reads {@code tail} with acquire sees the slots below it.</li>
 *   <li>{@code head} only moves forward, by CAS. A consumer reads the slots first and claims them
 *       with the CAS afterwards; the owner never overwrites a slot until {@code head} has moved past
 *       it, so a consumer whose CAS succeeds read live entries, and one whose CAS fails retries.</li>
 *   <li>{@code 0 <= tail - head <= CAPACITY} (int arithmetic that wraps consistently).</li>
 * </ul>
 * A full ring never blocks: {@link #offer} returns false and the owner moves half of the ring
 * plus the new task to the scheduler's inject queue ({@link #drainHalfTo}).
 */
final class RunQueue {
    static final int CAPACITY = 256;
    private static final int MASK = CAPACITY - 1;
    private static final VarHandle HEAD;
    private static final VarHandle TAIL;
    private static final VarHandle SLOTS = MethodHandles.arrayElementVarHandle(Runnable[].class);

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            HEAD = l.findVarHandle(RunQueue.class, "head", int.class);
            TAIL = l.findVarHandle(RunQueue.class, "tail", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Runnable[] slots = new Runnable[CAPACITY];
    @SuppressWarnings("unused") private volatile int head;
    @SuppressWarnings("unused") private volatile int tail;
    /**
     * The owner, recorded by the first owner-only call and then compared in asserts only: the
     * carrier's OS thread, since the owner's calls also come from a fiber mounted on it. Plain, as
     * only the owner writes it (a wrong first caller is caught by the owner's next call).
     */
    private Thread owner;

    /** Owner only. Appends {@code task}; false when the ring is full. */
    boolean offer(Runnable task) {
        assert calledByOwner();
        int h = (int) HEAD.getAcquire(this);
        int t = (int) TAIL.getOpaque(this);
        assert t - h >= 0 && t - h <= CAPACITY : "head " + h + ", tail " + t;
        if (t - h >= CAPACITY) {
            return false;
        }
        SLOTS.setOpaque(slots, t & MASK, task);
        TAIL.setRelease(this, t + 1);
        return true;
    }

    /** Owner only. Removes the oldest task, or returns null when empty. */
    Runnable poll() {
        assert calledByOwner();
        for (;;) {
            int h = (int) HEAD.getAcquire(this);
            int t = (int) TAIL.getOpaque(this);
            assert t - h >= 0 && t - h <= CAPACITY : "head " + h + ", tail " + t;
            if (t == h) {
                return null;
            }
            Runnable task = (Runnable) SLOTS.getOpaque(slots, h & MASK);
            if (HEAD.compareAndSet(this, h, h + 1)) {
                return task;
            }
        }
    }

    /** Any thread. Removes the oldest task, or returns null when empty (a handoff empties a queue so). */
    Runnable stealOne() {
        for (;;) {
            int h = (int) HEAD.getAcquire(this);
            int t = (int) TAIL.getAcquire(this);
            if (t - h <= 0) {
                return null;
            }
            Runnable task = (Runnable) SLOTS.getOpaque(slots, h & MASK);
            if (HEAD.compareAndSet(this, h, h + 1)) {
                return task;
            }
        }
    }

    /**
     * Any thread. Moves half of this ring (rounded up) into {@code into}, the caller's own queue,
     * which must have room for it (empty, or under half as full as this one), and returns one of the
     * stolen tasks to run now (null if nothing was there to steal).
     */
    Runnable stealInto(RunQueue into) {
        Runnable[] batch = new Runnable[CAPACITY / 2];
        for (;;) {
            int h = (int) HEAD.getAcquire(this);
            int t = (int) TAIL.getAcquire(this);
            int n = t - h;
            n = n - n / 2;
            if (n <= 0) {
                return null;
            }
            if (n > batch.length) {
                continue; // a torn read of head/tail: the owner moved on; read again
            }
            for (int i = 0; i < n; i++) {
                batch[i] = (Runnable) SLOTS.getOpaque(slots, (h + i) & MASK);
            }
            if (HEAD.compareAndSet(this, h, h + n)) {
                for (int i = 1; i < n; i++) {
                    into.offer(batch[i]); // cannot fail: the caller guarantees room
                }
                return batch[0];
            }
        }
    }

    /**
     * Owner only, when {@link #offer} failed: claims the older half of the ring and hands it, then
     * {@code extra}, to {@code sink}. Returns false if consumers emptied the ring meanwhile, in
     * which case the caller should simply offer again.
     */
    boolean drainHalfTo(Runnable extra, java.util.function.Consumer<Runnable> sink) {
        assert calledByOwner();
        int h = (int) HEAD.getAcquire(this);
        int t = (int) TAIL.getOpaque(this);
        assert t - h >= 0 && t - h <= CAPACITY : "head " + h + ", tail " + t;
        int n = (t - h) / 2;
        if (n < CAPACITY / 2) {
            return false;
        }
        Runnable[] batch = new Runnable[n];
        for (int i = 0; i < n; i++) {
            batch[i] = (Runnable) SLOTS.getOpaque(slots, (h + i) & MASK);
        }
        if (!HEAD.compareAndSet(this, h, h + n)) {
            return false;
        }
        for (Runnable r : batch) {
            sink.accept(r);
        }
        sink.accept(extra);
        return true;
    }

    /** Any thread. A snapshot of the number of queued tasks. */
    int size() {
        int h = (int) HEAD.getAcquire(this);
        int t = (int) TAIL.getAcquire(this);
        int n = t - h;
        return Math.max(0, Math.min(n, CAPACITY));
    }

    boolean isEmpty() {
        return size() == 0;
    }

    /**
     * For asserts: whether the caller is this ring's owner, the first thread that called an
     * owner-only method. The owner reads its own {@code tail} without acquire and fills slots
     * that another producer could fill at the same index: a second producer would lose tasks.
     */
    private boolean calledByOwner() {
        Thread me = Thread.currentThread();
        if (me.isVirtual()) {
            me = VirtualThreadHook.currentCarrierThread();
        }
        if (owner == null) {
            owner = me;
        }
        return owner == me;
    }
}
