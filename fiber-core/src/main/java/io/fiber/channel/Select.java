package io.fiber.channel;

import io.fiber.FiberTimeoutException;
import io.fiber.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Objects;
import java.util.StringJoiner;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Go's {@code select}: waits until one of several channel operations can proceed, performs exactly
 * that one, and returns what its handler returns.
 *
 * <pre>{@code
 * String r = Select.<String>create()
 *         .onReceive(orders, o -> "order " + o)
 *         .onReceive(control, c -> "control " + c, () -> "control closed")
 *         .onSend(audit, event, () -> "audited")
 *         .timeout(Duration.ofSeconds(1), () -> "idle")
 *         .await();
 * }</pre>
 *
 * <p>Semantics. Exactly one case fires; among the cases ready at the same moment each is equally
 * likely, so a busy channel cannot starve another. A receive case whose channel is closed and
 * drained fires its closed-handler if it has one, and is otherwise disabled; if every case is
 * disabled nothing can ever fire, and {@link #await} throws {@link ChannelClosedException} (even
 * with a timeout or default case). A send case whose channel is closed throws
 * {@code ChannelClosedException} when the select comes to it. With {@link #timeout}, its handler
 * runs if no case became ready before it passed; with {@link #orElse} (Go's {@code default}), its
 * handler runs at once if no case is ready. Handlers run in the caller after the operation is done,
 * holding no lock. A select may be awaited again (each await is a new select over the same cases,
 * sending the same items); building it is not thread-safe.
 *
 * <h2>Algorithm</h2>
 * An await locks all its channels, in the order of their ids (every select uses that order, and a
 * plain operation holds one lock, so none can deadlock), scans the cases in a fresh random order,
 * and performs the first that can proceed exactly as a plain send or receive would (see
 * {@link Channel}). If none can, it links one node per enabled case into the channels, all sharing
 * one {@link Waiter}, unlocks, and parks until a counterpart claims the waiter through one of the
 * nodes; then it unlinks the nodes left in the other channels before returning.
 *
 * <p>Why lock every channel for the scan rather than register in one channel at a time. While a
 * select scans it holds the lock under which each of its nodes could be claimed, so nobody can
 * claim its waiter meanwhile: completing a case needs only the counterpart's claim, one CAS. If it
 * instead registered channel by channel, its waiter would already be claimable in channel 1 while it
 * completes a case in channel 2, which takes two CASes (its own waiter, then the counterpart's) that
 * cannot be made atomic: when the counterpart turns out to be gone (cancelled, or won through
 * another of its channels) after the select claimed itself, it holds a claim with nothing
 * delivered, and undoing that claim races with deliverers in the other channels that have already
 * skipped its nodes as dead, which loses wakeups. The locks are per channel and held for a short
 * scan, so the price is one extra uncontended lock per case.
 *
 * <p>Fair choice. The set of ready cases cannot grow during the scan (all locks are held;
 * counterparts may only withdraw), so taking the first ready case of a uniformly random
 * permutation picks uniformly among them.
 *
 * <p>Wakeups. A parked select wakes when claimed (its slot holds the node; it runs that case's
 * handler), on its timeout or an interrupt (it cancels by CAS; if the CAS fails a delivery won the
 * race and is honoured: the handler runs and the interrupt status stays set for the next blocking
 * call), or on a close of one of its channels or spuriously (it scans again, its nodes still linked;
 * the scan skips the select's own nodes, so a select that sends and receives on one channel never
 * meets itself).
 *
 * @param <R> what the handlers return
 */
public final class Select<R> {
    private static final int NONE = -1;
    private static final int DEFAULT = -2;
    private static final int TIMEOUT = -3;
    private static final Comparator<Channel<?>> LOCK_ORDER = Comparator.comparingLong(c -> c.id);

    private record Case<R>(Channel<?> channel, boolean send, Object item,
                           Function<Object, ? extends R> onItem, Supplier<? extends R> onSent,
                           Supplier<? extends R> onClosed) { }

    private final ArrayList<Case<R>> cases = new ArrayList<>(4);
    private long timeoutNanos;
    private Supplier<? extends R> onTimeout;
    private Supplier<? extends R> orElse;

    private Select() { }

    /** A select without cases; add them, then {@link #await}. */
    public static <R> Select<R> create() {
        return new Select<>();
    }

    /**
     * A case that receives an item from {@code channel} and returns {@code onItem(item)}. Once the
     * channel is closed and drained the case is disabled.
     */
    public <T> Select<R> onReceive(Channel<T> channel, Function<? super T, ? extends R> onItem) {
        return addReceive(channel, onItem, null);
    }

    /**
     * A case that receives an item from {@code channel} and returns {@code onItem(item)}, or, once
     * the channel is closed and drained, returns {@code onClosed.get()}.
     */
    public <T> Select<R> onReceive(Channel<T> channel, Function<? super T, ? extends R> onItem,
                                   Supplier<? extends R> onClosed) {
        return addReceive(channel, onItem, Objects.requireNonNull(onClosed, "onClosed"));
    }

    /** A case that sends {@code item} on {@code channel} and then returns {@code onSent.get()}. */
    public <T> Select<R> onSend(Channel<T> channel, T item, Supplier<? extends R> onSent) {
        Objects.requireNonNull(channel, "channel");
        Objects.requireNonNull(item, "item");
        Objects.requireNonNull(onSent, "onSent");
        cases.add(new Case<>(channel, true, item, null, onSent, null));
        return this;
    }

    /** If no case becomes ready within {@code timeout}, returns {@code onTimeout.get()}. */
    public Select<R> timeout(Duration timeout, Supplier<? extends R> onTimeout) {
        Objects.requireNonNull(timeout, "timeout");
        Objects.requireNonNull(onTimeout, "onTimeout");
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("select timeout must not be negative, got " + timeout);
        }
        checkNoFallback("timeout");
        long nanos;
        try {
            nanos = timeout.toNanos();
        } catch (ArithmeticException e) {
            nanos = Long.MAX_VALUE;
        }
        this.timeoutNanos = nanos;
        this.onTimeout = onTimeout;
        return this;
    }

    /** Go's {@code default}: if no case is ready right now, returns {@code onNothingReady.get()}. */
    public Select<R> orElse(Supplier<? extends R> onNothingReady) {
        Objects.requireNonNull(onNothingReady, "onNothingReady");
        checkNoFallback("orElse");
        this.orElse = onNothingReady;
        return this;
    }

    /**
     * Waits until one case can proceed, performs it and returns its handler's value (or the timeout
     * or default handler's).
     *
     * @throws ChannelClosedException if every case is disabled (its channel closed and drained, no
     *                                closed-handler), or a send case's channel is closed
     * @throws InterruptedException   if the caller is interrupted before a case fires; no case fired
     * @throws FiberTimeoutException  if a {@link Timeout} of the caller passes first; likewise
     * @throws IllegalStateException  if the select has no case, timeout or default
     */
    public R await() throws InterruptedException {
        if (Thread.currentThread().isInterrupted()) {
            throw Channel.interruptedException();
        }
        int n = cases.size();
        if (n == 0 && onTimeout == null && orElse == null) {
            throw new IllegalStateException("a select needs at least one case, a timeout or orElse");
        }
        Channel<?>[] locks = lockOrder();
        int[] order = randomOrder(n);
        Waiter waiter = new Waiter();
        WaitNode[] nodes = new WaitNode[n];
        long deadline = onTimeout == null ? 0L : System.nanoTime() + timeoutNanos;
        for (;;) {
            int fired = NONE;
            Object item = null;
            lockAll(locks);
            try {
                if (waiter.isPending()) {
                    boolean enabled = false;
                    for (int i = 0; i < n && fired == NONE; i++) {
                        int k = order[i];
                        Case<R> c = cases.get(k);
                        Channel<?> ch = c.channel;
                        if (c.send) {
                            if (ch.closed) {
                                unlinkLocked(nodes, null);
                                throw ch.closedException();
                            }
                            if (ch.offerLocked(c.item, waiter)) {
                                fired = k;
                            }
                            enabled = true;
                        } else if ((item = ch.pollLocked(waiter)) != null) {
                            fired = k;
                        } else if (!ch.closed) {
                            enabled = true;
                        } else if (c.onClosed != null) {
                            fired = k; // item == null: the closed-handler
                        }
                    }
                    if (fired == NONE) {
                        if (n > 0 && !enabled) {
                            unlinkLocked(nodes, null);
                            throw allClosed();
                        }
                        if (orElse != null) {
                            fired = DEFAULT;
                        } else if (onTimeout != null && deadline - System.nanoTime() <= 0) {
                            fired = TIMEOUT;
                        } else {
                            enqueueLocked(nodes, waiter);
                        }
                    }
                    if (fired != NONE) {
                        unlinkLocked(nodes, null);
                    }
                }
            } finally {
                unlockAll(locks);
            }
            if (fired != NONE) {
                return fire(fired, item);
            }

            if (waiter.isPending()) {
                if (onTimeout == null) {
                    LockSupport.park(this);
                } else {
                    long left = deadline - System.nanoTime();
                    if (left > 0) {
                        LockSupport.parkNanos(this, left);
                    }
                }
            }
            boolean interrupted = Thread.currentThread().isInterrupted();
            if ((interrupted || onTimeout != null && deadline - System.nanoTime() <= 0) && waiter.cancel()) {
                withdraw(locks, nodes, null);
                if (interrupted) {
                    throw Channel.interruptedException();
                }
                return onTimeout.get();
            }
            WaitNode done = waiter.completedBy();
            if (done != null) {
                withdraw(locks, nodes, done);
                return fire(done.index, done.item);
            }
            // a close of one of the channels, or a spurious wakeup: scan again
        }
    }

    private R fire(int fired, Object item) {
        if (fired == DEFAULT) {
            return orElse.get();
        }
        if (fired == TIMEOUT) {
            return onTimeout.get();
        }
        Case<R> c = cases.get(fired);
        if (c.send) {
            return c.onSent.get();
        }
        return item == null ? c.onClosed.get() : c.onItem.apply(item);
    }

    private void enqueueLocked(WaitNode[] nodes, Waiter waiter) {
        for (int k = 0; k < nodes.length; k++) {
            Case<R> c = cases.get(k);
            if (c.channel.closed) {
                continue; // a disabled receive case (a send case on a closed channel has thrown)
            }
            WaitNode node = nodes[k];
            if (node == null) {
                node = nodes[k] = new WaitNode(waiter, k, c.send, c.item);
            }
            if (!node.linked) {
                c.channel.enqueueLocked(node);
            }
        }
    }

    private void unlinkLocked(WaitNode[] nodes, WaitNode except) {
        for (int k = 0; k < nodes.length; k++) {
            WaitNode node = nodes[k];
            if (node != null && node != except) {
                cases.get(k).channel.unlinkLocked(node);
            }
        }
    }

    /**
     * Unlinks this select's nodes after it ended. {@code except}, the node it completed through,
     * was unlinked by its claimer; a plain send or receive thus returns without locking again.
     */
    private void withdraw(Channel<?>[] locks, WaitNode[] nodes, WaitNode except) {
        boolean any = false;
        for (WaitNode node : nodes) {
            any |= node != null && node != except;
        }
        if (any) {
            lockAll(locks);
            try {
                unlinkLocked(nodes, except);
            } finally {
                unlockAll(locks);
            }
        }
    }

    /** The distinct channels of the cases, sorted by id: the one order in which selects lock. */
    private Channel<?>[] lockOrder() {
        int n = cases.size();
        Channel<?>[] chs = new Channel<?>[n];
        for (int k = 0; k < n; k++) {
            chs[k] = cases.get(k).channel;
        }
        if (n < 2) {
            return chs;
        }
        Arrays.sort(chs, LOCK_ORDER);
        int distinct = 1;
        for (int k = 1; k < n; k++) {
            if (chs[k] != chs[distinct - 1]) {
                chs[distinct++] = chs[k];
            }
        }
        return distinct == n ? chs : Arrays.copyOf(chs, distinct);
    }

    private static void lockAll(Channel<?>[] locks) {
        for (Channel<?> ch : locks) {
            ch.lock.lock();
        }
    }

    private static void unlockAll(Channel<?>[] locks) {
        for (int k = locks.length - 1; k >= 0; k--) {
            locks[k].lock.unlock();
        }
    }

    private static int[] randomOrder(int n) {
        int[] order = new int[n];
        for (int k = 0; k < n; k++) {
            order[k] = k;
        }
        if (n > 1) {
            ThreadLocalRandom random = ThreadLocalRandom.current();
            for (int k = n - 1; k > 0; k--) {
                int j = random.nextInt(k + 1);
                int t = order[k];
                order[k] = order[j];
                order[j] = t;
            }
        }
        return order;
    }

    private ChannelClosedException allClosed() {
        if (cases.size() == 1) {
            return cases.get(0).channel.closedException();
        }
        StringJoiner names = new StringJoiner(", ");
        for (Case<R> c : cases) {
            names.add(c.channel.toString());
        }
        return new ChannelClosedException("every channel of the select is closed and drained: " + names);
    }

    @SuppressWarnings("unchecked")
    private Select<R> addReceive(Channel<?> channel, Function<?, ? extends R> onItem, Supplier<? extends R> onClosed) {
        Objects.requireNonNull(channel, "channel");
        Objects.requireNonNull(onItem, "onItem");
        cases.add(new Case<>(channel, false, null, (Function<Object, ? extends R>) onItem, null, onClosed));
        return this;
    }

    private void checkNoFallback(String adding) {
        if (onTimeout != null || orElse != null) {
            throw new IllegalStateException("cannot add " + adding + ": the select already has "
                    + (onTimeout != null ? "a timeout" : "an orElse") + " (at most one of the two, once)");
        }
    }

    @Override
    public String toString() {
        StringJoiner j = new StringJoiner(", ", "Select[", "]");
        for (Case<R> c : cases) {
            j.add((c.send ? "send to " : "receive from ") + c.channel);
        }
        return j.toString();
    }
}
