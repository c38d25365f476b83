package io.fiber.io;

import io.fiber.spi.CarrierReactor;
import io.netty.channel.epoll.NettyEpoll;
import io.netty.channel.unix.FileDescriptor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * One carrier loop's epoll reactor (DESIGN.md section 3): fibers on the carrier wait here for
 * their sockets, and the carrier's {@link #poll} wakes them, so a readiness event resumes the fiber
 * on the carrier that polled it without the JDK's poller threads.
 *
 * <h2>Registration: one-shot, re-armed per wait</h2>
 * Each wait arms the fd with {@code EPOLL_CTL_MOD} and {@code EPOLLONESHOT} (falling back to
 * {@code ADD} the first time), one system call, as the JDK's own poller does. A persistent
 * edge-triggered registration (Go's way) would need no call per wait, but only if we saw every
 * close: the JDK calls {@code stopPoll} only when a thread is blocked on the fd, so a closed fd
 * whose number the kernel reuses would look registered when it is not. {@code MOD} cannot be
 * fooled: epoll keys entries on the open file, not the number, so a reused number gets
 * {@code ENOENT} and is added afresh, and the kernel drops a closed file's entry by itself.
 *
 * <h2>Waiters</h2>
 * {@link FdWaiters} tables for readers and writers. When an event arrives the reactor takes the
 * waiter(s) it satisfies and unparks them; since one-shot disarms the whole fd, it re-arms the
 * direction still waited on (a fiber reading and another writing the same socket). Spurious
 * wakeups are harmless: the JDK re-tries the I/O and waits again. A second waiter in the same
 * direction on the same carrier is rare (two fibers reading one socket); it is left to the JDK's
 * poller rather than made to share a slot.
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
 */
final class EpollReactor implements CarrierReactor {
    /** Linux {@code POLLIN}/{@code POLLOUT}, the values the JDK's {@code Net} passes to {@code Poller.poll}. */
    static final int POLLIN = 0x001;
    static final int POLLOUT = 0x004;
    private static final int READ_EVENTS = NettyEpoll.EPOLLIN | NettyEpoll.EPOLLERR | NettyEpoll.EPOLLHUP | NettyEpoll.EPOLLRDHUP;
    private static final int WRITE_EVENTS = NettyEpoll.EPOLLOUT | NettyEpoll.EPOLLERR | NettyEpoll.EPOLLHUP;
    /** At most this many events per poll: half a local run queue, so a burst of wakeups rarely overflows it. */
    private static final int MAX_EVENTS = 128;

    private final String name;
    private final FileDescriptor epoll;
    private final FileDescriptor eventFd;
    private final int epfd;
    /** Event arrays of 1, 2, 4 ... {@value #MAX_EVENTS} slots: a poll asks the kernel for no more than the caller has room for. */
    private final NettyEpoll.Events[] eventsBySize = eventArrays();
    private final FdWaiters readers = new FdWaiters();
    private final FdWaiters writers = new FdWaiters();
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
    /** Guarded by {@code this}: no eventfd write after close, when the fd number may belong to another file. */
    private boolean closed;

    EpollReactor(String name) throws IOException {
        this.name = name;
        this.epoll = NettyEpoll.newEpoll();
        this.epfd = epoll.intValue();
        this.eventFd = NettyEpoll.newEventFd();
        NettyEpoll.ctlAdd(epfd, eventFd.intValue(), NettyEpoll.EPOLLIN);
    }

    @Override
    public boolean await(int fd, int event, long nanos, BooleanSupplier isOpen) throws IOException {
        FdWaiters table = waitersFor(event);
        Thread self = Thread.currentThread();
        if (table == null || !table.claim(fd, self)) {
            return false;
        }
        lockWithoutParking(); // a rescuing poll re-arms too: the two must not interleave their interest sets
        try {
            arm(fd);
        } catch (IOException | RuntimeException e) {
            table.release(fd, self);
            throw e;
        } finally {
            pollLock.unlock();
        }
        waiting.incrementAndGet();
        waits.increment();
        try {
            if (isOpen.getAsBoolean()) {
                if (nanos > 0) {
                    LockSupport.parkNanos(this, nanos);
                } else {
                    LockSupport.park(this);
                }
            }
        } finally {
            table.release(fd, self);
            waiting.decrementAndGet();
        }
        return true;
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

    /** The table for the JDK's {@code POLLIN} or {@code POLLOUT}, or null for any other event. */
    private FdWaiters waitersFor(int event) {
        return event == POLLIN ? readers : event == POLLOUT ? writers : null;
    }

    /** Arms {@code fd} one-shot for every direction someone waits on. */
    private void arm(int fd) throws IOException {
        int interest = NettyEpoll.EPOLLONESHOT
                | (readers.get(fd) != null ? NettyEpoll.EPOLLIN : 0)
                | (writers.get(fd) != null ? NettyEpoll.EPOLLOUT : 0);
        if (!NettyEpoll.ctlMod(epfd, fd, interest)) {
            NettyEpoll.ctlAdd(epfd, fd, interest);
        }
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

    private synchronized boolean closed() {
        return closed;
    }

    private int pollLocked(long timeoutNanos, int maxEvents) {
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

    private int dispatch(int fd, int ready) {
        Thread reader = (ready & READ_EVENTS) != 0 ? readers.take(fd) : null;
        Thread writer = (ready & WRITE_EVENTS) != 0 ? writers.take(fd) : null;
        if (readers.get(fd) != null || writers.get(fd) != null) {
            try {
                arm(fd);
            } catch (IOException e) {
                // The fd was closed meanwhile; its waiters are woken by stopPoll and see the close.
            }
        }
        int woken = 0;
        if (reader != null) {
            LockSupport.unpark(reader);
            woken++;
        }
        if (writer != null) {
            LockSupport.unpark(writer);
            woken++;
        }
        return woken;
    }

    @Override
    public long waits() {
        return waits.sum();
    }

    @Override
    public boolean hasWaiters() {
        return waiting.get() > 0;
    }

    @Override
    public void wakeup() {
        synchronized (this) {
            if (!closed) {
                NettyEpoll.eventFdWrite(eventFd.intValue(), 1L);
            }
        }
    }

    @Override
    public void stopPoll(int fd, int event) {
        FdWaiters table = waitersFor(event);
        Thread waiter = table == null ? null : table.take(fd);
        if (waiter != null) {
            LockSupport.unpark(waiter);
        }
    }

    @Override
    public void close() {
        pollLock.lock(); // no rescuer is inside epoll_wait on the fd about to close
        try {
            synchronized (this) {
                if (closed) {
                    return;
                }
                closed = true;
            }
        } finally {
            pollLock.unlock();
        }
        readers.takeAll(LockSupport::unpark);
        writers.takeAll(LockSupport::unpark);
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
