package io.fiber.internal.carrier;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The fibers of a scheduler that have been spawned and not yet finished: what
 * a stopping scheduler cancels ({@link Carriers#stop}) and what termination waits for.
 *
 * <p>Spawning and finishing are the hottest paths of a fiber runtime, so this is neither a
 * concurrent hash set (hashing every fiber) nor a global counter (one contended cache line): it is
 * a power-of-two array of stripes, each an intrusive doubly-linked list threaded through
 * {@link FiberTask#liveNext}/{@link FiberTask#livePrev}, guarded by the stripe's monitor. A fiber's
 * stripe follows from its thread's id, so add and remove are O(1), and the fiber keeps no pointer to
 * its stripe (every fiber is kept until it is joined, and each young collection during a burst
 * copies it). Threads get consecutive ids, so consecutive spawns spread over the stripes.
 *
 * <p>Memory ordering: a spawner adds the fiber (monitor exit), then reads the scheduler state; a
 * shutdown writes the state, then scans the stripes (monitor enter). Monitor actions and volatile
 * accesses are totally ordered by the JMM, so either the spawner sees the shutdown or the scan sees
 * the fiber.
 */
final class LiveFibers {
    /**
     * One list. Its methods run under its monitor (taken by the callers beside them); they assert no
     * {@code Thread.holdsLock}, which reads false under Lincheck's model checker (it replaces
     * monitors with its own), where {@link LiveFibersLincheckTest} runs them.
     */
    private static final class Stripe {
        FiberTask head;
        int size;
        long added;

        void push(FiberTask fiber) {
            FiberTask first = head;
            fiber.liveNext = first;
            if (first != null) {
                first.livePrev = fiber;
            }
            head = fiber;
            size++;
            added++;
        }

        void unlink(FiberTask fiber) {
            // Unlinking a fiber that is not in this list would cut the list at its neighbours (or at the head).
            assert fiber.livePrev != null || head == fiber : "removed from the live set twice, or never added: " + fiber.owner();
            FiberTask prev = fiber.livePrev;
            FiberTask next = fiber.liveNext;
            if (prev != null) {
                prev.liveNext = next;
            } else {
                head = next;
            }
            if (next != null) {
                next.livePrev = prev;
            }
            fiber.livePrev = null;
            fiber.liveNext = null;
            size--;
        }
    }

    private final Stripe[] stripes;
    private final int mask;

    LiveFibers(int carriers) {
        int n = Integer.highestOneBit(Math.max(1, carriers) * 4 - 1) << 1;
        stripes = new Stripe[Math.min(n, 256)];
        mask = stripes.length - 1;
        for (int i = 0; i < stripes.length; i++) {
            stripes[i] = new Stripe();
        }
    }

    /** The stripe of a fiber, whose thread must be bound. */
    private Stripe stripeOf(FiberTask fiber) {
        return stripes[(int) fiber.thread().threadId() & mask];
    }

    void add(FiberTask fiber) {
        Stripe stripe = stripeOf(fiber);
        synchronized (stripe) {
            stripe.push(fiber);
        }
    }

    void remove(FiberTask fiber) {
        Stripe stripe = stripeOf(fiber);
        synchronized (stripe) {
            stripe.unlink(fiber);
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
            synchronized (stripe) {
                n += field.applyAsLong(stripe);
            }
        }
        return n;
    }

    boolean isEmpty() {
        for (Stripe stripe : stripes) {
            synchronized (stripe) {
                if (stripe.size != 0) {
                    return false;
                }
            }
        }
        return true;
    }

    /** Applies {@code action} to a snapshot of the live fibers, outside the stripes' locks. */
    void forEach(Consumer<FiberTask> action) {
        List<FiberTask> snapshot = new ArrayList<>();
        for (Stripe stripe : stripes) {
            synchronized (stripe) {
                for (FiberTask f = stripe.head; f != null; f = f.liveNext) {
                    snapshot.add(f);
                }
            }
        }
        snapshot.forEach(action);
    }
}
