package io.fiber.internal.carrier;

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
 * <p>A stripe's lock is a {@link SpinLock}, not its monitor: a fiber removes itself as it finishes,
 * on its virtual thread, while a platform thread spawning from outside adds, and a virtual thread
 * that meets a held monitor is unmounted (see there why that is too dear). The stripes are padded
 * apart, so two of them never share a cache line, and there are at least {@value #MIN_STRIPES}.
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

    /** One list. Its list methods run with its lock held (taken by the callers beside them). */
    @SuppressWarnings("unused")
    private static final class Stripe extends SpinLock {
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
