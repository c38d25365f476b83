package io.fiber.io;

import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.IntConsumer;

/**
 * What one reactor believes of each fd ({@link EpollReactor}'s edge-triggered registration): which
 * interests it registered for the fd's current file, readiness that an event reported while
 * nobody waited, and in which recheck epoch a waiter began to trust the registration without a
 * system call.
 * Paged like {@link FdWaiters}; fds at or above {@link FdWaiters#MAX_FD} never get here (their
 * waits are not claimed). Every update is atomic, so a thread may clear bits without the poll lock.
 */
final class FdStates {
    static final int READY_IN = 1;
    static final int READY_OUT = 2;
    /** Registered for input ({@code EPOLLIN|EPOLLRDHUP}), as far as this reactor knows. */
    static final int REGISTERED_IN = 4;
    /** Registered for output ({@code EPOLLOUT}) too. */
    static final int REGISTERED_OUT = 8;
    static final int REGISTERED = REGISTERED_IN | REGISTERED_OUT;

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
