package io.fiber;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static io.fiber.TestFibers.*;
import static org.junit.jupiter.api.Assertions.*;

/** {@link FiberPool}: bounded concurrency and back pressure. */
@org.junit.jupiter.api.Timeout(value = 30, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
class FiberPoolTest {

    @Test
    void neverMoreThanSizeBodiesRunAndTheBoundIsReached() throws Exception {
        int size = 4;
        int tasks = 1_000;
        AtomicInteger active = new AtomicInteger();
        AtomicInteger maxActive = new AtomicInteger();
        AtomicInteger completed = new AtomicInteger();
        // The first four bodies wait for each other: the pool must let four run at once, or this stalls.
        CountDownLatch firstFour = new CountDownLatch(size);
        try (FiberScheduler s = scheduler("pool-bound")) {
            List<Fiber<Void>> fibers = new ArrayList<>(tasks);
            try (FiberPool pool = new FiberPool(size, s)) {
                for (int i = 0; i < tasks; i++) {
                    int k = i;
                    fibers.add(pool.spawn(() -> {
                        int now = active.incrementAndGet();
                        maxActive.accumulateAndGet(now, Math::max);
                        try {
                            if (k < size) {
                                firstFour.countDown();
                                if (!firstFour.await(20, TimeUnit.SECONDS)) {
                                    throw new AssertionError("the pool never ran " + size + " bodies at once");
                                }
                            } else if (k % 2 == 0) {
                                Fibers.sleep(Duration.ofNanos(200_000));
                            } else {
                                Fibers.yield();
                            }
                        } finally {
                            active.decrementAndGet();
                        }
                        completed.incrementAndGet();
                        return null;
                    }));
                    assertTrue(pool.running() <= size, "running() " + pool.running());
                }
                pool.waitAll();
                assertEquals(0, pool.running());
            }
            assertEquals(tasks, completed.get());
            assertEquals(size, maxActive.get(), "max bodies running at once");
            for (Fiber<Void> f : fibers) {
                assertEquals(Fiber.State.SUCCEEDED, f.state());
            }
        }
    }

    @Test
    void spawnBlocksTheCallerWhileThePoolIsFull() throws Exception {
        int size = 4;
        try (FiberScheduler s = scheduler("pool-full"); FiberPool pool = new FiberPool(size, s)) {
            List<CountDownLatch> releases = new ArrayList<>();
            List<Fiber<Integer>> fibers = new ArrayList<>();
            CountDownLatch allStarted = new CountDownLatch(size);
            for (int i = 0; i < size; i++) {
                CountDownLatch release = new CountDownLatch(1);
                releases.add(release);
                int k = i;
                fibers.add(pool.spawn(() -> {
                    allStarted.countDown();
                    release.await();
                    return k;
                }));
                assertEquals(size - i - 1, pool.free());
            }
            await(allStarted);
            assertEquals(size, pool.running());
            assertEquals(0, pool.free());

            CountDownLatch fifthReturned = new CountDownLatch(1);
            AtomicReference<Fiber<String>> fifth = new AtomicReference<>();
            AtomicReference<Boolean> releasedDoneWhenFifthReturned = new AtomicReference<>();
            AtomicReference<Throwable> spawnerFailure = new AtomicReference<>();
            Thread spawner = Thread.ofPlatform().start(() -> {
                try {
                    fifth.set(pool.spawn(() -> "fifth"));
                    releasedDoneWhenFifthReturned.set(fibers.get(1).isDone());
                } catch (Throwable t) {
                    spawnerFailure.set(t);
                }
                fifthReturned.countDown();
            });
            assertFalse(fifthReturned.await(300, TimeUnit.MILLISECONDS), "the 5th spawn returned while the pool was full");
            assertTrue(spawner.isAlive());
            assertNull(fifth.get());

            releases.get(1).countDown(); // one slot frees up
            await(fifthReturned);
            assertNull(spawnerFailure.get());
            assertEquals(Boolean.TRUE, releasedDoneWhenFifthReturned.get(), "the slot is given back only after the body ended");
            assertEquals("fifth", result(fifth.get()));
            assertEquals(1, result(fibers.get(1)));
            for (int i : new int[] {0, 2, 3}) {
                assertFalse(fibers.get(i).isDone(), "fiber " + i + " was never released");
            }
            spawner.join();
            for (CountDownLatch r : releases) {
                r.countDown();
            }
            pool.waitAll();
            assertEquals(0, pool.running());
            assertEquals(size, pool.free());
        }
    }

    @Test
    void waitAllReturnsWhenAllAreDone() throws Exception {
        try (FiberScheduler s = scheduler("pool-wait"); FiberPool pool = new FiberPool(3, s)) {
            AtomicInteger done = new AtomicInteger();
            List<Fiber<Void>> fibers = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                int k = i;
                fibers.add(pool.spawn(() -> {
                    Fibers.sleep(Duration.ofMillis(10 + 5 * (k % 4)));
                    done.incrementAndGet();
                    return null;
                }));
            }
            pool.waitAll();
            assertEquals(10, done.get(), "waitAll returned before every fiber ended");
            for (Fiber<Void> f : fibers) {
                assertTrue(f.isDone(), f.toString());
            }
            assertEquals(0, pool.running());
            assertEquals(3, pool.free());
            pool.waitAll(); // nothing running: returns at once
        }
    }

    /** Once waitAll() says no fiber runs, every slot must be free: a spawn right after it must not wait. */
    @Test
    void everySlotIsFreeOnceWaitAllReturns() throws Exception {
        int size = 4;
        try (FiberScheduler s = scheduler("pool-slots"); FiberPool pool = new FiberPool(size, s)) {
            for (int round = 0; round < 300; round++) {
                for (int i = 0; i < size; i++) {
                    pool.spawn(Fibers::yield);
                }
                pool.waitAll();
                assertEquals(0, pool.running());
                assertEquals(size, pool.free(), "round " + round + ": waitAll returned before every slot was given back");
            }
        }
    }

    @Test
    void runningFreeAndSize() throws Exception {
        try (FiberScheduler s = scheduler("pool-counts"); FiberPool pool = new FiberPool(3, s)) {
            assertEquals(3, pool.size());
            assertEquals(0, pool.running());
            assertEquals(3, pool.free());
            CountDownLatch release = new CountDownLatch(1);
            CountDownLatch started = new CountDownLatch(2);
            for (int i = 0; i < 2; i++) {
                pool.spawn(() -> {
                    started.countDown();
                    release.await();
                    return null;
                });
            }
            await(started);
            assertEquals(2, pool.running());
            assertEquals(1, pool.free());
            assertEquals(3, pool.size());
            release.countDown();
            pool.waitAll();
            assertEquals(0, pool.running());
            assertEquals(3, pool.free());
        }
    }

    @Test
    void failedAndCancelledFibersGiveTheirSlotBack() throws Exception {
        try (FiberScheduler s = scheduler("pool-fail"); FiberPool pool = new FiberPool(1, s)) {
            IllegalStateException boom = new IllegalStateException("boom");
            Fiber<Void> failing = pool.spawn(() -> {
                throw boom;
            });
            assertSame(boom, assertThrows(FiberException.class, failing::get).getCause());
            CountDownLatch started = new CountDownLatch(1);
            Fiber<Void> sleeper = pool.spawn(() -> {
                started.countDown();
                Fibers.sleep(Duration.ofHours(1));
                return null;
            });
            await(started);
            assertTrue(sleeper.cancel());
            // The next spawn gets the slot (it would block forever if the cancelled fiber kept it).
            assertEquals("after", result(pool.spawn(() -> "after")));
            assertEquals(Fiber.State.CANCELLED, sleeper.state());
            pool.waitAll();
            assertEquals(1, pool.free());
        }
    }

    @Test
    void spawnOnAShutDownSchedulerGivesTheSlotBack() throws Exception {
        try (FiberScheduler s = scheduler("pool-shutdown"); FiberPool pool = new FiberPool(2, s)) {
            s.shutdown();
            for (int i = 0; i < 3; i++) { // more attempts than slots: a leaked slot would block the third
                assertThrows(RejectedExecutionException.class, () -> pool.spawn(() -> "late"));
            }
            assertEquals(2, pool.free());
            assertEquals(0, pool.running());
            pool.waitAll();
        }
    }

    @Test
    void sizeBelowOneIsRejected() throws Exception {
        try (FiberScheduler s = scheduler("pool-size")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new FiberPool(0, s));
            assertTrue(e.getMessage().contains("pool size") && e.getMessage().contains("got 0"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> new FiberPool(-2, s));
            assertTrue(e.getMessage().contains("-2"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> new FiberPool(0));
            assertThrows(NullPointerException.class, () -> new FiberPool(1, null));
        }
    }

    @Test
    void spawnBlockedUnderATimeoutThrowsFiberTimeoutException() throws Exception {
        try (FiberScheduler s = scheduler("pool-timeout"); FiberPool pool = new FiberPool(1, s)) {
            CountDownLatch release = new CountDownLatch(1);
            Fiber<Void> occupant = pool.spawn(() -> {
                release.await();
                return null;
            });
            AtomicBoolean ran = new AtomicBoolean();
            long t0 = System.nanoTime();
            FiberTimeoutException e = assertThrows(FiberTimeoutException.class, () -> {
                try (Timeout t = Timeout.after(Duration.ofMillis(50))) {
                    pool.spawn(() -> ran.set(true));
                }
            });
            long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertEquals(Duration.ofMillis(50), e.timeout());
            assertTrue(took >= 40 && took < 10_000, "spawn gave up after " + took + " ms");
            assertFalse(Thread.currentThread().isInterrupted(), "the timeout left its interrupt behind");
            // The timed-out spawn took no slot and started nothing.
            assertEquals(1, pool.running());
            assertEquals(0, pool.free());
            release.countDown();
            result(occupant);
            pool.waitAll();
            assertEquals(1, pool.free());
            assertFalse(ran.get());
            assertEquals(1, s.stats().fibersSpawned());
        }
    }

    @Test
    void spawnBlockedInAFiberUnderATimeoutThrowsFiberTimeoutException() throws Exception {
        try (FiberScheduler s = scheduler("pool-timeout-fiber"); FiberPool pool = new FiberPool(1, s)) {
            CountDownLatch release = new CountDownLatch(1);
            pool.spawn(() -> {
                release.await();
                return null;
            });
            Fiber<Duration> f = s.spawn(() -> {
                try (Timeout t = Timeout.after(Duration.ofMillis(50))) {
                    pool.spawn(() -> { });
                    return Duration.ZERO;
                } catch (FiberTimeoutException e) {
                    assertFalse(Thread.currentThread().isInterrupted());
                    return e.timeout();
                }
            });
            assertEquals(Duration.ofMillis(50), result(f));
            release.countDown();
            pool.waitAll();
            assertEquals(1, pool.free());
        }
    }

    @Test
    void closeWaitsForEverything() throws Exception {
        try (FiberScheduler s = scheduler("pool-close")) {
            AtomicInteger finished = new AtomicInteger();
            List<Fiber<Void>> fibers = new ArrayList<>();
            CountDownLatch release = new CountDownLatch(1);
            FiberPool pool = new FiberPool(4, s);
            for (int i = 0; i < 4; i++) {
                fibers.add(pool.spawn(() -> {
                    release.await();
                    Fibers.sleep(Duration.ofMillis(50));
                    finished.incrementAndGet();
                    return null;
                }));
            }
            Thread releaser = countDownLater(release, 100);
            pool.close();
            assertEquals(4, finished.get(), "close returned before every fiber ended");
            for (Fiber<Void> f : fibers) {
                assertTrue(f.isDone(), f.toString());
            }
            assertEquals(0, pool.running());
            releaser.join();
        }
    }

    @Test
    void closeIsUninterruptibleAndKeepsTheInterrupt() throws Exception {
        try (FiberScheduler s = scheduler("pool-close-int")) {
            CountDownLatch release = new CountDownLatch(1);
            FiberPool pool = new FiberPool(2, s);
            Fiber<Void> f = pool.spawn(() -> {
                release.await();
                return null;
            });
            Thread.currentThread().interrupt();
            Thread releaser = countDownLater(release, 100);
            pool.close();
            assertTrue(Thread.interrupted(), "close must restore the interrupt it swallowed");
            assertTrue(f.isDone(), "close returned early on an interrupt");
            releaser.join();
        }
    }

    @Test
    void poolInAFiberUsesThatFibersScheduler() throws Exception {
        try (FiberScheduler s = scheduler("pool-sched")) {
            FiberScheduler seen = result(s.spawn(() -> {
                try (FiberPool pool = new FiberPool(2)) {
                    return pool.spawn(FiberScheduler::current).get();
                }
            }));
            assertSame(s, seen);
        }
    }
}
