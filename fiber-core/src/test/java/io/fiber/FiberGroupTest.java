package io.fiber;

import io.fiber.internal.jdk.VirtualThreadHook;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static io.fiber.TestFibers.await;
import static io.fiber.TestFibers.awaitBlocked;
import static io.fiber.TestFibers.result;
import static io.fiber.TestFibers.scheduler;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Groups ({@link FiberGroup}): serial lanes and bounds, membership, statistics, bad input, shutdown
 * with fibers waiting for a slot. The weighted pick has {@link FiberGroupWeightTest}.
 */
class FiberGroupTest {

    /** A plain field, written by lane fibers only: the lane is its only synchronisation. */
    private static final class Counter {
        long value;
    }

    /**
     * Issue 19's serial lane: 1,000 fibers each submit 1,000 increments of an unsynchronized counter
     * through one lane. The count is exactly 1,000,000, and no two increments ever overlap.
     */
    @Test
    void aSerialLaneCountsAMillionUnsynchronizedIncrementsExactly() throws Exception {
        int producers = 1_000;
        int perProducer = 1_000;
        try (FiberScheduler s = scheduler("lane-million")) {
            FiberGroup lane = s.group("counter").serial().build();
            Counter counter = new Counter();
            AtomicInteger inside = new AtomicInteger();
            AtomicBoolean overlap = new AtomicBoolean();
            Runnable increment = () -> {
                if (inside.incrementAndGet() != 1) {
                    overlap.set(true);
                }
                counter.value++;
                inside.decrementAndGet();
            };
            List<Fiber<Void>> senders = new ArrayList<>(producers);
            for (int p = 0; p < producers; p++) {
                senders.add(s.spawn(() -> {
                    Fiber<Void> last = null;
                    for (int i = 0; i < perProducer; i++) {
                        last = lane.spawn(increment);
                        if (i % 100 == 99) {
                            last.join(); // keeps at most 100 per sender waiting: the lane runs them in order
                        }
                    }
                    last.join();
                    return null;
                }));
            }
            for (Fiber<Void> sender : senders) {
                result(sender);
            }
            assertFalse(overlap.get(), "two fibers of the serial lane ran at once");
            assertEquals((long) producers * perProducer, counter.value);
            FiberGroupStats stats = lane.stats();
            assertEquals((long) producers * perProducer, stats.spawned(), stats.toString());
            assertEquals((long) producers * perProducer, stats.finished(), stats.toString());
            assertEquals(0, stats.waiting(), stats.toString());
        }
    }

    @Test
    void aSerialLaneStartsItsFibersInSubmissionOrder() throws Exception {
        try (FiberScheduler s = scheduler("lane-order")) {
            FiberGroup lane = s.group("ordered").serial().build();
            List<Integer> order = Collections.synchronizedList(new ArrayList<>());
            List<Fiber<Void>> fibers = new ArrayList<>();
            for (int i = 0; i < 2_000; i++) {
                int n = i;
                fibers.add(lane.spawn(() -> {
                    order.add(n);
                    if (n % 7 == 0) {
                        Fibers.yield(); // a yield does not let the next one in: it holds its slot
                    }
                }));
            }
            for (Fiber<Void> f : fibers) {
                result(f);
            }
            for (int i = 0; i < order.size(); i++) {
                assertEquals(i, order.get(i), "the fiber started " + i + "th");
            }
        }
    }

    /**
     * A bound of 3: never more than 3 running (and 3 do run at once: the first three wait for each
     * other), and fibers start in the order they were spawned up to the bound: when one starts, at
     * most 2 spawned before it have not started yet (they hold the other slots).
     */
    @Test
    void aBoundKeepsAtMostThatManyRunningAndStartsThemInOrder() throws Exception {
        int bound = 3;
        int n = 300;
        try (FiberScheduler s = scheduler("bounded")) {
            FiberGroup g = s.group("three").maxConcurrent(bound).build();
            AtomicInteger running = new AtomicInteger();
            AtomicInteger most = new AtomicInteger();
            CountDownLatch firstOnes = new CountDownLatch(bound);
            List<Integer> order = Collections.synchronizedList(new ArrayList<>());
            List<Fiber<Void>> fibers = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int me = i;
                fibers.add(g.spawn(() -> {
                    most.accumulateAndGet(running.incrementAndGet(), Math::max);
                    order.add(me);
                    if (me < bound) {
                        firstOnes.countDown();
                        assertTrue(firstOnes.await(20, TimeUnit.SECONDS), "the first " + bound + " never ran at once");
                    }
                    Fibers.sleep(Duration.ofMillis(me % 3));
                    running.decrementAndGet();
                    return null;
                }));
            }
            for (Fiber<Void> f : fibers) {
                result(f);
            }
            assertEquals(bound, most.get(), "the most fibers of the group running at once");
            for (int pos = 0; pos < n; pos++) {
                int me = order.get(pos);
                int earlierStarted = 0;
                for (int q = 0; q < pos; q++) {
                    if (order.get(q) < me) {
                        earlierStarted++;
                    }
                }
                assertTrue(me - earlierStarted <= bound - 1,
                        "fiber " + me + " started while " + (me - earlierStarted) + " spawned before it had not: " + order);
            }
        }
    }

    @Test
    void fibersSpawnedFromAGroupsFiberJoinItsGroupUnlessSpawnedIntoAnother() throws Exception {
        try (FiberScheduler s = scheduler("membership"); FiberScheduler other = scheduler("elsewhere")) {
            FiberGroup g = s.group("parent").build();
            FiberGroup h = s.group("other").maxConcurrent(2).build();
            assertNull(result(s.spawn(FiberGroup::current)), "a fiber spawned from outside is in no group");
            List<String> seen = result(g.spawn(() -> {
                List<String> r = new ArrayList<>();
                r.add("self " + name(FiberGroup.current()));
                r.add("Fibers.spawn " + name(Fibers.spawn(FiberGroup::current).get()));
                r.add("scheduler.spawn " + name(s.spawn(FiberGroup::current).get()));
                try (FiberScope scope = FiberScope.open()) {
                    Fiber<FiberGroup> fork = scope.fork(FiberGroup::current);
                    scope.join();
                    r.add("fork " + name(fork.get()));
                }
                r.add("grandchild " + name(Fibers.spawn(() -> Fibers.spawn(FiberGroup::current).get()).get()));
                AtomicInteger unstarted = new AtomicInteger();
                Thread t = s.unstartedFiber("u", () -> unstarted.set(FiberGroup.current() == g ? 1 : 2));
                t.start();
                t.join();
                r.add("unstartedFiber " + unstarted.get());
                r.add("other.spawn " + name(h.spawn(FiberGroup::current).get()));
                r.add("other's child " + name(h.spawn(() -> Fibers.spawn(FiberGroup::current).get()).get()));
                r.add("other scheduler " + name(other.spawn(FiberGroup::current).get()));
                return r;
            }));
            assertEquals(List.of("self parent", "Fibers.spawn parent", "scheduler.spawn parent", "fork parent",
                    "grandchild parent", "unstartedFiber 1", "other.spawn other", "other's child other",
                    "other scheduler none"), seen);
            assertEquals(g, result(g.spawn(FiberGroup::current)));
            assertEquals(8, g.stats().spawned(), "the parent, its 6 descendants in the group and the last one: " + g.stats());
        }
    }

    private static String name(FiberGroup g) {
        return g == null ? "none" : g.name();
    }

    /**
     * A fiber woken by a fiber of its own group runs next on the waker's carrier, as an ungrouped
     * fiber does (message passing keeps its cache and costs no wakeup of another carrier); the group
     * is already the one being served, so the pick among groups has nothing to decide. Two fibers of
     * a group pass a message back and forth; each notes the carrier it sent from, the other the one
     * it received on.
     */
    @Test
    void aWakeupFromAFiberOfTheSameGroupRunsNextOnItsCarrier() throws Exception {
        try (FiberScheduler s = scheduler("group-run-next")) {
            FiberGroup g = s.group("pipeline").build();
            int messages = 20_000;
            SynchronousQueue<Thread> ping = new SynchronousQueue<>();
            SynchronousQueue<Thread> pong = new SynchronousQueue<>();
            Fiber<Integer> echo = g.spawn(() -> {
                int sameCarrier = 0;
                for (int i = 0; i < messages; i++) {
                    Thread sentFrom = ping.take();
                    if (sentFrom == VirtualThreadHook.currentCarrierThread()) {
                        sameCarrier++;
                    }
                    pong.put(VirtualThreadHook.currentCarrierThread());
                }
                return sameCarrier;
            });
            Fiber<Integer> sender = g.spawn(() -> {
                int sameCarrier = 0;
                for (int i = 0; i < messages; i++) {
                    ping.put(VirtualThreadHook.currentCarrierThread());
                    if (pong.take() == VirtualThreadHook.currentCarrierThread()) {
                        sameCarrier++;
                    }
                }
                return sameCarrier;
            });
            int same = result(echo) + result(sender);
            // ungrouped fibers: all but one or two; a group's run queue instead of the slot: 83% to 86%
            assertTrue(same > 2 * messages * 95 / 100, same + " of " + 2 * messages + " messages were received on the carrier they were sent from; " + s.stats());
        }
    }

    /**
     * The run-next slot does not let a group's fibers keep a carrier by waking each other: past the
     * streak cap the woken one goes back to its group's queue, and the pick among groups serves the
     * other group too. One carrier, two groups of the same weight: two fibers passing messages, and a
     * fiber that only yields; both get a share of the runs.
     */
    @Test
    void fibersWakingEachOtherInAGroupDoNotStarveAnotherGroup() throws Exception {
        try (FiberScheduler s = scheduler("group-run-next-fair", 1)) {
            FiberGroup chatty = s.group("chatty").build();
            FiberGroup other = s.group("other").build();
            AtomicBoolean stop = new AtomicBoolean();
            SynchronousQueue<Integer> ping = new SynchronousQueue<>();
            SynchronousQueue<Integer> pong = new SynchronousQueue<>();
            Fiber<Void> echo = chatty.spawn(() -> {
                for (int m; (m = ping.take()) >= 0; ) {
                    pong.put(m);
                }
                return null;
            });
            Fiber<Integer> sender = chatty.spawn(() -> {
                int sent = 0;
                while (!stop.get()) {
                    ping.put(sent++);
                    pong.take();
                }
                ping.put(-1);
                return sent;
            });
            Fiber<Integer> yielder = other.spawn(() -> {
                int yields = 0;
                while (!stop.get()) {
                    Thread.yield();
                    yields++;
                }
                return yields;
            });
            Thread.sleep(300);
            stop.set(true);
            int messages = result(sender);
            int yields = result(yielder);
            result(echo);
            // Same weights: about as many runs each; starved, the yielder would run a handful of times.
            assertTrue(yields * 10 > messages, yields + " yields beside " + messages + " messages; " + s.stats());
        }
    }

    /**
     * A fiber of a serial lane that waits for a fiber it spawned (which joins the lane, and so waits in
     * line for the slot the spawner holds) would wait forever: {@code get} throws instead, naming
     * the lane and what to do, and the child still runs once the spawner ends.
     */
    @Test
    void aLaneFiberWaitingForItsOwnChildInTheLaneIsRefused() throws Exception {
        try (FiberScheduler s = scheduler("lane-self-wait")) {
            FiberGroup lane = s.group("db").serial().build();
            AtomicBoolean childRan = new AtomicBoolean();
            Fiber<Fiber<Boolean>> parent = lane.spawn(() -> {
                Fiber<Boolean> child = Fibers.spawn(() -> childRan.getAndSet(true));
                IllegalStateException e = assertThrows(IllegalStateException.class, child::get);
                assertTrue(e.getMessage().contains("Fiber.join") && e.getMessage().contains("serial lane 'db'")
                        && e.getMessage().contains("wait forever") && e.getMessage().contains("another group"), e.getMessage());
                assertThrows(IllegalStateException.class, child::join);
                assertFalse(child.join(Duration.ofMillis(20)), "a timed join ends, so it is not refused: it times out");
                assertFalse(childRan.get());
                return child;
            });
            Fiber<Boolean> child = result(parent);
            assertEquals(false, result(child), "the child ran after its parent left the lane");
            assertTrue(childRan.get());
        }
    }

    /**
     * The same through a scope: forks of a lane fiber's scope join the lane. {@code join} is refused,
     * and {@code close} (try-with-resources) cancels the forks still in line, which leave the line and
     * end at once without running their tasks; they did wait for a slot that only the closing owner's
     * end would free. A scope opened for another group forks there and joins normally.
     */
    @Test
    void aLaneFibersScopeForkingIntoTheLaneIsRefusedAndClosesWithoutHanging() throws Exception {
        try (FiberScheduler s = scheduler("lane-scope")) {
            FiberGroup lane = s.group("db").serial().build();
            FiberGroup helpers = s.group("helpers").build();
            AtomicInteger forksRan = new AtomicInteger();
            Fiber<String> owner = lane.spawn(() -> {
                List<Fiber<Void>> forks = new ArrayList<>();
                try (FiberScope scope = FiberScope.open()) {
                    forks.add(scope.fork(() -> { forksRan.incrementAndGet(); }));
                    forks.add(scope.fork(() -> { forksRan.incrementAndGet(); }));
                    IllegalStateException e = assertThrows(IllegalStateException.class, scope::join);
                    assertTrue(e.getMessage().contains("FiberScope.join") && e.getMessage().contains("'db'"), e.getMessage());
                }
                for (Fiber<Void> f : forks) {
                    assertEquals(Fiber.State.CANCELLED, f.state());
                }
                try (FiberScope scope = FiberScope.open(helpers, Duration.ofSeconds(20))) {
                    Fiber<FiberGroup> a = scope.fork(FiberGroup::current);
                    Fiber<FiberGroup> b = scope.fork(FiberGroup::current);
                    scope.join();
                    return a.get().name() + " " + b.get().name();
                }
            });
            assertEquals("helpers helpers", result(owner));
            assertEquals(0, forksRan.get(), "the cancelled forks never ran their tasks");
            assertEquals(0, lane.stats().waiting(), lane.stats().toString());
            assertEquals(3, lane.stats().finished(), "the owner and its two cancelled forks: " + lane.stats());
        }
    }

    /**
     * A fiber cancelled while it waits in its lane's line ends at once, without running its task and
     * without the slot: the fiber holding the lane is still alone in it, and the next fiber in line
     * still waits for it.
     */
    @Test
    void aFiberCancelledInLineEndsAtOnceWithoutItsSlot() throws Exception {
        try (FiberScheduler s = scheduler("cancel-in-line")) {
            FiberGroup lane = s.group("lane").serial().build();
            CountDownLatch release = new CountDownLatch(1);
            AtomicInteger inside = new AtomicInteger();
            AtomicBoolean overlap = new AtomicBoolean();
            List<String> ran = Collections.synchronizedList(new ArrayList<>());
            Fiber<Void> holder = lane.spawn(() -> {
                overlap.compareAndSet(false, inside.incrementAndGet() != 1);
                ran.add("holder");
                release.await();
                inside.decrementAndGet();
                return null;
            });
            Fiber<Void> cancelled = lane.spawn(() -> { ran.add("cancelled"); });
            Fiber<Void> next = lane.spawn(() -> {
                overlap.compareAndSet(false, inside.incrementAndGet() != 1);
                ran.add("next");
                inside.decrementAndGet();
            });
            assertTrue(cancelled.cancel());
            assertTrue(cancelled.join(Duration.ofSeconds(20)), "ended while the holder still holds the lane");
            assertEquals(Fiber.State.CANCELLED, cancelled.state());
            assertFalse(next.join(Duration.ofMillis(50)), "the next fiber in line still waits for the holder");
            assertEquals(1, lane.stats().waiting(), lane.stats().toString());
            release.countDown();
            result(holder);
            result(next);
            assertEquals(List.of("holder", "next"), ran);
            assertFalse(overlap.get());
        }
    }

    @Test
    void statsCountSpawnedRunningWaitingAndFinished() throws Exception {
        try (FiberScheduler s = scheduler("group-stats")) {
            FiberGroup lane = s.group("stats-lane").serial().weight(300).build();
            CountDownLatch release = new CountDownLatch(1);
            CountDownLatch firstRuns = new CountDownLatch(1);
            List<Fiber<Void>> fibers = new ArrayList<>();
            fibers.add(lane.spawn(() -> {
                firstRuns.countDown();
                release.await();
                return null;
            }));
            await(firstRuns);
            // Parked, not merely started: a first fiber still between its countDown and its await
            // when the release comes would never park, and its resumption would not be counted.
            awaitBlocked(fibers.get(0).thread());
            for (int i = 0; i < 5; i++) {
                fibers.add(lane.spawn(() -> { }));
            }
            FiberGroupStats during = lane.stats();
            assertEquals(new FiberGroupStats("stats-lane", 300, 1, 6, 1, 5, 0, during.runs(), during.runTime(),
                    during.virtualRuntime(), 0, AdmissionStats.NONE), during);
            assertTrue(s.stats().toString().contains("group stats-lane"), s.stats().toString());
            assertEquals(List.of(during.name()), s.stats().groups().stream().map(FiberGroupStats::name).toList());
            release.countDown();
            for (Fiber<Void> f : fibers) {
                result(f);
            }
            FiberGroupStats after = lane.stats();
            assertEquals(6, after.spawned(), after.toString());
            assertEquals(0, after.running(), after.toString());
            assertEquals(0, after.waiting(), after.toString());
            assertEquals(6, after.finished(), after.toString());
            assertTrue(after.runs() >= 7, "six starts and the first fiber's resumption: " + after);
            assertTrue(after.runTime().toNanos() > 0, after.toString());
            assertTrue(after.virtualRuntime().compareTo(after.runTime()) < 0, "weight 300 of 100: a third of the run time, " + after);
        }
    }

    @Test
    void badInputIsRejectedWithWhatToDo() {
        try (FiberScheduler s = scheduler("bad-input")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.group("w").weight(0));
            assertTrue(e.getMessage().contains("weight must be between 1 and 10000") && e.getMessage().contains("got 0"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> s.group("w").weight(-5));
            assertThrows(IllegalArgumentException.class, () -> s.group("w").weight(10_001));
            e = assertThrows(IllegalArgumentException.class, () -> s.group("b").maxConcurrent(0));
            assertTrue(e.getMessage().contains("maxConcurrent must be at least 1"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> s.group(" "));
            assertTrue(e.getMessage().contains("non-blank"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> s.group(null));
            FiberGroup g = s.group("twice").build();
            e = assertThrows(IllegalArgumentException.class, () -> s.group("twice").build());
            assertTrue(e.getMessage().contains("'twice' exists") && e.getMessage().contains("another name"), e.getMessage());
            s.shutdown();
            RejectedExecutionException r = assertThrows(RejectedExecutionException.class, () -> s.group("late").build());
            assertTrue(r.getMessage().contains("'bad-input'") && r.getMessage().contains("shut down"), r.getMessage());
            r = assertThrows(RejectedExecutionException.class, () -> g.spawn(() -> { }));
            assertTrue(r.getMessage().contains("'bad-input'"), r.getMessage());
        }
    }

    @Test
    void joinWaitsForAFiberThatWaitsForASlot() throws Exception {
        try (FiberScheduler s = scheduler("join-waiting")) {
            FiberGroup lane = s.group("lane").serial().build();
            CountDownLatch release = new CountDownLatch(1);
            Fiber<Void> first = lane.spawn(() -> {
                release.await();
                return null;
            });
            AtomicBoolean secondRan = new AtomicBoolean();
            Fiber<String> second = lane.spawn(() -> {
                secondRan.set(true);
                return "second";
            });
            assertFalse(second.join(Duration.ofMillis(100)), "the second fiber of a serial lane ended while the first ran");
            assertFalse(secondRan.get());
            assertEquals(Fiber.State.RUNNING, second.state());
            assertTrue(second.thread().isAlive(), "its thread is started: join and thread dumps see it");
            release.countDown();
            assertEquals("second", result(second));
            assertTrue(first.isDone());
        }
    }

    /** {@code close()} (shutdown, then wait) runs the fibers still waiting for a slot, in order. */
    @Test
    void shutdownRunsTheFibersWaitingForASlot() throws Exception {
        FiberScheduler s = scheduler("shutdown-waiting");
        FiberGroup lane = s.group("lane").serial().build();
        CountDownLatch release = new CountDownLatch(1);
        List<Integer> ran = Collections.synchronizedList(new ArrayList<>());
        List<Fiber<Void>> fibers = new ArrayList<>();
        fibers.add(lane.spawn(() -> {
            release.await();
            ran.add(0);
            return null;
        }));
        for (int i = 1; i <= 10; i++) {
            int n = i;
            fibers.add(lane.spawn(() -> { ran.add(n); }));
        }
        s.shutdown();
        assertThrows(RejectedExecutionException.class, () -> lane.spawn(() -> { }));
        assertFalse(s.awaitTermination(Duration.ofMillis(50)), "terminated with fibers still waiting for a slot");
        release.countDown();
        assertTrue(s.awaitTermination(Duration.ofSeconds(20)), "the waiting fibers ran and the scheduler terminated");
        assertEquals(List.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10), ran);
        for (Fiber<Void> f : fibers) {
            assertEquals(Fiber.State.SUCCEEDED, f.state());
        }
    }

    /** {@code shutdownNow()} cancels the fibers waiting for a slot: their tasks never run, and the scheduler terminates. */
    @Test
    void shutdownNowCancelsTheFibersWaitingForASlot() throws Exception {
        FiberScheduler s = scheduler("stop-waiting");
        FiberGroup lane = s.group("lane").serial().build();
        CountDownLatch firstRuns = new CountDownLatch(1);
        AtomicInteger waitingRan = new AtomicInteger();
        Fiber<Void> first = lane.spawn(() -> {
            firstRuns.countDown();
            Thread.sleep(60_000);
            return null;
        });
        await(firstRuns);
        List<Fiber<Void>> waiting = new ArrayList<>();
        for (int i = 0; i < 1_000; i++) {
            waiting.add(lane.spawn(() -> { waitingRan.incrementAndGet(); }));
        }
        // Every outcome is decided before any fiber wakes: interrupting the running one first once let
        // the lane start its next fibers, which ran their tasks before the stop reached them.
        assertEquals(1_001, s.shutdownNow());
        assertTrue(s.awaitTermination(Duration.ofSeconds(20)), "terminated after cancelling the waiting fibers");
        assertEquals(0, waitingRan.get(), "a cancelled fiber's task ran");
        assertTrue(first.isCancelled());
        for (Fiber<Void> f : waiting) {
            assertTrue(f.isCancelled(), f.toString());
            assertThrows(CancellationException.class, f::get);
        }
        assertEquals(1_001, lane.stats().finished(), lane.stats().toString());
    }
}
