package io.fiber;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static io.fiber.TestFibers.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Bounds on live fibers ({@code maxLiveFibers}): a spawner at the bound waits for a fiber to end or
 * is refused, whatever ends the fiber, and the count stays exact under concurrent spawns and ends.
 * Every wait here is for an event (a thread blocked, a latch), never for a time.
 */
@org.junit.jupiter.api.Timeout(value = 60, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
class AdmissionTest {

    private static FiberScheduler bounded(String name, int max, AdmissionPolicy policy) {
        FiberScheduler s = FiberScheduler.builder().carriers(2).name(name).maxLiveFibers(max, policy).build();
        assertTrue(s.usesOwnCarriers(), "fibers must run on our carriers (surefire passes --add-opens)");
        return s;
    }

    /** {@code n} fibers of {@code s} that wait for {@code release}. */
    private static List<Fiber<Void>> holders(FiberScheduler s, int n, CountDownLatch release) {
        List<Fiber<Void>> fibers = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            fibers.add(s.spawn(() -> {
                try {
                    release.await();
                } catch (InterruptedException e) {
                    throw new RuntimeException(e);
                }
            }));
        }
        return fibers;
    }

    /** A platform thread that spawns one fiber on {@code s} and keeps it, or what the spawn threw. */
    private static Thread spawnFrom(FiberScheduler s, AtomicReference<Object> outcome) {
        return Thread.ofPlatform().name("spawner").start(() -> {
            try {
                outcome.set(s.spawn(() -> "spawned"));
            } catch (Throwable t) {
                outcome.set(t);
            }
        });
    }

    @Test
    void aPlatformSpawnerWaitsUntilAFiberEnds() throws Exception {
        try (FiberScheduler s = bounded("wait-platform", 2, AdmissionPolicy.WAIT)) {
            CountDownLatch release = new CountDownLatch(1);
            List<Fiber<Void>> held = holders(s, 2, release);
            AtomicReference<Object> outcome = new AtomicReference<>();
            Thread spawner = spawnFrom(s, outcome);
            awaitBlocked(spawner);
            assertNull(outcome.get());
            AdmissionStats stats = s.stats().admission();
            assertEquals(2, stats.maxLiveFibers());
            assertEquals(AdmissionPolicy.WAIT, stats.policy());
            assertEquals(2, stats.live());
            assertEquals(1, stats.waiting());
            assertEquals(2, s.stats().fibersSpawned(), "the waiting spawn has made no fiber yet");
            release.countDown();
            spawner.join();
            assertEquals("spawned", result(castFiber(outcome.get())));
            for (Fiber<Void> f : held) {
                result(f);
            }
            AdmissionStats after = s.stats().admission();
            assertEquals(0, after.live());
            assertEquals(0, after.waiting());
            assertEquals(1, after.waited());
            assertEquals(0, after.rejected());
            assertTrue(s.stats().toString().contains("at most 2 live (WAIT)"), s.stats().toString());
        }
    }

    @SuppressWarnings("unchecked")
    private static Fiber<String> castFiber(Object o) {
        if (o instanceof Throwable t) {
            throw new AssertionError("the spawn failed", t);
        }
        return (Fiber<String>) o;
    }

    @Test
    void aFiberSpawnerParksUntilAFiberEnds() throws Exception {
        try (FiberScheduler s = bounded("wait-fiber", 3, AdmissionPolicy.WAIT)) {
            CountDownLatch release = new CountDownLatch(1);
            List<Fiber<Void>> held = holders(s, 1, release);
            // The spawner is itself one of the 3: it spawns a second holder, then must wait for a fourth.
            Fiber<String> spawner = s.spawn(() -> {
                Fiber<Object> second = Fibers.spawn(() -> {
                    release.await();
                    return null;
                });
                Fiber<String> waited = Fibers.spawn(() -> "after a wait");
                second.join();
                return waited.get();
            });
            awaitBlocked(spawner.thread());
            awaitWaiting(s, 1);
            assertEquals(1, s.stats().admission().waiting());
            release.countDown();
            assertEquals("after a wait", result(spawner));
            result(held.get(0));
            assertEquals(1, s.stats().admission().waited());
        }
    }

    /** Waits until {@code n} spawners wait at the scheduler's bound. */
    private static void awaitWaiting(FiberScheduler s, int n) {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (s.stats().admission().waiting() != n) {
            if (System.nanoTime() - deadline > 0) {
                fail(n + " spawners never waited: " + s.stats().admission());
            }
            Thread.onSpinWait();
        }
    }

    @Test
    void rejectRefusesAtOnceNamingTheSchedulerTheBoundAndTheFix() throws Exception {
        try (FiberScheduler s = bounded("reject-me", 2, AdmissionPolicy.REJECT)) {
            CountDownLatch release = new CountDownLatch(1);
            List<Fiber<Void>> held = holders(s, 2, release);
            FiberRejectedException e = assertThrows(FiberRejectedException.class, () -> s.spawn(() -> "no"));
            assertInstanceOf(RejectedExecutionException.class, e);
            assertEquals(2, e.maxLiveFibers());
            String m = e.getMessage();
            assertTrue(m.contains("scheduler 'reject-me'") && m.contains("2 live fibers") && m.contains("maxLiveFibers(2, REJECT)")
                    && m.contains("Raise the bound") && m.contains("AdmissionPolicy.WAIT"), m);
            assertEquals(1, s.stats().admission().rejected());
            assertEquals(2, s.stats().fibersSpawned(), "a refused spawn makes no fiber");
            release.countDown();
            for (Fiber<Void> f : held) {
                result(f);
            }
            assertEquals("yes", result(s.spawn(() -> "yes")), "slots come back as fibers end");
        }
    }

    @Test
    void waitAtMostRefusesWhenNoFiberEndsInTime() throws Exception {
        AdmissionPolicy policy = AdmissionPolicy.waitAtMost(Duration.ofMillis(20));
        assertEquals("waitAtMost(20 ms)", policy.toString());
        assertEquals(AdmissionPolicy.REJECT, AdmissionPolicy.waitAtMost(Duration.ZERO));
        try (FiberScheduler s = bounded("wait-at-most", 1, policy)) {
            CountDownLatch release = new CountDownLatch(1);
            List<Fiber<Void>> held = holders(s, 1, release);
            FiberRejectedException e = assertThrows(FiberRejectedException.class, () -> s.spawn(() -> "no"));
            assertTrue(e.getMessage().contains("none ended for "), e.getMessage());
            AdmissionStats stats = s.stats().admission();
            assertEquals(1, stats.rejected());
            assertEquals(1, stats.waited());
            assertTrue(stats.waitTime().toNanos() >= Duration.ofMillis(20).toNanos(), stats.toString());
            release.countDown();
            result(held.get(0));
        }
    }

    @Test
    void aCancelledAFailedOrAnUnstartedFiberFreesItsSlot() throws Exception {
        try (FiberScheduler s = bounded("ends", 1, AdmissionPolicy.WAIT)) {
            CountDownLatch never = new CountDownLatch(1);
            // Cancelled while parked.
            Fiber<Void> parked = holders(s, 1, never).get(0);
            AtomicReference<Object> outcome = new AtomicReference<>();
            Thread spawner = Thread.ofPlatform().start(() -> {
                try {
                    outcome.set(s.spawn(() -> {
                        throw new IllegalStateException("fails");
                    }));
                } catch (Throwable t) {
                    outcome.set(t);
                }
            });
            awaitBlocked(spawner);
            parked.cancel();
            spawner.join();
            Fiber<?> failing = (Fiber<?>) outcome.get();
            failing.join();
            assertTrue(failing.isFailed());
            // The failed fiber's slot: the next spawn needs it.
            assertEquals("next", result(s.spawn(() -> "next")));
            // A fiber handed out as a thread, dropped unstarted, holds nothing.
            s.unstartedFiber("never-started", () -> { });
            assertEquals("again", result(s.spawn(() -> "again")));
            assertEquals(0, s.stats().admission().live());
        }
    }

    @Test
    void shutdownNowEndsTheFibersAndShutdownRefusesTheWaitingSpawners() throws Exception {
        FiberScheduler s = bounded("stopped", 2, AdmissionPolicy.WAIT);
        CountDownLatch never = new CountDownLatch(1);
        List<Fiber<Void>> held = holders(s, 2, never);
        AtomicReference<Object> first = new AtomicReference<>();
        AtomicReference<Object> second = new AtomicReference<>();
        Thread a = spawnFrom(s, first);
        Thread b = spawnFrom(s, second);
        awaitBlocked(a);
        awaitBlocked(b);
        awaitWaiting(s, 2);
        assertEquals(2, s.shutdownNow());
        a.join();
        b.join();
        for (Object o : List.of(first.get(), second.get())) {
            RejectedExecutionException e = assertInstanceOf(RejectedExecutionException.class, o);
            assertFalse(e instanceof FiberRejectedException, "a shutdown is the scheduler's rejection: " + e);
            assertTrue(e.getMessage().contains("shut down"), e.getMessage());
        }
        for (Fiber<Void> f : held) {
            f.join();
            assertTrue(f.isCancelled());
        }
        assertTrue(s.awaitTermination(Duration.ofSeconds(20)));
        assertEquals(0, s.stats().admission().live());
        assertEquals(0, s.stats().admission().waiting());
    }

    @Test
    void aGracefulShutdownRefusesWaitersAndLetsTheRunningFibersFinish() throws Exception {
        FiberScheduler s = bounded("drained", 1, AdmissionPolicy.WAIT);
        CountDownLatch release = new CountDownLatch(1);
        Fiber<Void> running = holders(s, 1, release).get(0);
        AtomicReference<Object> outcome = new AtomicReference<>();
        Thread spawner = spawnFrom(s, outcome);
        awaitBlocked(spawner);
        awaitWaiting(s, 1);
        s.shutdown();
        spawner.join();
        assertInstanceOf(RejectedExecutionException.class, outcome.get());
        release.countDown();
        result(running);
        assertTrue(s.awaitTermination(Duration.ofSeconds(20)));
    }

    @Test
    void anInterruptedSpawnerLeavesTheLineWithTheInterruptKept() throws Exception {
        try (FiberScheduler s = bounded("interrupted", 1, AdmissionPolicy.WAIT)) {
            CountDownLatch release = new CountDownLatch(1);
            Fiber<Void> held = holders(s, 1, release).get(0);
            AtomicReference<Object> outcome = new AtomicReference<>();
            AtomicReference<Boolean> interruptKept = new AtomicReference<>();
            Thread spawner = Thread.ofPlatform().start(() -> {
                try {
                    outcome.set(s.spawn(() -> "no"));
                } catch (Throwable t) {
                    outcome.set(t);
                }
                interruptKept.set(Thread.currentThread().isInterrupted());
            });
            awaitBlocked(spawner);
            spawner.interrupt();
            spawner.join();
            FiberRejectedException e = assertInstanceOf(FiberRejectedException.class, outcome.get());
            assertInstanceOf(InterruptedException.class, e.getCause());
            assertTrue(interruptKept.get());
            assertEquals(0, s.stats().admission().waiting());
            assertEquals(1, s.stats().admission().rejected());
            release.countDown();
            result(held);
            assertEquals("yes", result(s.spawn(() -> "yes")), "the interrupted spawner left no slot taken");
        }
    }

    @Test
    void aPassedTimeoutEndsAFibersWaitWithItsTimeoutException() throws Exception {
        try (FiberScheduler s = bounded("timed", 2, AdmissionPolicy.WAIT)) {
            CountDownLatch release = new CountDownLatch(1);
            Fiber<Void> held = holders(s, 1, release).get(0);
            Fiber<String> waiter = s.spawn(() -> {
                try (Timeout t = Timeout.after(Duration.ofMillis(20))) {
                    Fibers.spawn(() -> "no");
                    return "spawned";
                } catch (FiberTimeoutException e) {
                    return "timed out";
                }
            });
            assertEquals("timed out", result(waiter));
            release.countDown();
            result(held);
        }
    }

    @Test
    void aGroupBoundHoldsBesideTheSchedulers() throws Exception {
        try (FiberScheduler s = bounded("with-groups", 10, AdmissionPolicy.WAIT)) {
            FiberGroup batch = s.group("batch").maxLiveFibers(2, AdmissionPolicy.REJECT).build();
            assertEquals(2, batch.maxLiveFibers());
            assertEquals(AdmissionPolicy.REJECT, batch.admissionPolicy());
            CountDownLatch release = new CountDownLatch(1);
            List<Fiber<Void>> fibers = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                fibers.add(batch.spawn(() -> {
                    release.await();
                    return null;
                }));
            }
            FiberRejectedException e = assertThrows(FiberRejectedException.class, () -> batch.spawn(() -> "no"));
            assertTrue(e.getMessage().contains("group 'batch' of scheduler 'with-groups'")
                    && e.getMessage().contains("maxLiveFibers(2, REJECT)"), e.getMessage());
            // A fiber of the group spawns into the group, and is refused as well.
            Fiber<Object> child = s.spawn(() -> "outside the group");
            assertEquals("outside the group", result(child));
            fibers.addAll(holders(s, 8, release)); // the scheduler's other 8 slots
            assertEquals(10, s.stats().admission().live());
            assertEquals(2, batch.stats().admission().live());
            assertEquals(1, batch.stats().admission().rejected());
            assertEquals(0, s.stats().admission().rejected(), "the group refused, not the scheduler");
            AtomicReference<Object> outcome = new AtomicReference<>();
            Thread spawner = spawnFrom(s, outcome);
            awaitBlocked(spawner); // the scheduler's bound: this one waits
            release.countDown();
            spawner.join();
            assertEquals("spawned", result(castFiber(outcome.get())));
            for (Fiber<Void> f : fibers) {
                result(f);
            }
            assertEquals(0, batch.stats().admission().live());
            assertTrue(batch.stats().toString().contains("admission at most 2 live (REJECT)"), batch.stats().toString());
        }
    }

    @Test
    void aGroupSpawnerWaitingForItsGroupHoldsNoSlotOfTheScheduler() throws Exception {
        try (FiberScheduler s = bounded("group-first", 3, AdmissionPolicy.WAIT)) {
            FiberGroup lane = s.group("lane").maxLiveFibers(1).build();
            CountDownLatch release = new CountDownLatch(1);
            Fiber<Object> first = lane.spawn(() -> {
                release.await();
                return null;
            });
            AtomicReference<Object> outcome = new AtomicReference<>();
            Thread spawner = Thread.ofPlatform().start(() -> {
                try {
                    outcome.set(lane.spawn(() -> "second"));
                } catch (Throwable t) {
                    outcome.set(t);
                }
            });
            awaitBlocked(spawner);
            assertEquals(1, s.stats().admission().live(), "the group's waiter took no slot of the scheduler");
            List<Fiber<Void>> others = holders(s, 2, release); // the scheduler's other two slots are free
            release.countDown();
            spawner.join();
            assertEquals("second", result(castFiber(outcome.get())));
            result(first);
            for (Fiber<Void> f : others) {
                result(f);
            }
        }
    }

    @Test
    void everyWayOfMakingAFiberTakesASlot() throws Exception {
        try (FiberScheduler s = bounded("all-ways", 1, AdmissionPolicy.REJECT)) {
            CountDownLatch release = new CountDownLatch(1);
            Fiber<Void> held = holders(s, 1, release).get(0);
            // FiberPool.
            try (FiberPool pool = new FiberPool(4, s)) {
                assertThrows(FiberRejectedException.class, () -> pool.spawn(() -> "no"));
                assertEquals(4, pool.free(), "the refused spawn gave its pool slot back");
            }
            // A scope's fork, from a platform thread.
            try (FiberScope scope = FiberScope.open(s, Duration.ofSeconds(20))) {
                assertThrows(FiberRejectedException.class, () -> scope.fork(() -> "no"));
            }
            // A fiber handed out as a thread: its start throws, as Thread.start does for a rejecting scheduler.
            AtomicInteger ran = new AtomicInteger();
            Thread thread = s.unstartedFiber("refused", ran::incrementAndGet);
            assertThrows(FiberRejectedException.class, thread::start);
            thread.join();
            assertEquals(0, ran.get());
            assertEquals(Thread.State.TERMINATED, thread.getState());
            assertEquals(3, s.stats().admission().rejected());
            release.countDown();
            result(held);
        }
    }

    @Test
    void aThreadStartWaitsForASlotUnderWait() throws Exception {
        try (FiberScheduler s = bounded("thread-start", 1, AdmissionPolicy.WAIT)) {
            CountDownLatch release = new CountDownLatch(1);
            Fiber<Void> held = holders(s, 1, release).get(0);
            CountDownLatch ran = new CountDownLatch(1);
            Thread fiberThread = s.unstartedFiber("waits", ran::countDown);
            Thread starter = Thread.ofPlatform().start(fiberThread::start);
            awaitBlocked(starter);
            awaitWaiting(s, 1);
            assertEquals(1, ran.getCount(), "the task waits with its start");
            release.countDown();
            starter.join();
            await(ran);
            fiberThread.join();
            result(held);
            assertEquals(0, s.stats().admission().live());
        }
    }

    /**
     * Many spawners (platform threads and fibers) against a small bound, with fibers that return,
     * fail, yield, sleep or are cancelled: never more than the bound run, nothing is lost, and every
     * slot comes back.
     */
    @Test
    void theCountIsExactUnderConcurrentSpawnsAndEnds() throws Exception {
        int bound = 8;
        int spawners = 6;
        int perSpawner = 3_000;
        try (FiberScheduler s = bounded("stress", bound, AdmissionPolicy.WAIT)) {
            // The spawners that are fibers hold slots themselves: spawn them outside the bound's fibers' count.
            AtomicInteger running = new AtomicInteger();
            AtomicInteger maxRunning = new AtomicInteger();
            AtomicInteger ended = new AtomicInteger();
            List<Thread> platformSpawners = new ArrayList<>();
            List<Fiber<Void>> fiberSpawners = new ArrayList<>();
            Runnable spawnAll = () -> {
                for (int i = 0; i < perSpawner; i++) {
                    int k = i;
                    Fiber<Object> f = s.spawn(() -> {
                        int now = running.incrementAndGet();
                        maxRunning.accumulateAndGet(now, Math::max);
                        try {
                            switch (k % 4) {
                                case 0 -> Fibers.yield();
                                case 1 -> Fibers.sleep(Duration.ofNanos(50_000));
                                case 2 -> throw new IllegalStateException("fails");
                                default -> { }
                            }
                        } finally {
                            running.decrementAndGet();
                            ended.incrementAndGet();
                        }
                        return null;
                    });
                    if (ThreadLocalRandom.current().nextInt(16) == 0) {
                        f.cancel();
                    }
                }
            };
            for (int i = 0; i < spawners / 2; i++) {
                platformSpawners.add(Thread.ofPlatform().name("spawner-" + i).start(spawnAll));
            }
            for (int i = 0; i < spawners / 2; i++) {
                fiberSpawners.add(s.spawn(spawnAll));
            }
            for (Thread t : platformSpawners) {
                t.join();
            }
            for (Fiber<Void> f : fiberSpawners) {
                result(f);
            }
            // Every fiber has ended once the scheduler's live fibers are gone: wait for that, not a time.
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (s.stats().fibersAlive() != 0) {
                assertTrue(System.nanoTime() - deadline < 0, "fibers still alive: " + s.stats());
                Thread.sleep(1);
            }
            SchedulerStats stats = s.stats();
            assertTrue(maxRunning.get() <= bound, "at most " + bound + " at once, saw " + maxRunning.get());
            assertEquals((long) spawners * perSpawner + spawners / 2, stats.fibersSpawned());
            assertEquals(0, stats.admission().live(), "every slot came back: " + stats.admission());
            assertEquals(0, stats.admission().waiting());
            assertEquals(0, stats.admission().rejected());
            assertTrue(stats.admission().waited() > 0, "the bound was reached: " + stats.admission());
            assertTrue(ended.get() <= spawners * perSpawner);
        }
    }
}
