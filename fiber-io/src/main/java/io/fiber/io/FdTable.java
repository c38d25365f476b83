package io.fiber.io;

import io.fiber.internal.io.CarrierReactor;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * Everything one reactor keeps per file descriptor, in one table: the thread waiting to read, the
 * thread waiting to write, what the reactor believes of the fd's registration (the state bits
 * below), and the recheck epoch in which a waiter began to trust that registration.
 *
 * <h2>Layout</h2>
 * Indexed by fd, which the kernel keeps small and dense: a two-level table of 1024-fd pages created
 * on first use, so a reactor serving fds 3..10,000 holds ten pages and never rehashes, and any
 * thread reads a slot without a lock. A page holds all of its fds' fields (waiters at
 * {@code 2 * slot + direction}), so each operation below finds its page once. Pages are published
 * by a compare-and-set and never removed, and the scans ({@link #takeAll}, {@link #untrustWaitsBegunBy}) visit
 * only the pages created so far. fds at or above {@link #MAX_FD} are not taken (the JDK's
 * poller serves them: {@link #claim} refuses them, and nothing else reaches the table for an fd
 * that was never claimed).
 *
 * <p>Pages are made ahead of use ({@link #preparePage}, from the reactor's poll): a page created
 * inside a wait is a branch the JIT has seen taken rarely or never, so the compiled wait path
 * deoptimizes there (see {@code EpollReactor.preparePages}). The operations that may come first
 * for an fd ({@link #claim}, and those that set bits or a trust) still create a missing page;
 * the others treat a missing page as an fd with nothing in it.
 *
 * <h2>Waiters</h2>
 * A waiter slot goes from null to a thread by {@link #claim} (the waiter, on the owning carrier) and
 * back by {@link #take}, {@link #inputEvent}, {@link #outputEvent} or {@link #untrustWaitsBegunBy}
 * (the reactor or {@code stopPoll}, which then wake the thread returned), or by {@link #release} /
 * {@link #endWait} (the waiter itself, when it returns for another reason). Every transition is a
 * CAS or getAndSet, so:
 * <ul>
 *   <li>a claim succeeds only on an empty slot: one waiter per fd and direction;</li>
 *   <li>a waiter is handed out to be woken at most once per claim (the getAndSet that takes it
 *       empties the slot);</li>
 *   <li>a release clears only its own claim (a CAS from itself to null), never a later waiter's.</li>
 * </ul>
 *
 * <h2>State bits</h2>
 * {@link #READY_IN}/{@link #READY_OUT}: an edge that found no waiter of that direction, for the
 * next wait to consume (set by the dispatch and consumed by waiters, both under the reactor's poll
 * lock; anyone may clear them). {@link #REGISTERED_IN}/{@link #REGISTERED_OUT}: the interests
 * registered for the fd's current file, as far as the reactor knows; {@link #ADDED}: the fd is in
 * the epoll set. Every update is one atomic read-modify-write, so a thread may clear bits without
 * the poll lock. Invariants, asserted after each update ({@link #consistent}):
 * <ul>
 *   <li>registered implies added (both are set together, and no clear drops {@code ADDED} without
 *       the registered bits);</li>
 *   <li>{@link #DRAINED} implies {@code REGISTERED_IN}, and excludes {@link #READ_ARMED}.</li>
 * </ul>
 *
 * <p>Drained input ({@link #beginRead}, {@link #endRead}, {@link #inputEvent}): a read that comes
 * back short has emptied the socket, and while the fd stays registered for input, new data brings
 * an input event. So until that event is dispatched, the next read would find nothing and can be
 * skipped. The race to close: data arriving between the short read and the marking. A read arms
 * the fd before its system call, every input event disarms it, and the end of the read marks the
 * fd drained only if it is still armed (one compare-and-set), so an event dispatched at any point
 * after the read began leaves the fd undrained. Whatever stops the registration being trusted
 * ({@link #UNTRUSTED}) clears both bits.
 *
 * <h2>Trust</h2>
 * A wait that relies on an earlier registration stamps its fd with the recheck epoch it began in
 * ({@link #trustedSince}, never 0, which means no such wait; an fd's reader and writer share one
 * stamp). The waiter's {@link #endWait} clears the stamp only while it still holds the waiter's epoch
 * (a CAS), so a stamp of a later epoch stays, and {@link #untrustWaitsBegunBy} takes every stamp of
 * an epoch up to a bound, each at most once.
 *
 * <h2>Atomicity</h2>
 * Each of a slot's words (a waiter, the bits, the stamp) changes by single atomic steps only. An
 * operation that touches several ({@link #inputEvent} and {@link #outputEvent} take the waiter, then
 * update the bits; {@link #untrustWaitsBegunBy} ends a stamp, drops the bits, then takes the waiters;
 * {@link #endWait} ends a stamp, then releases) is a sequence of such steps, not atomic as a whole,
 * as when these words lived in three tables. Where an interleaving would matter, the reactor's poll
 * lock orders it: an event and a waiter's consumption of the readiness it leaves both hold it.
 */
final class FdTable {
    static final int PAGE_BITS = 10;
    static final int PAGE_SIZE = 1 << PAGE_BITS;
    static final int MAX_FD = 1 << 20;

    /** Directions, the second index of a waiter. */
    static final int READ = 0;
    static final int WRITE = 1;

    static final int READY_IN = 1;
    static final int READY_OUT = 2;
    /** Registered for input ({@code EPOLLIN|EPOLLRDHUP}), as far as this reactor knows. */
    static final int REGISTERED_IN = 4;
    /** Registered for output ({@code EPOLLOUT}) too. */
    static final int REGISTERED_OUT = 8;
    static final int REGISTERED = REGISTERED_IN | REGISTERED_OUT;
    /** A read began after every input event dispatched so far. */
    static final int READ_ARMED = 16;
    /** A read came back short while armed, and no input event has been dispatched since. */
    static final int DRAINED = 32;
    /** What an fd loses when its registration can no longer be trusted (a close, a recheck). */
    static final int UNTRUSTED = REGISTERED | READ_ARMED | DRAINED;
    /**
     * This reactor put the fd in its epoll set and has not seen it close since. A recheck keeps it
     * (the entry is most likely still there), a close drops it with {@link #UNTRUSTED}: it only
     * says which {@code epoll_ctl} to try first.
     */
    static final int ADDED = 64;
    /** What an fd loses when it closes. */
    static final int CLOSED = UNTRUSTED | ADDED;

    private static final VarHandle PAGES = MethodHandles.arrayElementVarHandle(Page[].class);
    private static final VarHandle WAITERS = MethodHandles.arrayElementVarHandle(Thread[].class);
    private static final VarHandle BITS = MethodHandles.arrayElementVarHandle(int[].class);
    private static final VarHandle SINCE = MethodHandles.arrayElementVarHandle(long[].class);

    /** One page's fds, every field accessed through the VarHandles above (volatile or atomic). */
    private static final class Page {
        /** The reader of slot s at {@code 2 * s + READ}, its writer at {@code 2 * s + WRITE}. */
        final Thread[] waiters = new Thread[2 * PAGE_SIZE];
        final int[] bits = new int[PAGE_SIZE];
        final long[] trustedSince = new long[PAGE_SIZE];
    }

    private final Page[] pages = new Page[MAX_FD >>> PAGE_BITS];
    /**
     * One more than the highest page index created so far, where the whole-table scans stop. Raised
     * before the page is published, so whoever finds a page (and then claims or stamps in it) is
     * covered by the bound a later scan reads.
     */
    private final AtomicInteger pagesInUse = new AtomicInteger();

    /** The readiness bit of {@code direction}: {@link #READY_IN} or {@link #READY_OUT}. */
    static int ready(int direction) {
        return READY_IN << direction;
    }

    /** The registration bit of {@code direction}: {@link #REGISTERED_IN} or {@link #REGISTERED_OUT}. */
    static int registered(int direction) {
        return REGISTERED_IN << direction;
    }

    // ---- waiters

    /** Registers {@code waiter} for {@code fd} and {@code direction}; false if fd is out of range or another thread waits there. */
    boolean claim(int fd, int direction, Thread waiter) {
        assert waiter != null && validDirection(direction);
        if (fd < 0 || fd >= MAX_FD) {
            return false;
        }
        return WAITERS.compareAndSet(pageFor(fd).waiters, waiterIndex(fd, direction), (Thread) null, waiter);
    }

    /** The thread waiting on {@code fd} in {@code direction}, or null. */
    Thread waiter(int fd, int direction) {
        assert validDirection(direction);
        Page page = page(fd);
        return page == null ? null : (Thread) WAITERS.getVolatile(page.waiters, waiterIndex(fd, direction));
    }

    /** Removes and returns the thread waiting on {@code fd} in {@code direction}, or null: the caller must wake it. */
    Thread take(int fd, int direction) {
        assert validDirection(direction);
        Page page = page(fd);
        return page == null ? null : (Thread) WAITERS.getAndSet(page.waiters, waiterIndex(fd, direction), (Thread) null);
    }

    /**
     * The waiter gives up its own claim: true if the claim was still there, false if it was taken
     * (whoever took it wakes the waiter).
     */
    boolean release(int fd, int direction, Thread waiter) {
        assert validDirection(direction);
        Page page = page(fd);
        return page != null && WAITERS.compareAndSet(page.waiters, waiterIndex(fd, direction), waiter, (Thread) null);
    }

    /**
     * The waiter returns: ends its trust begun in epoch {@code since} unless another has begun since
     * (0: it trusted nothing), then gives up its claim as {@link #release} does, with its result.
     */
    boolean endWait(int fd, int direction, Thread waiter, long since) {
        assert validDirection(direction);
        Page page = page(fd);
        if (page == null) {
            return false;
        }
        if (since != 0) {
            SINCE.compareAndSet(page.trustedSince, slot(fd), since, 0L);
        }
        return WAITERS.compareAndSet(page.waiters, waiterIndex(fd, direction), waiter, (Thread) null);
    }

    /** Takes every waiter, for a reactor that closes. */
    void takeAll(Consumer<Thread> sink) {
        for (int p = 0, n = pagesInUse.get(); p < n; p++) {
            Page page = (Page) PAGES.getAcquire(pages, p);
            if (page != null) {
                for (int i = 0; i < page.waiters.length; i++) {
                    Thread waiter = (Thread) WAITERS.getAndSet(page.waiters, i, (Thread) null);
                    if (waiter != null) {
                        sink.accept(waiter);
                    }
                }
            }
        }
    }

    // ---- events (the reactor's dispatch, under its poll lock)

    /**
     * An input event for {@code fd}: takes its reader (null if none; the caller must wake it), then
     * disarms and undrains the fd, and remembers {@link #READY_IN} when there was no reader (an
     * edge comes once: the next wait must not park past it).
     */
    Thread inputEvent(int fd) {
        Page page = pageFor(fd);
        Thread reader = (Thread) WAITERS.getAndSet(page.waiters, waiterIndex(fd, READ), (Thread) null);
        int remember = reader == null ? READY_IN : 0;
        int slot = slot(fd);
        while (true) {
            int bits = (int) BITS.getVolatile(page.bits, slot);
            int next = (bits & ~(READ_ARMED | DRAINED)) | remember;
            if (BITS.compareAndSet(page.bits, slot, bits, next)) {
                assert consistent(next) : bitsString(next);
                return reader;
            }
        }
    }

    /** An output event for {@code fd}: takes its writer (the caller must wake it), or remembers {@link #READY_OUT} when there was none. */
    Thread outputEvent(int fd) {
        Page page = pageFor(fd);
        Thread writer = (Thread) WAITERS.getAndSet(page.waiters, waiterIndex(fd, WRITE), (Thread) null);
        if (writer == null) {
            or(page, slot(fd), READY_OUT);
        }
        return writer;
    }

    // ---- state bits

    int bits(int fd) {
        Page page = page(fd);
        return page == null ? 0 : (int) BITS.getVolatile(page.bits, slot(fd));
    }

    void set(int fd, int bits) {
        or(pageFor(fd), slot(fd), bits);
    }

    /** Clears {@code bits} on {@code fd}; returns the bits that were set before. */
    int clear(int fd, int bits) {
        Page page = page(fd);
        if (page == null) {
            return 0;
        }
        int before = (int) BITS.getAndBitwiseAnd(page.bits, slot(fd), ~bits);
        assert consistent(before & ~bits) : bitsString(before & ~bits);
        return before;
    }

    /**
     * A read of {@code fd} is about to start: true when the fd is registered for input and known
     * drained (the drained mark is taken, so one read is skipped per short read); otherwise arms
     * the fd, and clears any remembered input readiness, which the read itself consumes.
     */
    boolean beginRead(int fd) {
        Page page = page(fd);
        if (page == null) {
            return false;
        }
        int slot = slot(fd);
        while (true) {
            int bits = (int) BITS.getVolatile(page.bits, slot);
            if ((bits & REGISTERED_IN) == 0) {
                return false;
            }
            boolean drained = (bits & DRAINED) != 0;
            int next = drained ? bits & ~DRAINED : (bits | READ_ARMED) & ~READY_IN;
            if (BITS.compareAndSet(page.bits, slot, bits, next)) {
                assert consistent(next) : bitsString(next);
                return drained;
            }
        }
    }

    /** The read {@link #beginRead} armed has returned; {@code drained}: it came back short. */
    void endRead(int fd, boolean drained) {
        Page page = page(fd);
        if (page == null) {
            return;
        }
        int slot = slot(fd);
        while (true) {
            int bits = (int) BITS.getVolatile(page.bits, slot);
            if ((bits & READ_ARMED) == 0) {
                return; // an input event came during the read, or the registration was dropped
            }
            int next = drained && (bits & REGISTERED_IN) != 0 ? (bits & ~READ_ARMED) | DRAINED : bits & ~READ_ARMED;
            if (BITS.compareAndSet(page.bits, slot, bits, next)) {
                assert consistent(next) : bitsString(next);
                return;
            }
        }
    }

    // ---- trust

    /** Marks a wait on {@code fd} that trusts its registration, begun in recheck {@code epoch} (never 0). */
    void trustedSince(int fd, long epoch) {
        assert epoch != 0 : "epoch 0 means no trusting wait";
        SINCE.setVolatile(pageFor(fd).trustedSince, slot(fd), epoch);
    }

    /** The epoch stamped by the trusting wait on {@code fd}, or 0; for tests. */
    long trustedSince(int fd) {
        Page page = page(fd);
        return page == null ? 0 : (long) SINCE.getVolatile(page.trustedSince, slot(fd));
    }

    /** Passes each waiter of each fd to {@code visitor}, reading without taking: for the fiber dump. */
    void forEachWaiter(CarrierReactor.WaiterVisitor visitor) {
        for (int p = 0, n = pagesInUse.get(); p < n; p++) {
            Page page = (Page) PAGES.getAcquire(pages, p);
            if (page == null) {
                continue;
            }
            for (int i = 0; i < 2 * PAGE_SIZE; i++) {
                Thread waiter = (Thread) WAITERS.getVolatile(page.waiters, i);
                if (waiter != null) {
                    visitor.waiting(waiter, (p << PAGE_BITS) + i / 2, i % 2 == WRITE);
                }
            }
        }
    }

    /**
     * For each fd whose trusting wait began in recheck epoch {@code last} or earlier: ends that
     * trust, drops the registration's {@link #UNTRUSTED} bits (the wait that follows registers
     * again, proving the entry), and takes the fd's reader, then its writer, passing each to
     * {@code wake}. Returns how many threads it passed.
     */
    int untrustWaitsBegunBy(long last, Consumer<Thread> wake) {
        int woken = 0;
        for (int p = 0, n = pagesInUse.get(); p < n; p++) {
            Page page = (Page) PAGES.getAcquire(pages, p);
            if (page == null) {
                continue;
            }
            for (int i = 0; i < PAGE_SIZE; i++) {
                long since = (long) SINCE.getVolatile(page.trustedSince, i);
                if (since != 0 && since <= last && SINCE.compareAndSet(page.trustedSince, i, since, 0L)) {
                    int before = (int) BITS.getAndBitwiseAnd(page.bits, i, ~UNTRUSTED);
                    assert consistent(before & ~UNTRUSTED) : bitsString(before & ~UNTRUSTED);
                    for (int direction = READ; direction <= WRITE; direction++) {
                        Thread waiter = (Thread) WAITERS.getAndSet(page.waiters, 2 * i + direction, (Thread) null);
                        if (waiter != null) {
                            wake.accept(waiter);
                            woken++;
                        }
                    }
                }
            }
        }
        return woken;
    }

    // ---- pages

    /** Creates the page that holds {@code fd} if it is not there yet (the reactor does so ahead of use). */
    void preparePage(int fd) {
        if (fd >= 0 && fd < MAX_FD) {
            pageFor(fd);
        }
    }

    /** True when the page that holds {@code fd} exists. */
    boolean hasPage(int fd) {
        return page(fd) != null;
    }

    private Page page(int fd) {
        return fd < 0 || fd >= MAX_FD ? null : (Page) PAGES.getAcquire(pages, fd >>> PAGE_BITS);
    }

    private Page pageFor(int fd) {
        Page page = (Page) PAGES.getAcquire(pages, fd >>> PAGE_BITS);
        return page != null ? page : newPage(fd >>> PAGE_BITS);
    }

    /** Creates page {@code index}, or returns the one a racing thread created first. */
    private Page newPage(int index) {
        pagesInUse.accumulateAndGet(index + 1, Math::max);
        Page page = new Page();
        Page raced = (Page) PAGES.compareAndExchange(pages, index, (Page) null, page);
        return raced != null ? raced : page;
    }

    private static void or(Page page, int slot, int bits) {
        int before = (int) BITS.getAndBitwiseOr(page.bits, slot, bits);
        assert consistent(before | bits) : bitsString(before | bits);
    }

    private static int slot(int fd) {
        return fd & (PAGE_SIZE - 1);
    }

    private static int waiterIndex(int fd, int direction) {
        return 2 * slot(fd) + direction;
    }

    private static boolean validDirection(int direction) {
        return direction == READ || direction == WRITE;
    }

    /** The invariants of the class comment's state bits, which every update keeps. */
    static boolean consistent(int bits) {
        boolean registeredImpliesAdded = (bits & REGISTERED) == 0 || (bits & ADDED) != 0;
        boolean drainedOnlyRegisteredUnarmed = (bits & DRAINED) == 0 || (bits & (REGISTERED_IN | READ_ARMED)) == REGISTERED_IN;
        return registeredImpliesAdded && drainedOnlyRegisteredUnarmed;
    }

    static String bitsString(int bits) {
        return "fd state bits 0b" + Integer.toBinaryString(bits);
    }
}
