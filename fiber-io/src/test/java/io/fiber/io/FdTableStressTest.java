package io.fiber.io;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

import static io.fiber.io.FdTable.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * {@link FdTable}'s waiter slots under contention, as the reactor uses them: waiters claim a slot,
 * park, and when nobody woke them release it, while wakers take waiters from the slots in every way
 * the reactor does ({@code take}, input and output events, a recheck, a close). The properties:
 * every successful claim ends exactly once, either by the waiter's own release or by one wake (no
 * double wake), and a waiter whose release fails is always woken (no lost wakeup: it would wait
 * out its deadline). Each waiter counts its claims, its releases and the wakes it expects; the
 * wakers count the wakes they hand out, and the two must agree per waiter.
 */
class FdTableStressTest {
    /** Few slots, so claims contend: fds 3..5 in both directions, a page apart for fd 5. */
    private static final int[] FDS = {3, 4, PAGE_SIZE + 5};
    private static final int WAITERS_PER_SLOT = 2;
    private static final long RUN_NANOS = TimeUnit.MILLISECONDS.toNanos(1500);

    private final FdTable table = new FdTable();
    /** Per waiter: wakes handed out to it by the wakers. */
    private final Map<Thread, AtomicLong> wakes = new ConcurrentHashMap<>();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final AtomicBoolean stop = new AtomicBoolean();

    @Test
    void everyClaimEndsOnceAndNoWakeupIsLost() throws Exception {
        List<Waiter> waiters = new ArrayList<>();
        for (int fd : FDS) {
            for (int direction = READ; direction <= WRITE; direction++) {
                for (int i = 0; i < WAITERS_PER_SLOT; i++) {
                    waiters.add(new Waiter(fd, direction));
                }
            }
        }
        CountDownLatch started = new CountDownLatch(waiters.size());
        List<Thread> threads = new ArrayList<>();
        for (Waiter w : waiters) {
            Thread t = Thread.ofPlatform().name("waiter-" + w.fd + "-" + w.direction).unstarted(() -> {
                started.countDown();
                run(w::run);
            });
            w.thread = t;
            wakes.put(t, new AtomicLong());
            threads.add(t);
        }
        threads.add(Thread.ofPlatform().name("taker").unstarted(() -> run(this::takes)));
        threads.add(Thread.ofPlatform().name("dispatcher").unstarted(() -> run(this::dispatches)));
        threads.add(Thread.ofPlatform().name("rechecker").unstarted(() -> run(this::rechecks)));
        threads.forEach(Thread::start);
        started.await();
        Thread.sleep(TimeUnit.NANOSECONDS.toMillis(RUN_NANOS));
        stop.set(true);
        for (Thread t : threads) {
            t.join(TimeUnit.SECONDS.toMillis(30));
            assertFalse(t.isAlive(), t.getName() + " did not finish");
        }
        if (failure.get() != null) {
            throw new AssertionError("a stress thread failed", failure.get());
        }
        table.takeAll(t -> fail("a slot was left claimed by " + t.getName()));
        long claims = 0;
        long woken = 0;
        for (Waiter w : waiters) {
            assertEquals(w.claims - w.released, wakes.get(w.thread).get(),
                    w.thread.getName() + ": each claim not released must have been woken once");
            assertTrue(w.claims > 0, w.thread.getName() + " never claimed");
            claims += w.claims;
            woken += w.claims - w.released;
        }
        assertTrue(woken > 100 && claims - woken > 100, "both ends were exercised: claims " + claims + ", woken " + woken);
    }

    private final class Waiter {
        final int fd;
        final int direction;
        Thread thread;
        long claims;
        long released;

        Waiter(int fd, int direction) {
            this.fd = fd;
            this.direction = direction;
        }

        void run() {
            ThreadLocalRandom random = ThreadLocalRandom.current();
            AtomicLong myWakes = wakes.get(thread);
            while (!stop.get()) {
                if (!table.claim(fd, direction, thread)) {
                    Thread.onSpinWait(); // the other waiter of this slot holds it
                    continue;
                }
                claims++;
                long since = random.nextBoolean() ? 1 + random.nextInt(3) : 0;
                if (since != 0) {
                    table.trustedSince(fd, since);
                }
                long expected = claims - released;
                if (random.nextInt(4) != 0) {
                    LockSupport.parkNanos(random.nextInt(20_000)); // as a wait does, unparked by a wake or not
                }
                if (myWakes.get() == expected) { // woken: the claim must be gone
                    assertFalse(table.endWait(fd, direction, thread, since), "woken while its claim stayed (a double wake of an earlier one)");
                    continue;
                }
                boolean ownRelease = random.nextBoolean() ? table.release(fd, direction, thread) : table.endWait(fd, direction, thread, since);
                if (ownRelease) {
                    released++;
                    assertEquals(expected - 1, myWakes.get(), "released a claim that was also woken");
                    continue;
                }
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (myWakes.get() != expected) { // taken: the wake is on its way
                    assertTrue(System.nanoTime() < deadline, "lost wakeup: a taken claim was never woken");
                    LockSupport.parkNanos(1000);
                }
            }
            assertEquals(claims - released, myWakes.get(), thread.getName() + ": woken more often than claimed (a double wake)");
        }
    }

    private void wake(Thread waiter) {
        wakes.get(waiter).incrementAndGet();
        LockSupport.unpark(waiter);
    }

    private void takes() {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        while (!stop.get()) {
            int fd = FDS[random.nextInt(FDS.length)];
            if (random.nextInt(8) == 0) {
                table.clear(fd, CLOSED); // as stopPoll does
            }
            Thread t = table.take(fd, random.nextInt(2));
            if (t != null) {
                wake(t);
            }
            Thread.onSpinWait();
        }
    }

    private void dispatches() {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        while (!stop.get()) {
            int fd = FDS[random.nextInt(FDS.length)];
            table.set(fd, REGISTERED_IN | ADDED);
            if (random.nextBoolean()) {
                table.beginRead(fd);
                table.endRead(fd, random.nextBoolean());
            }
            Thread t = random.nextBoolean() ? table.inputEvent(fd) : table.outputEvent(fd);
            if (t != null) {
                wake(t);
            }
            Thread.onSpinWait();
        }
    }

    private void rechecks() {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        while (!stop.get()) {
            if (random.nextInt(16) == 0) {
                table.takeAll(this::wake); // as a close does, though the table goes on here
            } else {
                table.untrustWaitsBegunBy(1 + random.nextInt(3), this::wake);
            }
            LockSupport.parkNanos(5_000);
        }
    }

    private void run(Runnable body) {
        try {
            body.run();
        } catch (Throwable t) {
            failure.compareAndSet(null, t);
            stop.set(true);
        }
    }
}
