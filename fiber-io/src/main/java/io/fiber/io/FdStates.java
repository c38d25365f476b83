package io.fiber.io;

import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.IntConsumer;

/**
 * What one reactor believes of each fd ({@link EpollReactor}'s edge-triggered registration): which
 * interests it registered for the fd's current file, readiness that an event reported while
 * nobody waited, whether the input is known to be drained, and in which recheck epoch a waiter
 * began to trust the registration without a system call.
 *
 * <p>Drained input ({@link #beginRead}, {@link #endRead}, {@link #inputEvent}): a read that comes
 * back short has emptied the socket, and while the fd stays registered for input, new data brings
 * an input event. So until that event is dispatched, the next read would find nothing and can be
 * skipped. The race to close: data arriving between the short read and the marking. A read arms
 * the fd before its system call, every input event disarms it, and the end of the read marks the
 * fd drained only if it is still armed (one compare-and-set), so an event dispatched at any point
 * after the read began leaves the fd undrained. Whatever stops the registration being trusted
 * ({@link #UNTRUSTED}) clears both bits.
 * Paged like {@link FdWaiters}, pages prepared ahead the same way; fds at or above
 * {@link FdWaiters#MAX_FD} never get here (their waits are not claimed). Every update is atomic, so a thread may clear bits without the poll lock.
 */
final class FdStates {
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

    private record Page(AtomicIntegerArray bits, AtomicLongArray trustedSince) { }

    private final AtomicReferenceArray<Page> pages = new AtomicReferenceArray<>(FdWaiters.MAX_FD >>> FdWaiters.PAGE_BITS);

    void set(int fd, int bits) {
        Page page = pageFor(fd);
        page.bits.accumulateAndGet(slot(fd), bits, (a, b) -> a | b);
    }

    /** Clears {@code bits} on {@code fd}; returns the bits that were set before. */
    int clear(int fd, int bits) {
        Page page = page(fd);
        return page == null ? 0 : page.bits.getAndAccumulate(slot(fd), ~bits, (a, b) -> a & b);
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
            int bits = page.bits.get(slot);
            if ((bits & REGISTERED_IN) == 0) {
                return false;
            }
            boolean drained = (bits & DRAINED) != 0;
            int next = drained ? bits & ~DRAINED : (bits | READ_ARMED) & ~READY_IN;
            if (page.bits.compareAndSet(slot, bits, next)) {
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
            int bits = page.bits.get(slot);
            if ((bits & READ_ARMED) == 0) {
                return; // an input event came during the read, or the registration was dropped
            }
            int next = drained && (bits & REGISTERED_IN) != 0 ? (bits & ~READ_ARMED) | DRAINED : bits & ~READ_ARMED;
            if (page.bits.compareAndSet(slot, bits, next)) {
                return;
            }
        }
    }

    /** An input event for {@code fd}: disarms and undrains it, and remembers the readiness when nobody waited. */
    void inputEvent(int fd, boolean remember) {
        pageFor(fd).bits.accumulateAndGet(slot(fd), remember ? READY_IN : 0, (bits, ready) -> (bits & ~(READ_ARMED | DRAINED)) | ready);
    }

    /** Creates the page that holds {@code fd} if it is not there yet (the reactor does so ahead of use). */
    void preparePage(int fd) {
        if (fd >= 0 && fd < FdWaiters.MAX_FD) {
            pageFor(fd);
        }
    }

    /** True when the page that holds {@code fd} exists. */
    boolean hasPage(int fd) {
        return page(fd) != null;
    }

    int get(int fd) {
        Page page = page(fd);
        return page == null ? 0 : page.bits.get(slot(fd));
    }

    /** Marks a wait on {@code fd} that trusts its registration, begun in recheck {@code epoch} (never 0). */
    void trustedSince(int fd, long epoch) {
        pageFor(fd).trustedSince.set(slot(fd), epoch);
    }

    /** Ends the trusting wait that began at {@code since}, unless another has begun since. */
    void endTrust(int fd, long since) {
        Page page = page(fd);
        if (page != null) {
            page.trustedSince.compareAndSet(slot(fd), since, 0);
        }
    }

    /** For each fd whose trusting wait began in recheck epoch {@code last} or earlier: ends that trust and passes the fd on. */
    void takeTrustsBegunBy(long last, IntConsumer sink) {
        for (int p = 0; p < pages.length(); p++) {
            Page page = pages.get(p);
            if (page == null) {
                continue;
            }
            for (int i = 0; i < FdWaiters.PAGE_SIZE; i++) {
                long since = page.trustedSince.get(i);
                if (since != 0 && since <= last && page.trustedSince.compareAndSet(i, since, 0)) {
                    sink.accept((p << FdWaiters.PAGE_BITS) | i);
                }
            }
        }
    }

    private static int slot(int fd) {
        return fd & (FdWaiters.PAGE_SIZE - 1);
    }

    private Page page(int fd) {
        return fd < 0 || fd >= FdWaiters.MAX_FD ? null : pages.get(fd >>> FdWaiters.PAGE_BITS);
    }

    private Page pageFor(int fd) {
        Page page = pages.get(fd >>> FdWaiters.PAGE_BITS);
        if (page == null) {
            page = new Page(new AtomicIntegerArray(FdWaiters.PAGE_SIZE), new AtomicLongArray(FdWaiters.PAGE_SIZE));
            if (!pages.compareAndSet(fd >>> FdWaiters.PAGE_BITS, null, page)) {
                page = pages.get(fd >>> FdWaiters.PAGE_BITS);
            }
        }
        return page;
    }
}
