package io.fiber.io;

import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Consumer;

/**
 * Which thread waits on each file descriptor, for one direction (read or write) of one reactor.
 *
 * <p>Indexed by fd, which the kernel keeps small and dense: a two-level table of 1024-entry pages
 * created on first use, so a reactor serving fds 3..10,000 holds ten pages and never rehashes, and
 * any thread can read a slot without a lock. fds at or above {@link #MAX_FD} are not taken (the
 * JDK's poller serves them).
 *
 * <p>A slot goes from null to a thread by {@link #claim} (the waiter, on the owning carrier) and back
 * by {@link #take} (the reactor or {@code stopPoll}, which then wake it) or by {@link #release} (the
 * waiter itself, when it returns for another reason). Every transition is a CAS or getAndSet, so a
 * waiter is woken at most once per claim and a release never clears a later waiter's claim.
 */
final class FdWaiters {
    static final int PAGE_BITS = 10;
    static final int PAGE_SIZE = 1 << PAGE_BITS;
    static final int MAX_FD = 1 << 20;

    private final AtomicReferenceArray<AtomicReferenceArray<Thread>> pages =
            new AtomicReferenceArray<>(MAX_FD >>> PAGE_BITS);

    /** Registers {@code waiter} for {@code fd}; false if fd is out of range or another thread waits there. */
    boolean claim(int fd, Thread waiter) {
        if (fd < 0 || fd >= MAX_FD) {
            return false;
        }
        return pageFor(fd).compareAndSet(fd & (PAGE_SIZE - 1), null, waiter);
    }

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

    /** The thread waiting on {@code fd}, or null. */
    Thread get(int fd) {
        AtomicReferenceArray<Thread> page = page(fd);
        return page == null ? null : page.get(fd & (PAGE_SIZE - 1));
    }

    /** Removes and returns the thread waiting on {@code fd}, or null: the caller must wake it. */
    Thread take(int fd) {
        AtomicReferenceArray<Thread> page = page(fd);
        return page == null ? null : page.getAndSet(fd & (PAGE_SIZE - 1), null);
    }

    /** The waiter gives up its own claim; no effect if it was already taken. */
    void release(int fd, Thread waiter) {
        AtomicReferenceArray<Thread> page = page(fd);
        if (page != null) {
            page.compareAndSet(fd & (PAGE_SIZE - 1), waiter, null);
        }
    }

    /** Takes every waiter, for a reactor that closes. */
    void takeAll(Consumer<Thread> sink) {
        for (int p = 0; p < pages.length(); p++) {
            AtomicReferenceArray<Thread> page = pages.get(p);
            if (page != null) {
                for (int i = 0; i < PAGE_SIZE; i++) {
                    Thread waiter = page.getAndSet(i, null);
                    if (waiter != null) {
                        sink.accept(waiter);
                    }
                }
            }
        }
    }

    private AtomicReferenceArray<Thread> pageFor(int fd) {
        AtomicReferenceArray<Thread> page = pages.get(fd >>> PAGE_BITS);
        if (page == null) {
            page = new AtomicReferenceArray<>(PAGE_SIZE);
            if (!pages.compareAndSet(fd >>> PAGE_BITS, null, page)) {
                page = pages.get(fd >>> PAGE_BITS);
            }
        }
        return page;
    }

    private AtomicReferenceArray<Thread> page(int fd) {
        return fd < 0 || fd >= MAX_FD ? null : pages.get(fd >>> PAGE_BITS);
    }
}
