package io.fiber.internal.carrier;

/**
 * An unbounded FIFO of continuations in fixed arrays linked as they fill: each lane of the
 * {@link InjectQueue}. A two-lock queue (Michael and Scott's, with array chunks for nodes): offers
 * take {@link #putLock}, polls take {@link #takeLock}, and the two sides meet only at the
 * {@link #put} count and a chunk's {@code next} link, so a spawner and the carriers taking its
 * fibers do not contend.
 *
 * <p>Why not a {@code ConcurrentLinkedQueue}: it allocates a node per offer, and a spawner that runs
 * ahead of the carriers (a million fibers from {@code main}) leaves a chain of a million nodes that
 * each young collection copies one by one (a chain gives the parallel GC threads nothing to split);
 * every node is also a cache line the taking carrier misses. Here an offer writes one array slot,
 * and a carrier reads sixteen slots per cache line.
 *
 * <p>Publication: an offer writes the slot, then increments the volatile {@link #put}; a poll reads
 * {@code put} before the slot, so it never sees a counted slot empty. {@link #isEmpty} reads
 * {@link #taken} before {@code put}, so an element in the queue for the whole call is always seen.
 * Taken slots are cleared, and chunks the taker has left become garbage.
 */
final class ChunkedQueue {
    static final int CHUNK = 256;

    private static final class Chunk {
        final Runnable[] slots;
        volatile Chunk next;

        Chunk(int size) {
            slots = new Runnable[size];
        }
    }

    private final int chunk;

    private final SpinLock putLock = new SpinLock.Padded();
    private final SpinLock takeLock = new SpinLock.Padded();
    /** Guarded by {@link #putLock}. */
    private Chunk tail;
    private int tailSlot;
    /** Guarded by {@link #takeLock}. */
    private Chunk head;
    private int headSlot;
    /** Elements ever offered; written under {@link #putLock}. */
    private volatile long put;
    /** Elements ever taken; written under {@link #takeLock}. */
    private volatile long taken;

    ChunkedQueue() {
        this(CHUNK);
    }

    /** With chunks of {@code chunk} slots: small ones let a model checker cross their boundaries. */
    ChunkedQueue(int chunk) {
        this.chunk = chunk;
        head = tail = new Chunk(chunk);
    }

    void offer(Runnable task) {
        assert task != null;
        Chunk fresh = null;
        if (tailSlot == chunk) { // a racy hint: allocate outside the lock, where an OutOfMemoryError leaves nothing half done
            fresh = new Chunk(chunk);
        }
        putLock.lock();
        try {
            if (tailSlot == chunk) {
                Chunk next = fresh != null ? fresh : new Chunk(chunk);
                tail.next = next;
                tail = next;
                tailSlot = 0;
            }
            tail.slots[tailSlot++] = task;
            put = put + 1;
        } finally {
            putLock.unlock();
        }
    }

    /** The oldest element, or null when empty. */
    Runnable poll() {
        if (isEmpty()) {
            return null; // no lock for an empty lane: carriers look at it on every idle pass
        }
        takeLock.lock();
        try {
            if (taken == put) {
                return null;
            }
            if (headSlot == chunk) {
                head = head.next; // linked before its first slot was counted in put
                headSlot = 0;
            }
            Runnable task = head.slots[headSlot];
            assert task != null : "a counted slot was empty";
            head.slots[headSlot++] = null;
            taken = taken + 1;
            return task;
        } finally {
            takeLock.unlock();
        }
    }

    boolean isEmpty() {
        long t = taken;
        return put == t;
    }

    /** Exact when nothing moves; otherwise an estimate. */
    int size() {
        long t = taken;
        return (int) Math.max(0, Math.min(Integer.MAX_VALUE, put - t));
    }
}
