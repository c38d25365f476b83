package io.fiber;

import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.*;

class FiberSchedulerTest {

    private static FiberScheduler twoCarriers(String name) {
        return FiberScheduler.builder().carriers(2).name(name).build();
    }

    @Test
    void fibersAreVirtualThreadsOnOurCarriers() throws Exception {
        try (FiberScheduler s = twoCarriers("own")) {
            assertTrue(s.usesOwnCarriers(), "surefire opens java.lang, so the hook must be available");
            String where = s.spawn(() -> Thread.currentThread().isVirtual() + " " + Thread.currentThread()).get();
            assertTrue(where.startsWith("true "), where);
            assertTrue(where.contains("@own-carrier-"), "a mounted fiber names its carrier: " + where);
        }
    }

    @Test
    void oneMillionFibersSpawnedAndJoinedOnTwoCarriers() throws Exception {
        int n = 1_000_000;
        AtomicLong ran = new AtomicLong();
        try (FiberScheduler s = twoCarriers("million")) {
            List<Fiber<Void>> fibers = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                fibers.add(s.spawn(() -> { ran.incrementAndGet(); }));
            }
            for (Fiber<Void> f : fibers) {
                f.join();
            }
            assertEquals(n, ran.get());
            for (Fiber<Void> f : fibers) {
                assertEquals(Fiber.State.SUCCEEDED, f.state());
            }
            SchedulerStats stats = s.stats();
            assertEquals(n, stats.fibersSpawned());
            assertEquals(0, stats.fibersAlive());
            assertEquals(2, stats.carriers().size());
        }
    }

    @Test
    void childrenOfAFiberRunOnItsScheduler() throws Exception {
        try (FiberScheduler s = twoCarriers("parent")) {
            FiberScheduler childScheduler = s.spawn(() -> Fibers.spawn(() -> FiberScheduler.current()).get()).get();
            assertSame(s, childScheduler);
            assertNotSame(s, Fibers.spawn(FiberScheduler::current).get(), "from a platform thread, the default scheduler");
        }
    }

    /** A plain virtual thread started inside a fiber runs on the fiber's carriers but is not a fiber itself. */
    @Test
    void inheritedVirtualThreadsRunOnOurCarriersButAreNotFibers() throws Exception {
        try (FiberScheduler s = twoCarriers("inherit")) {
            String seen = s.spawn(() -> {
                Fiber<?> parent = Fiber.current();
                String[] inChild = new String[1];
                Thread child = Thread.ofVirtual().start(() ->
                        inChild[0] = Fiber.current() + " " + Thread.currentThread());
                child.join();
                return (parent != null) + " " + inChild[0];
            }).get();
            assertTrue(seen.startsWith("true null "), seen);
            assertTrue(seen.contains("@inherit-carrier-"), "the child ran on our carrier: " + seen);
        }
    }

    /**
     * Lost-wakeup stress: pairs of fibers hand a token back and forth with park/unpark, while
     * platform threads also unpark fibers from outside (the inject path). A single lost wakeup
     * leaves a fiber parked forever and the join times out.
     */
    @Test
    void millionsOfParkUnparkRacesLoseNoWakeup() throws Exception {
        int pairs = 200;
        int rounds = 5_000; // 200 pairs x 5,000 rounds x 2 handoffs = 2,000,000 park/unpark races
        try (FiberScheduler s = twoCarriers("wakeups")) {
            List<Fiber<Void>> fibers = new ArrayList<>();
            for (int p = 0; p < pairs; p++) {
                AtomicInteger turn = new AtomicInteger();
                Thread[] threads = new Thread[2];
                CountDownLatch bound = new CountDownLatch(2);
                for (int side = 0; side < 2; side++) {
                    int me = side;
                    fibers.add(s.spawn(() -> {
                        threads[me] = Thread.currentThread();
                        bound.countDown();
                        awaitUninterruptibly(bound);
                        for (int r = 0; r < rounds; r++) {
                            while (turn.get() != me) {
                                LockSupport.park();
                            }
                            turn.set(1 - me);
                            LockSupport.unpark(threads[1 - me]);
                        }
                    }));
                }
            }
            // Foreign unparks: spurious wakeups from platform threads must be harmless.
            AtomicInteger stop = new AtomicInteger();
            List<Thread> noise = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                noise.add(Thread.ofPlatform().start(() -> {
                    while (stop.get() == 0) {
                        for (Fiber<Void> f : fibers) {
                            LockSupport.unpark(f.thread());
                        }
                    }
                }));
            }
            for (Fiber<Void> f : fibers) {
                assertTrue(f.join(Duration.ofSeconds(60)), "a fiber never woke up: " + f + "\n" + s.stats());
                f.get();
            }
            stop.set(1);
            for (Thread t : noise) {
                t.join();
            }
            assertTrue(s.stats().parks() > 0);
        }
    }

    /**
     * Ping-pong between a platform thread and a fiber on a single carrier: every round the carrier
     * runs out of work and goes to sleep just as the platform thread submits the next wakeup, the
     * window where a missing "recheck after announcing idle" loses the wakeup for good.
     */
    @Test
    void foreignWakeupsOfASleepingCarrierAreNeverLost() throws Exception {
        int rounds = 100_000;
        try (FiberScheduler s = FiberScheduler.builder().carriers(1).name("sleepy").build()) {
            AtomicInteger turn = new AtomicInteger();
            Fiber<Void> fiber = s.spawn(() -> {
                for (int r = 0; r < rounds; r++) {
                    while (turn.get() != 1) {
                        LockSupport.park();
                    }
                    turn.set(0);
                }
            });
            java.util.Random jitter = new java.util.Random(42);
            for (int r = 0; r < rounds; r++) {
                for (int k = jitter.nextInt(48); k > 0; k--) { // spread the submit over the carrier's way to sleep
                    Thread.onSpinWait();
                }
                turn.set(1);
                LockSupport.unpark(fiber.thread());
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                while (turn.get() != 0) { // spin, so the next submit lands while the carrier is going to sleep
                    Thread.onSpinWait();
                    if (System.nanoTime() > deadline) {
                        fail("wakeup lost in round " + r + ": " + s.stats());
                    }
                }
            }
            fiber.get();
        }
    }

    /**
     * A wakeup that arrives behind a burst of spawns runs before the spawned fibers: otherwise
     * every timer expiry and cancellation waits for the whole burst to start. The hog must hold the
     * carrier until the wakeup has arrived, so handoffs of long runs are off: on a loaded machine
     * spawning the thousand took longer than the 10 ms handoff threshold, and a new carrier thread
     * ran up to 666 of them before the wakeup existed.
     */
    @Test
    void resumedFibersRunBeforeNewlySpawnedOnes() throws Exception {
        try (FiberScheduler s = FiberScheduler.builder().carriers(1).name("priority").handoffAfter(Duration.ofSeconds(30)).build()) {
            ConcurrentLinkedQueue<String> order = new ConcurrentLinkedQueue<>();
            AtomicInteger release = new AtomicInteger();
            Fiber<Void> parked = s.spawn(() -> {
                LockSupport.park();
                order.add("resumed");
            });
            while (parked.thread().getState() != Thread.State.WAITING) {
                Thread.onSpinWait();
            }
            CountDownLatch busy = new CountDownLatch(1);
            Fiber<Void> hog = s.spawn(() -> {
                busy.countDown();
                while (release.get() == 0) {
                    Thread.onSpinWait(); // holds the only carrier while the queue fills
                }
            });
            busy.await();
            List<Fiber<Void>> fresh = new ArrayList<>();
            for (int i = 0; i < 1000; i++) {
                int id = i;
                fresh.add(s.spawn(() -> {
                    order.add("new-" + id);
                }));
            }
            LockSupport.unpark(parked.thread());
            release.set(1);
            hog.join();
            parked.join();
            for (Fiber<Void> f : fresh) {
                f.join();
            }
            List<String> ran = new ArrayList<>(order);
            assertEquals(1001, ran.size());
            assertTrue(ran.indexOf("resumed") <= 1, "the wakeup waited behind new fibers: position " + ran.indexOf("resumed"));
        }
    }

    @Test
    void idleCarriersSleepInsteadOfSpinning() throws Exception {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        try (FiberScheduler s = twoCarriers("idle")) {
            for (int i = 0; i < 1000; i++) {
                s.spawn(Fibers::yield);
            }
            List<Long> carrierIds = new ArrayList<>();
            for (Thread t : Thread.getAllStackTraces().keySet()) {
                if (t.getName().startsWith("idle-carrier-")) {
                    carrierIds.add(t.threadId());
                }
            }
            assertEquals(2, carrierIds.size());
            Thread.sleep(200); // let the burst drain
            long before = cpuNanos(mx, carrierIds);
            Thread.sleep(500);
            long used = cpuNanos(mx, carrierIds) - before;
            assertTrue(used < TimeUnit.MILLISECONDS.toNanos(50), "idle carriers burned " + used / 1_000_000 + " ms of CPU in 500 ms");
            // And they wake up again for new work.
            assertEquals(42, s.spawn(() -> 42).get());
        }
    }

    private static long cpuNanos(ThreadMXBean mx, List<Long> ids) {
        long sum = 0;
        for (long id : ids) {
            sum += mx.getThreadCpuTime(id);
        }
        return sum;
    }

    @Test
    void yieldingFibersAllProgress() throws Exception {
        int n = 64;
        AtomicLong[] counts = new AtomicLong[n];
        AtomicInteger stop = new AtomicInteger();
        try (FiberScheduler s = twoCarriers("yield")) {
            List<Fiber<Void>> fibers = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                AtomicLong c = counts[i] = new AtomicLong();
                fibers.add(s.spawn(() -> {
                    while (stop.get() == 0) {
                        c.incrementAndGet();
                        Fibers.yield();
                    }
                }));
            }
            // A fiber spawned from outside while all carriers are busy yielding must still run (inject fairness).
            assertEquals("late", s.spawn(() -> "late").get());
            Thread.sleep(300);
            stop.set(1);
            for (Fiber<Void> f : fibers) {
                f.join();
            }
            long min = Long.MAX_VALUE;
            long max = 0;
            for (AtomicLong c : counts) {
                min = Math.min(min, c.get());
                max = Math.max(max, c.get());
            }
            assertTrue(min > 0, "a yielding fiber never ran");
            assertTrue(max < min * 20, "yield is unfair: min " + min + ", max " + max);
        }
    }

    @Test
    void shutdownRejectsNewFibersAndLetsRunningOnesFinish() throws Exception {
        FiberScheduler s = twoCarriers("shutdown");
        Fiber<String> sleeper = s.spawn(() -> {
            Thread.sleep(100);
            return "finished";
        });
        s.shutdown();
        assertTrue(s.isShutdown());
        RejectedExecutionException e = assertThrows(RejectedExecutionException.class, () -> s.spawn(() -> "late"));
        assertTrue(e.getMessage().contains("'shutdown'") && e.getMessage().contains("shut down"), e.getMessage());
        assertFalse(s.isTerminated());
        assertEquals("finished", sleeper.get());
        assertTrue(s.awaitTermination(Duration.ofSeconds(10)));
        assertTrue(s.isTerminated());
    }

    /** Spawns race a shutdown from several threads: each spawn either is rejected or its fiber runs to the end. */
    @Test
    void shutdownLosesNoFiber() throws Exception {
        for (int round = 0; round < 20; round++) {
            FiberScheduler s = twoCarriers("race");
            AtomicInteger accepted = new AtomicInteger();
            AtomicInteger rejected = new AtomicInteger();
            AtomicInteger ran = new AtomicInteger();
            ConcurrentLinkedQueue<Fiber<?>> fibers = new ConcurrentLinkedQueue<>();
            CountDownLatch go = new CountDownLatch(1);
            List<Thread> spawners = new ArrayList<>();
            for (int t = 0; t < 3; t++) {
                spawners.add(Thread.ofPlatform().start(() -> {
                    awaitUninterruptibly(go);
                    for (int i = 0; i < 5_000; i++) {
                        try {
                            fibers.add(s.spawn(() -> {
                                Fibers.yield();
                                ran.incrementAndGet();
                            }));
                            accepted.incrementAndGet();
                        } catch (RejectedExecutionException e) {
                            rejected.incrementAndGet();
                        }
                    }
                }));
            }
            go.countDown();
            Thread.sleep(round % 3);
            s.shutdown();
            for (Thread t : spawners) {
                t.join();
            }
            assertTrue(s.awaitTermination(Duration.ofSeconds(30)), "scheduler did not terminate: " + s.stats());
            assertEquals(15_000, accepted.get() + rejected.get());
            assertEquals(accepted.get(), ran.get(), "accepted fibers that never ran");
            for (Fiber<?> f : fibers) {
                assertEquals(Fiber.State.SUCCEEDED, f.state());
            }
        }
    }

    @Test
    void shutdownNowCancelsParkedFibers() throws Exception {
        FiberScheduler s = twoCarriers("stop");
        List<Fiber<Void>> sleepers = new ArrayList<>();
        CountDownLatch started = new CountDownLatch(10);
        for (int i = 0; i < 10; i++) {
            sleepers.add(s.spawn(() -> {
                started.countDown();
                try {
                    Thread.sleep(Duration.ofHours(1));
                } catch (InterruptedException e) {
                    throw new RuntimeException(e);
                }
            }));
        }
        started.await();
        assertEquals(10, s.shutdownNow());
        assertTrue(s.awaitTermination(Duration.ofSeconds(10)));
        for (Fiber<Void> f : sleepers) {
            assertTrue(f.isCancelled(), f.toString());
        }
    }

    /**
     * A virtual thread created inside a fiber inherits the scheduler, and may outlive it. Its wakeup
     * after the scheduler terminated must not be dropped.
     */
    @Test
    void wakeupAfterTerminationIsHandedToTheJdkScheduler() throws Exception {
        FiberScheduler s = twoCarriers("late");
        CountDownLatch parked = new CountDownLatch(1);
        AtomicInteger done = new AtomicInteger();
        Thread child = s.spawn(() -> Thread.ofVirtual().start(() -> {
            parked.countDown();
            while (done.get() == 0) {
                LockSupport.park();
            }
            done.set(2);
        })).get();
        parked.await();
        s.shutdown();
        assertTrue(s.awaitTermination(Duration.ofSeconds(10)));
        done.set(1);
        LockSupport.unpark(child);
        assertTrue(child.join(Duration.ofSeconds(10)), "the late wakeup was lost");
        assertEquals(2, done.get());
    }

    @Test
    void closeFromOwnFiberIsRefused() throws Exception {
        try (FiberScheduler s = twoCarriers("self")) {
            Fiber<Void> f = s.spawn(s::close);
            FiberException e = assertThrows(FiberException.class, f::get);
            assertInstanceOf(IllegalStateException.class, e.getCause());
            assertTrue(e.getCause().getMessage().contains("wait for itself"));
        }
    }

    @Test
    void builderRejectsBadSettings() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> FiberScheduler.builder().carriers(0));
        assertTrue(e.getMessage().contains("carriers") && e.getMessage().contains("0"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> FiberScheduler.builder().name(" "));
    }

    @Test
    void statsCountStealsAndParksUnderLoad() throws Exception {
        FiberScheduler s = twoCarriers("stats");
        try (s) {
            // One fiber spawns many yielding children: they queue on its carrier, the other carrier must steal.
            s.spawn(() -> {
                List<Fiber<Void>> children = new ArrayList<>();
                for (int i = 0; i < 20_000; i++) {
                    children.add(Fibers.spawn(() -> {
                        for (int k = 0; k < 3; k++) {
                            Fibers.yield();
                        }
                    }));
                }
                for (Fiber<Void> c : children) {
                    c.join();
                }
                return null;
            }).get();
        }
        // Read once the carriers exited: a carrier counts a run after it returns, which may be after get() returned.
        SchedulerStats stats = s.stats();
        assertEquals(20_001, stats.fibersSpawned());
        assertTrue(stats.steals() > 0, stats.toString());
        assertTrue(stats.parks() >= 60_000, stats.toString());
        assertTrue(stats.toString().contains("stats-carrier-1"));
    }

    static void awaitUninterruptibly(CountDownLatch latch) {
        for (;;) {
            try {
                latch.await();
                return;
            } catch (InterruptedException ignored) {
                // keep waiting
            }
        }
    }
}
