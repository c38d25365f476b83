package io.fiber.internal.io;

import io.fiber.internal.bridge.FiberBridge;

import java.io.IOException;

/**
 * A carrier loop's I/O event source (fiber-io's epoll reactor). Not an application API.
 *
 * <p>A socket wait is {@link FiberBridge#atPoll}: {@link #beginWait}, a park, {@link #endWait}.
 *
 * <p>Threading: {@link #beginWait} runs on a fiber mounted on the owning carrier,
 * and {@link #endWait} on the same fiber, wherever it runs after its park (it may have moved to
 * another carrier); {@link #poll} only on the owning carrier's thread, between fibers;
 * {@link #pollIfUnattended}, {@link #wakeup} and {@link #stopPoll} from any thread.
 */
public interface CarrierReactor extends FiberBridge.Reactor {
    /**
     * Dispatches at most {@code maxEvents} ready events (at least 1), waking their threads; events
     * beyond that stay ready in the kernel for the next poll, so a carrier takes only as many
     * wakeups as its run queue has room for. {@code timeoutNanos}: 0 returns at once, a negative
     * value waits until an event or {@link #wakeup}. Returns the number of threads woken.
     */
    int poll(long timeoutNanos, int maxEvents);

    /** {@link #poll(long, int)} with as many events as the reactor takes at once. */
    default int poll(long timeoutNanos) {
        return poll(timeoutNanos, Integer.MAX_VALUE);
    }

    /**
     * A fiber's socket read, in place of the body of {@code NioSocketImpl.tryRead} (up to {@code len}
     * bytes of {@code fd} into {@code b} at {@code off}), with its results and exceptions: bytes
     * read, or -1 at end of stream, -2 when there is nothing to read, -3 when interrupted. A read
     * this reactor knows would find nothing (an earlier read came back short and no input event has
     * come since) returns -2 without its system call, so the caller waits at once (the {@code EAGAIN}
     * read a blocking-style program makes after each message). {@link FiberBridge#NOT_HANDLED}
     * leaves the read to the JDK. {@code callState}: an {@code int[1]} of the calling carrier
     * thread's own, where the call's {@code errno} goes.
     */
    default int read(int fd, byte[] b, int off, int len, int[] callState) throws IOException {
        return FiberBridge.NOT_HANDLED;
    }

    /** A fiber's socket write, in place of the body of {@code NioSocketImpl.tryWrite}, as {@link #read}. */
    default int write(int fd, byte[] b, int off, int len, int[] callState) throws IOException {
        return FiberBridge.NOT_HANDLED;
    }

    /** Reads {@link #read} skipped because they would have found nothing, so far, for statistics. */
    default long skippedReads() {
        return 0;
    }

    /** Waits taken so far (those for which {@link FiberBridge#atPoll} returned true), for statistics. */
    long waits();

    /**
     * A non-blocking {@link #poll} by a thread other than the owner, done only when threads wait
     * here and the owner has not polled for {@code staleNanos} (a fiber pinned in a park, or one
     * running long without yielding, keeps it away). Returns the number of threads woken.
     */
    int pollIfUnattended(long staleNanos);

    /** What waits in a reactor, for the fiber dump: a thread, the fd it waits on, and whether for writing. */
    interface WaiterVisitor {
        void waiting(Thread thread, int fd, boolean forWrite);
    }

    /**
     * Passes every thread waiting here now to {@code visitor}, without stopping anyone: a wait
     * that begins or ends meanwhile may or may not be seen. For the fiber dump; any thread.
     */
    default void forEachWaiter(WaiterVisitor visitor) {
    }

    /** True when some thread waits in this reactor, so a non-blocking {@link #poll} may find work. */
    boolean hasWaiters();

    /** Makes a current or the next blocking {@link #poll} return promptly. Any thread. */
    void wakeup();

    /** Wakes every thread waiting on {@code fd} for {@code event}. Any thread. */
    void stopPoll(int fd, int event);

    /**
     * Forgets what this reactor knows of {@code fd}: its file is being closed (called before the
     * close), or, for a selector's fd, may have been closed unseen; the number may soon name another
     * file. Any thread.
     */
    @Override
    void forget(int fd);

    /**
     * Ends every wait that relies on a registration made for an earlier wait (no system call) and
     * began before the previous call of this method; each such waiter wakes, and its retry
     * registers again. Called periodically, so such a wait lasts one to two periods at most: the
     * safety net for an fd number closed without {@link #forget} and reused. Returns the number of
     * threads woken. One thread at a time.
     */
    int recheckLongWaits();

    /** Wakes every waiter (they retry elsewhere) and releases the reactor. Owner thread, once. */
    void close();
}
