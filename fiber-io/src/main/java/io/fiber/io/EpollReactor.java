package io.fiber.io;

import io.fiber.internal.bridge.FiberBridge;
import io.fiber.internal.io.CarrierReactor;
import io.netty.channel.epoll.NettyEpoll;
import io.netty.channel.unix.FileDescriptor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.LockSupport;

/**
 * One carrier loop's epoll reactor (docs/design.md section 3): fibers on the carrier wait here for
 * their sockets, and the carrier's {@link #poll} wakes them, so a readiness event resumes the fiber
 * on the carrier that polled it without the JDK's poller threads.
 *
 * <h2>Registration: edge-triggered, once per file, trusted</h2>
 * The first wait on an fd registers it ({@code EPOLL_CTL_ADD}, or {@code MOD} on {@code EEXIST})
 * with {@code EPOLLET} for input, and output is added the first time a writer waits; the entry then
 * stays, and later waits make no system call (Go's netpoller). An edge comes once, so an event that
 * finds no waiter leaves a readiness bit ({@link FdTable}) that the next wait of that direction
 * consumes by returning at once (the JDK retries the I/O, and on {@code EAGAIN} waits again: a stale
 * bit costs a retry, never a hang). Bits are set by the dispatch and consumed by waiters under the
 * poll lock, so a waiter either sees the bit or is found by the event.
 *
 * <p>What makes trusting the registration sound: epoll keys its entries on the open file, and the
 * kernel drops a file's entry when the file closes, while our belief is keyed on the fd number. A
 * number closed and reused would look registered and its waiter would park forever. So the belief
 * is dropped (1) when the JDK closes a socket, pipe or datagram fd ({@link #forget}, called by the
 * agent's hook on {@code sun.nio.ch.UnixDispatcher}'s close and pre-close, which every NIO socket
 * close goes through), (2) when {@code stopPoll} reports a close with a thread blocked, and (3) as
 * a safety net for any other way an fd number can be reused (a native library closing it, a
 * selector's own fd): {@link #recheckLongWaits}, called periodically, ends every trusting wait
 * that began before its previous call (a wait stamps the current recheck epoch, a volatile read,
 * not a clock read), and the waiter's retry registers again, which proves the entry. A missed close thus costs one late
 * wakeup, not a hang; an idle connection pays one extra wakeup and one {@code EPOLL_CTL_MOD}.
 *
 * <h2>Drained reads</h2>
 * Blocking-style code reads, gets a message, answers, and reads again; that second read returns
 * {@code EAGAIN} before the fiber waits, one system call per message that an event loop does not
 * make (Netty stops reading when a read comes back short). A trusted input registration lets us do
 * the same: a short read drained the socket, and any data after it brings an input edge, so until
 * that edge is dispatched the next read is skipped and the fiber waits at once ({@link #read}; the
 * race with an edge during the read is closed in {@link FdTable}). Only one read is skipped per
 * short read, so the read after a wait always goes to the kernel, whatever ended the wait. The reads
 * and writes themselves are {@link SocketCalls}: {@code recv} and {@code send} on the caller's
 * array, without the JDK's temporary buffers and JNI call.
 *
 * <h2>Rescue</h2>
 * The owner polls between fibers. A fiber pinned in a park blocks the owner's thread itself, and
 * one that runs long without yielding keeps the owner away, so the runtime's watchdog polls a
 * reactor whose owner has not polled for a while ({@link #pollIfUnattended}); the lock keeps two
 * pollers off the one events array, and the owner's blocking poll holds it, so an owner asleep in
 * {@code epoll_wait} is never second-guessed.
 *
 * <h2>Wakeup</h2>
 * An eventfd in the epoll set, written by {@link #wakeup} from other threads. The counter is
 * sticky, so a wakeup that comes before the carrier blocks makes the next {@code epoll_wait} return
 * at once (the sleep handshake in the runtime's {@code IdleCarriers} relies on that).
 *
 * <p>Fibers call {@link #wakeup} (a fiber that wakes another carrier), and the carrier closes the
 * reactor as it exits, so neither may wait for the other through a lock. A fiber that blocks
 * entering a monitor is unmounted (JEP 491) and queued for it; a carrier queued behind it then
 * waits for a fiber that may need that very carrier to run: a scheduler whose last fiber woke a
 * peer as it finished hung in termination that way. So no write may follow the close (the eventfd's
 * number may then name another file), without a lock: {@link #wakeGate} counts the writes in
 * flight and carries a closed bit; a wakeup enters only while the bit is clear, and the close sets
 * it, then waits for the writes in flight, each one system call by a running thread, to leave.
 */
final class EpollReactor implements CarrierReactor {
    /** Linux {@code POLLIN}/{@code POLLOUT}, the values the JDK's {@code Net} passes to {@code Poller.poll}. */
    static final int POLLIN = 0x001;
    static final int POLLOUT = 0x004;
    private static final int READ_EVENTS = NettyEpoll.EPOLLIN | NettyEpoll.EPOLLERR | NettyEpoll.EPOLLHUP | NettyEpoll.EPOLLRDHUP;
    private static final int WRITE_EVENTS = NettyEpoll.EPOLLOUT | NettyEpoll.EPOLLERR | NettyEpoll.EPOLLHUP;
    /** At most this many events per poll: half a local run queue, so a burst of wakeups rarely overflows it. */
    private static final int MAX_EVENTS = 128;
    /** {@link #beginWait}'s token for a wait that registered afresh, so the recheck does not end it. */
    private static final long UNTRUSTED_WAIT = 0;
    /** Whether reads and writes are this reactor's system calls ({@link SocketCalls}), or stay with the JDK. */
    private static final boolean SOCKET_CALLS = SocketCalls.unavailableBecause() == null;

    private final String name;
    private final FileDescriptor epoll;
    private final FileDescriptor eventFd;
    private final int epfd;
    /** Event arrays of 1, 2, 4 ... {@value #MAX_EVENTS} slots: a poll asks the kernel for no more than the caller has room for. */
    private final NettyEpoll.Events[] eventsBySize = eventArrays();
    /** Each fd's reader, writer, state bits and trust, all in one table. */
    private final FdTable table = new FdTable();
    /** The highest fd a wait has claimed, a hint for {@link #preparePages}: a racing update may lose a value, never correctness. */
    private int highestFd;
    /** Advanced by each {@link #recheckLongWaits}; a trusting wait records the epoch it began in. */
    private volatile long recheckEpoch = 1;
    private final AtomicInteger waiting = new AtomicInteger();
    /**
     * Held while polling, blocking included (the owner locks, a rescuer only tries), and while a
     * waiter arms its fd, so arming and a poll's re-arming never interleave. Waiters never park on
     * it ({@link #lockWithoutParking}).
     */
    private final ReentrantLock pollLock = new ReentrantLock();
    /** When the owner last finished a poll. */
    private volatile long lastPolled = System.nanoTime();
    private final LongAdder waits = new LongAdder();
    private final LongAdder skippedReads = new LongAdder();
    /** {@link #wakeup}s writing the eventfd now, plus {@link #CLOSED} once closed; see "Wakeup". */
    private final AtomicInteger wakeGate = new AtomicInteger();
    private static final int CLOSED = Integer.MIN_VALUE;

    EpollReactor(String name) throws IOException {
        this.name = name;
        this.epoll = NettyEpoll.newEpoll();
        this.epfd = epoll.intValue();
        this.eventFd = NettyEpoll.newEventFd();
        NettyEpoll.ctlAdd(epfd, eventFd.intValue(), NettyEpoll.EPOLLIN);
        preparePages();
    }

    @Override
    public long beginWait(int fd, int event) throws IOException {
        int direction = direction(event);
        Thread self = Thread.currentThread();
        if (direction < 0 || !table.claim(fd, direction, self)) {
            return NOT_TAKEN;
        }
        highestFd = Math.max(highestFd, fd);
        int ready = FdTable.ready(direction);
        int registered = FdTable.registered(direction);
        boolean trusted;
        lockWithoutParking(); // serialises readiness bits with the dispatch that sets them
        try {
            int before = table.clear(fd, ready);
            if ((before & ready) != 0) {
                table.release(fd, direction, self); // an event came while nobody waited: retry the I/O now
                waits.increment();
                return READY;
            }
            int bits = before & ~ready;
            trusted = (bits & registered) != 0;
            if (!trusted) {
                register(fd, bits, bits | registered);
            }
        } catch (IOException | RuntimeException e) {
            table.release(fd, direction, self);
            throw e;
        } finally {
            pollLock.unlock();
        }
        waiting.incrementAndGet();
        waits.increment();
        if (!trusted) {
            return UNTRUSTED_WAIT;
        }
        long epoch = recheckEpoch; // epochs start at 1, so a trusting wait's token is never UNTRUSTED_WAIT
        table.trustedSince(fd, epoch);
        return epoch;
    }

    @Override
    public void endWait(int fd, int event, long wait) {
        table.endWait(fd, direction(event), Thread.currentThread(), wait); // UNTRUSTED_WAIT is the table's "no trust"
        waiting.decrementAndGet();
    }

    /**
     * Takes the poll lock for a waiter, spinning instead of parking. The waiter is a fiber running on
     * this reactor's own carrier, and a fiber parked in the lock's queue deadlocks with that carrier:
     * once the carrier queues for the lock to poll, the lock goes to the fiber, which needs the
     * carrier to run (seen under CPU starvation with one carrier). While a fiber runs on the owner,
     * the only other holder is a rescuing poll, which never blocks, so the spin is short. After a
     * handoff the waiter may be a fiber still on the carrier's old thread while the new owner sleeps
     * in {@code epoll_wait} holding the lock: a wakeup now and then ends that poll.
     */
    private void lockWithoutParking() {
        for (int spins = 0; !pollLock.tryLock(); spins++) {
            if ((spins & 1023) == 0) {
                wakeup();
            }
            Thread.onSpinWait();
        }
    }

    /**
     * Creates the fd table's pages for the highest fd waited on so far and for the next 1024, before a
     * wait needs them. A page created inside a wait is a branch the JIT has seen taken rarely or
     * never: the compiled wait path deoptimizes there, and with it the JDK's socket read path it is
     * inlined into, so fibers that park meanwhile keep interpreted frames, larger on the heap, for as
     * long as they stay parked (a server that warmed up with few connections, then grows). Here
     * that branch is in the carrier's poll, whose frames no fiber keeps. A wait still creates a page
     * itself when fds jump further between two polls.
     */
    private void preparePages() {
        int highest = highestFd;
        table.preparePage(highest);
        table.preparePage(highest + FdTable.PAGE_SIZE);
    }

    /** The eventfd's number, which a close frees for reuse; for tests. */
    int wakeupFd() {
        return eventFd.intValue();
    }

    /** True when the fd table has the page for {@code fd}; for tests. */
    boolean tableHasPage(int fd) {
        return table.hasPage(fd);
    }

    /** The table's direction for the JDK's {@code POLLIN} or {@code POLLOUT}, or -1 for any other event. */
    private static int direction(int event) {
        return event == POLLIN ? FdTable.READ : event == POLLOUT ? FdTable.WRITE : -1;
    }

    /**
     * Registers {@code fd}'s current file edge-triggered for the interests in {@code bits}. A MOD
     * also re-evaluates readiness, so an fd already ready gets an event. {@code before} is what this
     * reactor believed of the fd: one it never added, or saw close since (a new connection, a
     * reused number), is added first, and modified if it was there after all; one it added (a
     * second direction, a recheck's retry) is modified first, and added if it was gone. Netty
     * reports the failed attempt as an exception with a stack trace, so the likely call goes first:
     * modifying first cost every new connection one. Under the poll lock.
     */
    private void register(int fd, int before, int bits) throws IOException {
        assert pollLock.isHeldByCurrentThread() : "register outside the poll lock";
        int interest = NettyEpoll.EPOLLET
                | ((bits & FdTable.REGISTERED_IN) != 0 ? NettyEpoll.EPOLLIN | NettyEpoll.EPOLLRDHUP : 0)
                | ((bits & FdTable.REGISTERED_OUT) != 0 ? NettyEpoll.EPOLLOUT : 0);
        if ((before & FdTable.ADDED) == 0) {
            if (!NettyEpoll.ctlAdd(epfd, fd, interest)) {
                NettyEpoll.ctlMod(epfd, fd, interest);
            }
        } else if (!NettyEpoll.ctlMod(epfd, fd, interest)) {
            NettyEpoll.ctlAdd(epfd, fd, interest);
        }
        table.set(fd, (bits & FdTable.REGISTERED) | FdTable.ADDED);
    }

    private static NettyEpoll.Events[] eventArrays() {
        NettyEpoll.Events[] arrays = new NettyEpoll.Events[Integer.numberOfTrailingZeros(MAX_EVENTS) + 1];
        for (int i = 0; i < arrays.length; i++) {
            arrays[i] = new NettyEpoll.Events(1 << i);
        }
        return arrays;
    }

    @Override
    public int poll(long timeoutNanos, int maxEvents) {
        pollLock.lock();
        try {
            return pollLocked(timeoutNanos, maxEvents);
        } finally {
            lastPolled = System.nanoTime();
            pollLock.unlock();
        }
    }

    @Override
    public int pollIfUnattended(long staleNanos) {
        if (!hasWaiters() || System.nanoTime() - lastPolled < staleNanos || !pollLock.tryLock()) {
            return 0;
        }
        try {
            return closed() ? 0 : pollLocked(0, MAX_EVENTS);
        } finally {
            pollLock.unlock();
        }
    }

    private boolean closed() {
        return (wakeGate.get() & CLOSED) != 0;
    }

    private int pollLocked(long timeoutNanos, int maxEvents) {
        assert pollLock.isHeldByCurrentThread() : "poll outside the poll lock";
        preparePages();
        // The largest array that fits: events left in the kernel's ready list come out in the next poll.
        NettyEpoll.Events events = eventsBySize[31 - Integer.numberOfLeadingZeros(Math.clamp(maxEvents, 1, MAX_EVENTS))];
        int timeoutMillis = timeoutNanos < 0 ? -1
                : (int) Math.min(Integer.MAX_VALUE, TimeUnit.NANOSECONDS.toMillis(timeoutNanos + 999_999));
        int n;
        try {
            n = NettyEpoll.await(epoll, events, timeoutMillis);
        } catch (IOException e) {
            throw new UncheckedIOException("epoll_wait failed in reactor " + name, e);
        }
        int woken = 0;
        for (int i = 0; i < n; i++) {
            int fd = events.fd(i);
            if (fd == eventFd.intValue()) {
                NettyEpoll.eventFdRead(fd);
            } else {
                woken += dispatch(fd, events.events(i));
            }
        }
        return woken;
    }

    /** Wakes the waiter of each direction the event reports, or remembers that direction as ready. Under the poll lock. */
    private int dispatch(int fd, int ready) {
        assert pollLock.isHeldByCurrentThread() : "dispatch outside the poll lock";
        int woken = 0;
        if ((ready & READ_EVENTS) != 0) {
            woken += unpark(table.inputEvent(fd)); // with no reader, READY_IN: an edge comes once, the next wait must not park past it
        }
        if ((ready & WRITE_EVENTS) != 0) {
            woken += unpark(table.outputEvent(fd));
        }
        return woken;
    }

    private static int unpark(Thread waiter) {
        if (waiter == null) {
            return 0;
        }
        LockSupport.unpark(waiter);
        return 1;
    }

    @Override
    public int read(int fd, byte[] b, int off, int len, int[] callState) throws IOException {
        if (!SOCKET_CALLS) {
            return FiberBridge.NOT_HANDLED;
        }
        if (beginRead(fd)) {
            return SocketCalls.UNAVAILABLE;
        }
        int got = SocketCalls.read(fd, b, off, len, callState);
        endRead(fd, len, got);
        return got;
    }

    @Override
    public int write(int fd, byte[] b, int off, int len, int[] callState) throws IOException {
        return SOCKET_CALLS ? SocketCalls.write(fd, b, off, len, callState) : FiberBridge.NOT_HANDLED;
    }

    /**
     * A read of {@code fd} begins: true when it would find nothing (an earlier read came back short
     * and no input event has come since), so it is skipped. Otherwise {@link #endRead} follows it.
     */
    boolean beginRead(int fd) {
        if (table.beginRead(fd)) {
            skippedReads.increment();
            return true;
        }
        return false;
    }

    @Override
    public long skippedReads() {
        return skippedReads.sum();
    }

    /** The read {@link #beginRead} let go ahead returned {@code got} (below 0: the JDK's {@code IOStatus} codes) of {@code asked} bytes. */
    void endRead(int fd, int asked, int got) {
        table.endRead(fd, got > 0 && got < asked);
    }

    @Override
    public long waits() {
        return waits.sum();
    }

    @Override
    public boolean hasWaiters() {
        return waiting.get() > 0;
    }

    /** Never blocks, so a fiber may call it from any carrier; does nothing once closed. */
    @Override
    public void forEachWaiter(WaiterVisitor visitor) {
        table.forEachWaiter(visitor);
    }

    @Override
    public void wakeup() {
        for (int gate = wakeGate.get(); ; gate = wakeGate.get()) {
            if ((gate & CLOSED) != 0) {
                return;
            }
            if (wakeGate.compareAndSet(gate, gate + 1)) {
                break;
            }
        }
        try {
            NettyEpoll.eventFdWrite(eventFd.intValue(), 1L);
        } finally {
            wakeGate.decrementAndGet();
        }
    }

    @Override
    public void stopPoll(int fd, int event) {
        table.clear(fd, FdTable.CLOSED); // the fd is closing: a reused number must register afresh
        int direction = direction(event);
        Thread waiter = direction < 0 ? null : table.take(fd, direction);
        if (waiter != null) {
            LockSupport.unpark(waiter);
        }
    }

    @Override
    public void forget(int fd) {
        table.clear(fd, FdTable.CLOSED | FdTable.READY_IN | FdTable.READY_OUT);
    }

    @Override
    public int recheckLongWaits() {
        long epoch = recheckEpoch;
        recheckEpoch = epoch + 1;
        return table.untrustWaitsBegunBy(epoch - 1, LockSupport::unpark); // their retries register again, proving the entries
    }

    @Override
    public void close() {
        pollLock.lock(); // no rescuer is inside epoll_wait on the fd about to close
        try {
            if ((wakeGate.getAndUpdate(gate -> gate | CLOSED) & CLOSED) != 0) {
                return;
            }
        } finally {
            pollLock.unlock();
        }
        // Wakeups that entered before the bit: running threads, each inside one eventfd write.
        for (int spins = 0; wakeGate.get() != CLOSED; spins++) {
            if (spins < 100) {
                Thread.onSpinWait();
            } else {
                Thread.yield();
            }
        }
        table.takeAll(LockSupport::unpark);
        try {
            eventFd.close();
            epoll.close();
        } catch (IOException e) {
            throw new UncheckedIOException("closing reactor " + name, e);
        } finally {
            for (NettyEpoll.Events events : eventsBySize) {
                events.free();
            }
        }
    }

    @Override
    public String toString() {
        return "EpollReactor[" + name + ", epfd=" + epfd + ", waiting=" + waiting.get() + "]";
    }
}
