package io.fiber.channel;

import io.fiber.FiberTimeoutException;
import io.fiber.Timeout;

import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;

/**
 * A channel, as in Go: fibers (or any threads) send items in and receive them out, each sender's
 * items in the order it sent them, every item to exactly one receiver.
 *
 * <pre>{@code
 * Channel<Job> jobs = Channel.bounded(64);
 * Fibers.spawn(() -> { for (Job j : jobs) run(j); });   // ends when jobs is closed and drained
 * jobs.send(job);                                       // parks while 64 jobs wait
 * jobs.close();
 * }</pre>
 *
 * <p>Kinds. A {@link #bounded} channel buffers up to its capacity and parks senders while full; an
 * {@link #unbounded} one never parks a sender; a {@link #rendezvous} one has no buffer: a send
 * returns only once a receiver has taken its item. Blocking calls park the caller (a fiber's carrier
 * runs other fibers meanwhile), throw {@link InterruptedException} when interrupted and
 * {@link FiberTimeoutException} when a {@link Timeout} of the caller passes. {@link #close} ends the
 * stream: receivers drain what is buffered and then get {@link ChannelClosedException}; senders get
 * it at once, and the items of parked senders are not delivered. Several channels are waited on at
 * once with {@link Select}.
 *
 * <h2>Algorithm</h2>
 * Each channel has one lock (a {@link ReentrantLock}: it parks a virtual thread without pinning its
 * carrier), a FIFO buffer (none for rendezvous) and two queues of {@link WaitNode}s: parked
 * receivers and parked senders. A parked operation is a {@link Waiter}, its thread and a result
 * slot, with one node in each channel it waits on (one for a send or receive, one per case for a
 * select). The slot moves once, by CAS, from null either to the node through which a counterpart
 * completed the operation (a <em>claim</em>) or to CANCELLED (the owner gave up on a timeout or
 * interrupt). That CAS is the whole agreement: a claim that loses to a cancel delivered nothing and
 * the claimer tries the next waiter; a cancel that loses to a claim means the delivery happened, and
 * the owner keeps it (returns the item, or reports the send done) even though it was interrupted.
 *
 * <p>Under the lock, a sender hands its item to the first live receiver (stores the item in the
 * node, then claims it), else appends it to the buffer if there is room, else parks. A receiver
 * takes the buffer's head and then, if a sender is parked (the buffer was full), claims it and
 * appends its item, so the buffer stays full while senders wait; with nothing buffered it claims
 * the first live sender directly; else it parks. Nodes whose waiter has already ended (cancelled,
 * or completed through another channel of its select) are unlinked as they are met.
 *
 * <p>Invariants, whenever the lock is free:
 * <ol>
 * <li>A live receiver is parked only while the buffer is empty and a live sender only while it is
 *     full (a rendezvous channel counts as both), and never both at once, except for the two nodes
 *     of one select, which never match each other. So a direct hand-off never overtakes buffered
 *     items, and with a FIFO buffer and FIFO queues each sender's items arrive in order.</li>
 * <li>No node stays linked after its operation returns: a claimer unlinks the node it claimed in
 *     the same critical section, and the owner unlinks its other nodes before returning. Repeated
 *     selects therefore leave nothing behind in channels that never fired.</li>
 * <li>Once closed, nothing enters the buffer or the queues. {@code close} unlinks and unparks every
 *     parked operation without claiming it; each looks again under the lock and finds the close:
 *     receivers drain the buffer then see the end, senders fail, and their items stay theirs.</li>
 * </ol>
 *
 * <p>Wakeups. A claimer unparks after its CAS; an owner parks only while its slot is null and
 * treats every other return from park (a close, or a spurious one) as a cue to look again under the
 * lock, so no wakeup is lost. The blocking paths are a single-case {@link Select}: the fast path
 * here only tries once under the lock, and parking, timeouts and cancellation live in one place.
 *
 * <p>Channels are safe for use by any number of senders and receivers, fibers and platform threads
 * alike.
 */
public final class Channel<T> implements Iterable<T> {
    private static final AtomicLong IDS = new AtomicLong();

    /** Orders lock acquisition when a select locks several channels. */
    final long id = IDS.incrementAndGet();
    final ReentrantLock lock = new ReentrantLock();
    private final int capacity;
    private final ArrayDeque<Object> buffer;
    private final WaitQueue receivers = new WaitQueue();
    private final WaitQueue senders = new WaitQueue();
    /** Written under the lock; volatile so that {@link #isClosed} need not lock. */
    volatile boolean closed;

    private Channel(int capacity) {
        this.capacity = capacity;
        this.buffer = capacity == 0 ? null : new ArrayDeque<>(Math.min(capacity, 16));
    }

    /** A channel that buffers up to {@code capacity} items; senders park while it is full. */
    public static <T> Channel<T> bounded(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity of a bounded channel must be at least 1, got " + capacity
                    + " (for a channel without a buffer use Channel.rendezvous())");
        }
        return new Channel<>(capacity);
    }

    /** A channel with an unlimited buffer: sends never park. */
    public static <T> Channel<T> unbounded() {
        return new Channel<>(Integer.MAX_VALUE);
    }

    /** A channel without a buffer: each send waits until a receiver takes its item. */
    public static <T> Channel<T> rendezvous() {
        return new Channel<>(0);
    }

    /**
     * Sends {@code item}, parking while the channel is full (or, for rendezvous, until a receiver
     * takes it).
     *
     * @throws ChannelClosedException if the channel is or gets closed before the item is taken or
     *                                buffered; the item is then not delivered
     * @throws InterruptedException   if the caller is interrupted first; the item is then not delivered
     * @throws FiberTimeoutException  if a {@link Timeout} of the caller passes first; likewise
     */
    public void send(T item) throws InterruptedException {
        Objects.requireNonNull(item, "item");
        if (Thread.currentThread().isInterrupted()) {
            throw interruptedException();
        }
        lock.lock();
        try {
            if (closed) {
                throw closedException();
            }
            if (offerLocked(item, null)) {
                return;
            }
        } finally {
            lock.unlock();
        }
        Select.<Void>create().onSend(this, item, () -> null).await();
    }

    /**
     * Sends {@code item} if that is possible without waiting: a receiver is parked, or the buffer has
     * room.
     *
     * @return false if the channel is full (for rendezvous: no receiver is waiting)
     * @throws ChannelClosedException if the channel is closed
     */
    public boolean trySend(T item) {
        Objects.requireNonNull(item, "item");
        lock.lock();
        try {
            if (closed) {
                throw closedException();
            }
            return offerLocked(item, null);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Receives the next item, parking while there is none.
     *
     * @throws ChannelClosedException once the channel is closed and every buffered item received
     * @throws InterruptedException   if the caller is interrupted first; no item is then consumed
     * @throws FiberTimeoutException  if a {@link Timeout} of the caller passes first; likewise
     */
    @SuppressWarnings("unchecked")
    public T receive() throws InterruptedException {
        if (Thread.currentThread().isInterrupted()) {
            throw interruptedException();
        }
        lock.lock();
        try {
            Object item = pollLocked(null);
            if (item != null) {
                return (T) item;
            }
            if (closed) {
                throw closedException();
            }
        } finally {
            lock.unlock();
        }
        return Select.<T>create().onReceive(this, Function.identity()).await();
    }

    /**
     * Receives an item if one is available without waiting (buffered, or offered by a parked
     * sender); null otherwise, including when the channel is closed and drained (see
     * {@link #isClosed}).
     */
    @SuppressWarnings("unchecked")
    public T tryReceive() {
        lock.lock();
        try {
            return (T) pollLocked(null);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Closes the channel; idempotent. Buffered items can still be received. Parked receivers wake
     * and, once the buffer is drained, get {@link ChannelClosedException}; parked senders wake and get
     * it at once, their items undelivered.
     */
    public void close() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            wakeAll(receivers);
            wakeAll(senders);
        } finally {
            lock.unlock();
        }
    }

    public boolean isClosed() {
        return closed;
    }

    /** The number of buffered items (always 0 for rendezvous). */
    public int size() {
        lock.lock();
        try {
            return buffer == null ? 0 : buffer.size();
        } finally {
            lock.unlock();
        }
    }

    /** The buffer's capacity: {@link Integer#MAX_VALUE} for unbounded, 0 for rendezvous. */
    public int capacity() {
        return capacity;
    }

    /**
     * Receives items until the channel is closed and drained. Each call gives a new iterator;
     * several iterators (like several receivers) share the items. {@link Iterator#hasNext} blocks:
     * it receives the next item and keeps it for {@code next()}.
     *
     * <p>Because {@code hasNext} cannot throw {@link InterruptedException}, an interrupt while it
     * waits surfaces as a {@link CancellationException} whose cause is the InterruptedException, with
     * the thread's interrupt status set again (a cancelled fiber's loop thus ends, and the next
     * blocking call sees the interrupt too). A passed {@link Timeout} surfaces as
     * {@link FiberTimeoutException}, as from {@link #receive}.
     */
    @Override
    public Iterator<T> iterator() {
        return new Iterator<>() {
            private T next;
            private boolean ended;

            @Override
            public boolean hasNext() {
                if (next == null && !ended) {
                    try {
                        next = receive();
                    } catch (ChannelClosedException e) {
                        ended = true;
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        CancellationException c = new CancellationException("interrupted while receiving from " + Channel.this);
                        c.initCause(e);
                        throw c;
                    }
                }
                return next != null;
            }

            @Override
            public T next() {
                if (!hasNext()) {
                    throw new NoSuchElementException(Channel.this + " is closed and drained");
                }
                T item = next;
                next = null;
                return item;
            }
        };
    }

    @Override
    public String toString() {
        String kind = capacity == 0 ? "rendezvous" : capacity == Integer.MAX_VALUE ? "unbounded" : "bounded " + capacity;
        return "channel #" + id + " (" + kind + ")";
    }

    // ---- under the lock; also used by Select --------------------------------------------------

    /**
     * Takes the next available item, or returns null if there is none (the caller checks
     * {@link #closed}). Nodes of {@code self}, the caller's own waiter, are skipped.
     */
    Object pollLocked(Waiter self) {
        if (buffer != null && !buffer.isEmpty()) {
            Object item = buffer.poll();
            if (!closed) {
                WaitNode s = claimFirst(senders, self, null);
                if (s != null) {
                    buffer.add(s.item); // invariant 1: the buffer was full, keep it full
                }
            }
            return item;
        }
        if (closed) {
            return null;
        }
        WaitNode s = claimFirst(senders, self, null);
        return s == null ? null : s.item;
    }

    /** Hands {@code item} to a parked receiver or buffers it; false if neither is possible. Not closed. */
    boolean offerLocked(Object item, Waiter self) {
        if (claimFirst(receivers, self, item) != null) {
            return true;
        }
        if (buffer != null && buffer.size() < capacity) {
            buffer.add(item);
            return true;
        }
        return false;
    }

    /**
     * Claims the first live node of {@code q} not owned by {@code self}, unlinking it and the dead
     * nodes before it, and unparks its thread. For receivers, {@code item} is stored in the node
     * before the claim. Returns the claimed node, or null.
     */
    private static WaitNode claimFirst(WaitQueue q, Waiter self, Object item) {
        for (WaitNode n = q.first(), next; n != null; n = next) {
            next = n.next;
            if (n.waiter == self) {
                continue;
            }
            if (item != null) {
                n.item = item;
            }
            boolean claimed = n.waiter.claim(n);
            q.remove(n);
            if (claimed) {
                LockSupport.unpark(n.waiter.thread);
                return n;
            }
            if (item != null) {
                n.item = null;
            }
        }
        return null;
    }

    void enqueueLocked(WaitNode n) {
        (n.send ? senders : receivers).add(n);
    }

    void unlinkLocked(WaitNode n) {
        (n.send ? senders : receivers).remove(n);
    }

    private static void wakeAll(WaitQueue q) {
        for (WaitNode n; (n = q.first()) != null; ) {
            q.remove(n);
            LockSupport.unpark(n.waiter.thread);
        }
    }

    ChannelClosedException closedException() {
        return new ChannelClosedException(this + " is closed");
    }

    /** Nodes currently linked, live or dead; for tests. */
    int waiterCount() {
        lock.lock();
        try {
            return receivers.size() + senders.size();
        } finally {
            lock.unlock();
        }
    }

    /**
     * The exception for an interrupt seen by a blocking call: clears the interrupt status (as
     * throwing InterruptedException implies), and throws FiberTimeoutException instead if it was a
     * {@link Timeout} of the caller that passed.
     */
    static InterruptedException interruptedException() {
        Thread.interrupted();
        Timeout.check();
        return new InterruptedException();
    }
}
