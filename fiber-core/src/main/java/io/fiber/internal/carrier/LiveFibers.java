package io.fiber.internal.carrier;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;

/**
 * The fibers of a scheduler that have been spawned and not yet finished: what
 * a stopping scheduler cancels ({@link Carriers#stop}) and what termination waits for.
 *
 * <p>Spawning and finishing are the hottest paths of a fiber runtime, so this is neither a
 * concurrent hash set (hashing every fiber) nor a global counter (one contended cache line): it is
 * a power-of-two array of stripes, each a dense array of fibers guarded by the stripe's own lock
 * word. A fiber goes to a random stripe and remembers it and its slot, so add and remove are O(1)
 * and rarely contended.
 *
 * <p>Why arrays and not a linked list through the fibers (as this once was): a spawner that runs
 * ahead of the carriers leaves hundreds of thousands of fibers live, and a young collection copies a
 * linked list one node after the other (a chain gives the parallel GC threads nothing to split),
 * while an array is scanned in parallel chunks. With a million outstanding fibers the list made the
 * collector's pauses the largest cost of a spawn.
 *
 * <p>Why a spin lock and not the stripe's monitor: a fiber removes itself as it finishes, on its
 * virtual thread, while a platform thread spawning from outside adds. A virtual thread that meets a
 * held monitor (JDK 24 and later) is unmounted: its frames are copied to a new stack chunk on the
 * heap and a JDK thread later submits it again. With one spawner and the carriers finishing fibers
 * as fast as it spawns, that happened often enough to cost more than everything else a spawn does
 * (and to fill the young generation with stack chunks); a critical section here is a few field
 * writes, which a spin of a few iterations outlasts. The stripes are padded apart, so two of them
 * never share a cache line, and there are at least {@value #MIN_STRIPES} of them.
 *
 * <p>Memory ordering: a spawner adds the fiber (lock CAS, volatile unlock), then reads the
 * scheduler state; a shutdown writes the state, then scans the stripes (lock CAS each). All of
 * these are synchronization actions, totally ordered by the JMM, so either the spawner sees the
 * shutdown or the scan sees the fiber.
 */
final class LiveFibers {
    /** Fewest stripes, whatever the carrier count (a power of two): one spawner and two carriers already collided often in 8. */
    static final int MIN_STRIPES = 64;
    private static final int INITIAL_SLOTS = 16;
    private static final VarHandle LOCK;

    static {
        try {
            LOCK = MethodHandles.lookup().findVarHandle(Stripe.class, "lock", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Before the fields of a {@link Stripe}: a cache line of padding, so no two stripes share one. */
    @SuppressWarnings("unused")
    private static class Padding {
        long p0, p1, p2, p3, p4, p5, p6, p7;
    }

    /** One list. Its list methods run with its lock held ({@link #lock}/{@link #unlock}, taken by the callers beside them). */
    @SuppressWarnings("unused")
    private static final class Stripe extends Padding {
        /** 0 free, 1 held. */
        volatile int lock;
        /** The stripe's fibers in slots 0 to size - 1, each knowing its slot ({@link FiberTask#liveSlot}). */
        FiberTask[] fibers = new FiberTask[INITIAL_SLOTS];
        int size;
        long added;

        void push(FiberTask fiber) {
            if (size == fibers.length) {
                fibers = Arrays.copyOf(fibers, size * 2);
            }
            fiber.liveSlot = size;
            fibers[size++] = fiber;
            added++;
        }

        /** Moves the last fiber into the leaving one's slot: O(1), and the array stays dense. */
        void unlink(FiberTask fiber) {
            int slot = fiber.liveSlot;
            assert slot >= 0 && slot < size && fibers[slot] == fiber : "removed from the live set twice, or never added: " + fiber.owner();
            FiberTask last = fibers[--size];
            fibers[slot] = last;
            last.liveSlot = slot;
            fibers[size] = null;
            fiber.liveSlot = -1;
            if (size < fibers.length / 4 && fibers.length > INITIAL_SLOTS) {
                fibers = Arrays.copyOf(fibers, fibers.length / 2); // a burst's million slots are not kept for good
            }
        }

        void lock() {
            if (!LOCK.compareAndSet(this, 0, 1)) {
                lockContended();
            }
        }

        /**
         * Spins, yielding now and then: the holder may be a platform thread the OS descheduled
         * inside its few writes, and on a fiber {@code Thread.yield} lets its carrier run that thread's
         * peers meanwhile rather than spin a whole time slice.
         */
        private void lockContended() {
            for (int spins = 1; ; spins++) {
                if (lock == 0 && LOCK.compareAndSet(this, 0, 1)) {
                    return;
                }
                if ((spins & 63) == 0) {
                    Thread.yield();
                } else {
                    Thread.onSpinWait();
                }
            }
        }

        void unlock() {
            lock = 0; // a volatile write, not a release: the Dekker pair above needs it ordered before the state read
        }

        long q0, q1, q2, q3, q4, q5, q6, q7; // after the fields: the next stripe's lock word is a line away
    }

    private final Stripe[] stripes;

    LiveFibers(int carriers) {
        this(carriers, MIN_STRIPES);
    }

    /** With {@code minStripes} below {@value #MIN_STRIPES}: for the model checker, whose hang detector takes 64 stripes' loops for a livelock. */
    LiveFibers(int carriers, int minStripes) {
        int perCarriers = Integer.highestOneBit(Math.max(1, carriers) * 16 - 1) << 1; // 16 a carrier, a power of two
        stripes = new Stripe[Math.min(Math.max(perCarriers, minStripes), 1024)];
        for (int i = 0; i < stripes.length; i++) {
            stripes[i] = new Stripe();
        }
    }

    void add(FiberTask fiber) {
        Stripe stripe = stripes[ThreadLocalRandom.current().nextInt() & (stripes.length - 1)];
        fiber.liveStripe = stripe;
        stripe.lock();
        try {
            stripe.push(fiber);
        } finally {
            stripe.unlock();
        }
    }

    void remove(FiberTask fiber) {
        Stripe stripe = (Stripe) fiber.liveStripe;
        stripe.lock();
        try {
            stripe.unlink(fiber);
        } finally {
            stripe.unlock();
        }
    }

    long size() {
        return sum(stripe -> stripe.size);
    }

    /** Fibers ever added: counted here, under a lock already taken, rather than in a shared counter. */
    long added() {
        return sum(stripe -> stripe.added);
    }

    private long sum(java.util.function.ToLongFunction<Stripe> field) {
        long n = 0;
        for (Stripe stripe : stripes) {
            stripe.lock();
            try {
                n += field.applyAsLong(stripe);
            } finally {
                stripe.unlock();
            }
        }
        return n;
    }

    boolean isEmpty() {
        for (Stripe stripe : stripes) {
            stripe.lock();
            try {
                if (stripe.size != 0) {
                    return false;
                }
            } finally {
                stripe.unlock();
            }
        }
        return true;
    }

    /** Applies {@code action} to a snapshot of the live fibers, outside the stripes' locks. */
    void forEach(Consumer<FiberTask> action) {
        List<FiberTask> snapshot = new ArrayList<>();
        for (Stripe stripe : stripes) {
            stripe.lock();
            try {
                snapshot.addAll(Arrays.asList(stripe.fibers).subList(0, stripe.size));
            } finally {
                stripe.unlock();
            }
        }
        snapshot.forEach(action);
    }
}
