package io.fiber.internal.carrier;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Which carriers sleep, and how many are searching for work: the two facts that decide whether a
 * submission must wake a carrier (Go's {@code pidle}/{@code nmspinning}, Tokio's {@code idle.rs}).
 *
 * <p>The wakeup handshake (Go's "delicate dance"). A submitter does: publish the task; full fence;
 * read {@link #searchers} and the idle bits. A carrier going to sleep does: stop searching
 * (decrement {@link #searchers}); set its idle bit; full fence; look at every queue once more.
 * Whichever side runs second sees the other's store, so either the carrier finds the task or the
 * submitter finds the sleeper: no wakeup is lost. A woken carrier is counted as a searcher by the
 * waker before it is unparked, so at most one wakeup is in flight while nobody searches. Carriers
 * start stealing only while fewer than half of them search (throttled stealing; a check, then an
 * increment, so racing carriers may pass it together); each carrier counts once at most, searching
 * or claimed, so the count stays between 0 and the number of carriers.
 */
final class IdleCarriers {
    private final AtomicLongArray idleBits;
    /**
     * How many idle bits are set, give or take the ones being changed: a bit is set before the
     * count goes up and cleared before it goes down, so a waker that claims a carrier between its
     * {@link #markIdle} steps takes the count to -1 for that moment. Only the fast path of
     * {@link #claimSleeperToWake} reads it, after its caller's fence, and a sleeper fences only
     * after its count went up, so a lagging count never hides a sleeper (see the handshake above).
     */
    private final AtomicInteger idleCount = new AtomicInteger();
    /** Carriers looking for work (stealing, or just woken); they will find a new task without a wakeup. */
    final AtomicInteger searchers = new AtomicInteger();

    IdleCarriers(int carriers) {
        idleBits = new AtomicLongArray((carriers + 63) >>> 6);
    }

    /** The carrier announces it is going to sleep. */
    void markIdle(int carrier) {
        int word = carrier >>> 6;
        long bit = 1L << carrier;
        long before = idleBits.getAndUpdate(word, w -> w | bit);
        assert (before & bit) == 0 : "carrier " + carrier + " marked idle twice: a wakeup claimed it, and its tryClearIdle was skipped";
        idleCount.incrementAndGet();
    }

    /** Clears the carrier's own idle bit; false when a waker already claimed (and unparked) it. */
    boolean tryClearIdle(int carrier) {
        int word = carrier >>> 6;
        long bit = 1L << carrier;
        for (;;) {
            long w = idleBits.get(word);
            if ((w & bit) == 0) {
                return false;
            }
            if (idleBits.compareAndSet(word, w, w & ~bit)) {
                idleCount.decrementAndGet();
                return true;
            }
        }
    }

    /** Claims one sleeping carrier (clears its bit) and returns its index, or -1 if none sleeps. */
    int claimAny() {
        for (int word = 0; word < idleBits.length(); word++) {
            for (;;) {
                long w = idleBits.get(word);
                if (w == 0) {
                    break;
                }
                long bit = Long.lowestOneBit(w);
                if (idleBits.compareAndSet(word, w, w & ~bit)) {
                    idleCount.decrementAndGet();
                    return (word << 6) + Long.numberOfTrailingZeros(bit);
                }
            }
        }
        return -1;
    }

    /**
     * After the caller published work and fenced: whether a sleeper should be woken, and if so
     * which. Returns -1 when a searcher exists (it will find the work) or nobody sleeps. The
     * returned carrier is already counted as a searcher.
     */
    int claimSleeperToWake() {
        if (searchers.get() != 0 || idleCount.get() == 0) {
            return -1;
        }
        if (!searchers.compareAndSet(0, 1)) {
            return -1;
        }
        int carrier = claimAny();
        if (carrier < 0) {
            stopSearching();
        }
        return carrier;
    }

    /** A searcher stops searching (it found work, or goes to sleep); returns how many still search. */
    int stopSearching() {
        int left = searchers.decrementAndGet();
        assert left >= 0 : "a carrier stopped searching without having started";
        return left;
    }
}
