package io.fiber;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

import static io.fiber.TestFibers.*;
import static org.junit.jupiter.api.Assertions.*;

/** The {@link Fiber} handle: values, failures, cancellation, identity, and thread semantics per fiber. */
@org.junit.jupiter.api.Timeout(value = 30, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
class FiberTest {

    // ---- values and failures -------------------------------------------------------------------

    @Test
    void getReturnsTheValue() throws Exception {
        try (FiberScheduler s = scheduler("value")) {
            Fiber<String> f = s.spawn(() -> "forty-two");
            assertEquals("forty-two", result(f));
            assertEquals(Fiber.State.SUCCEEDED, f.state());
            assertTrue(f.isDone());
            assertFalse(f.isFailed());
            assertFalse(f.isCancelled());
            assertNull(f.failure());
            assertEquals("forty-two", f.get(), "get() can be called again");
        }
    }

    @Test
    void getReturnsNullForARunnableAndForANullValue() throws Exception {
        try (FiberScheduler s = scheduler("null")) {
            AtomicBoolean ran = new AtomicBoolean();
            Fiber<Void> r = s.spawn(() -> ran.set(true));
            assertNull(result(r));
            assertTrue(ran.get());
            assertEquals(Fiber.State.SUCCEEDED, r.state());

            Fiber<Object> n = s.spawn(() -> (Object) null);
            assertNull(result(n));
            assertEquals(Fiber.State.SUCCEEDED, n.state(), "a null value is a success, not a fiber still running");
            assertTrue(n.isDone());
        }
    }

    /**
     * Every parked fiber keeps the frames under its task in its stack chunk on the heap, one per
     * idle connection in a server, so the runtime puts exactly one frame there (hidden frames, such
     * as a method reference's, count too), for a {@code Callable} and a {@code Runnable} alike.
     */
    @Test
    void theTaskRunsAboveOneFrameOfTheRuntime() throws Exception {
        try (FiberScheduler s = scheduler("frames")) {
            List<String> underCallable = result(s.spawn(FiberTest::framesUnderTheTask));
            AtomicReference<List<String>> underRunnable = new AtomicReference<>();
            result(s.spawn(() -> underRunnable.set(framesUnderTheTask())));
            assertEquals(List.of("io.fiber.Fiber$Body.run"), underCallable);
            assertEquals(List.of("io.fiber.Fiber$Body.run"), underRunnable.get());
        }
    }

    /** The runtime's frames between the calling task and the virtual thread's own {@code run}. */
    private static List<String> framesUnderTheTask() {
        return StackWalker.getInstance(StackWalker.Option.SHOW_HIDDEN_FRAMES).walk(frames -> frames
                .map(f -> f.getClassName() + "." + f.getMethodName())
                .takeWhile(name -> !name.equals("java.lang.VirtualThread.run"))
                .filter(name -> name.startsWith("io.fiber.") && !name.startsWith(FiberTest.class.getName()))
                .toList());
    }

    @Test
    void uncheckedFailureIsTheCauseOfFiberException() throws Exception {
        try (FiberScheduler s = scheduler("unchecked")) {
            IllegalStateException boom = new IllegalStateException("boom");
            Fiber<String> f = s.spawn(() -> {
                throw boom;
            });
            assertTrue(f.join(Duration.ofSeconds(20)));
            FiberException e = assertThrows(FiberException.class, f::get);
            assertSame(boom, e.getCause());
            assertTrue(e.getMessage().contains("failed") && e.getMessage().contains("boom"), e.getMessage());
            assertEquals(Fiber.State.FAILED, f.state());
            assertTrue(f.isFailed());
            assertTrue(f.isDone());
            assertFalse(f.isCancelled());
            assertSame(boom, f.failure());
        }
    }

    @Test
    void checkedFailureIsTheCauseOfFiberException() throws Exception {
        try (FiberScheduler s = scheduler("checked")) {
            IOException io = new IOException("disk on fire");
            Fiber<String> f = s.spawn(() -> {
                throw io;
            });
            FiberException e = assertThrows(FiberException.class, f::get);
            assertSame(io, e.getCause());
            assertTrue(e.getMessage().contains("disk on fire"), e.getMessage());
            assertEquals(Fiber.State.FAILED, f.state());
            assertSame(io, f.failure());
        }
    }

    @Test
    void errorsAreFailuresToo() throws Exception {
        try (FiberScheduler s = scheduler("error")) {
            AssertionError err = new AssertionError("broken invariant");
            Fiber<Void> f = s.spawn(() -> {
                throw err;
            });
            FiberException e = assertThrows(FiberException.class, f::get);
            assertSame(err, e.getCause());
            assertEquals(Fiber.State.FAILED, f.state());
        }
    }

    @Test
    void exceptionsPropagateThroughNestedFibers() throws Exception {
        try (FiberScheduler s = scheduler("nested")) {
            IllegalArgumentException root = new IllegalArgumentException("deep");
            Fiber<Integer> outer = s.spawn(() -> {
                Fiber<Integer> middle = Fibers.spawn(() -> {
                    Fiber<Integer> inner = Fibers.spawn(() -> {
                        throw root;
                    });
                    return inner.get();
                });
                return middle.get();
            });
            FiberException e = assertThrows(FiberException.class, outer::get);
            // outer failed with middle's FiberException, which has inner's FiberException, which has the root.
            FiberException middleFailure = assertInstanceOf(FiberException.class, e.getCause());
            FiberException innerFailure = assertInstanceOf(FiberException.class, middleFailure.getCause());
            assertSame(root, innerFailure.getCause());
            assertEquals(Fiber.State.FAILED, outer.state());
        }
    }

    // ---- cancellation ----------------------------------------------------------------------------

    @Test
    void cancelInterruptsAFiberSleeping() throws Exception {
        assertCancelInterrupts("sleep", () -> Fibers.sleep(Duration.ofHours(1)));
    }

    @Test
    void cancelInterruptsAFiberParked() throws Exception {
        assertCancelInterrupts("park", () -> {
            while (!Thread.interrupted()) { // park returns on interrupt; consume it, like a blocking call
                LockSupport.park();
            }
            throw new InterruptedException("park saw the interrupt");
        });
    }

    @Test
    void cancelInterruptsAFiberInBlockingQueueTake() throws Exception {
        BlockingQueue<String> queue = new LinkedBlockingQueue<>();
        assertCancelInterrupts("take", queue::take);
    }

    private interface Blocking {
        void block() throws Exception;
    }

    /**
     * A fiber blocks forever in {@code blocking}; cancel() must interrupt it. Its cleanup then waits
     * for a latch, so the test also sees that join() waits for the body to really end.
     */
    private static void assertCancelInterrupts(String what, Blocking blocking) throws Exception {
        try (FiberScheduler s = scheduler("cancel-" + what)) {
            CountDownLatch blocked = new CountDownLatch(1);
            CountDownLatch finishCleanup = new CountDownLatch(1);
            AtomicReference<Throwable> seen = new AtomicReference<>();
            AtomicBoolean cleanedUp = new AtomicBoolean();
            Fiber<String> f = s.spawn(() -> {
                try {
                    blocked.countDown();
                    blocking.block();
                    return "not interrupted";
                } catch (InterruptedException e) {
                    seen.set(e);
                    finishCleanup.await(); // the interrupt was consumed, so this waits
                    cleanedUp.set(true);
                    return "cleaned up";
                }
            });
            await(blocked);
            awaitBlocked(f.thread());
            assertTrue(f.cancel(), "the first cancel decides the outcome");
            assertFalse(f.join(Duration.ofMillis(200)), "the body is still cleaning up, join must not return");
            assertFalse(f.isDone(), "RUNNING until the body ends");
            assertEquals(Fiber.State.RUNNING, f.state());
            finishCleanup.countDown();
            assertTrue(f.join(Duration.ofSeconds(20)));
            assertTrue(cleanedUp.get(), "join returned before the body ended");
            assertFalse(f.thread().isAlive());
            assertInstanceOf(InterruptedException.class, seen.get(), what + " was not interrupted");
            CancellationException e = assertThrows(CancellationException.class, f::get);
            assertTrue(e.getMessage().contains("cancelled"), e.getMessage());
            assertTrue(f.isCancelled());
            assertTrue(f.isDone());
            assertFalse(f.isFailed());
            assertNull(f.failure());
            assertEquals(Fiber.State.CANCELLED, f.state());
        }
    }

    @Test
    void cancelBeforeTheBodyRunsSkipsTheBody() throws Exception {
        try (FiberScheduler s = scheduler("cancel-early", 1)) {
            AtomicBoolean release = new AtomicBoolean();
            CountDownLatch hogging = new CountDownLatch(1);
            // Occupies the only carrier without ever blocking, so the next fiber cannot start.
            Fiber<Void> hog = s.spawn(() -> {
                hogging.countDown();
                while (!release.get()) {
                    Thread.onSpinWait();
                }
            });
            await(hogging);
            AtomicBoolean bodyRan = new AtomicBoolean();
            Fiber<String> queued = s.spawn(() -> {
                bodyRan.set(true);
                return "ran";
            });
            assertTrue(queued.cancel());
            release.set(true);
            assertTrue(queued.join(Duration.ofSeconds(20)));
            result(hog);
            assertFalse(bodyRan.get(), "the body of a fiber cancelled before it started ran anyway");
            assertEquals(Fiber.State.CANCELLED, queued.state());
            assertThrows(CancellationException.class, queued::get);
        }
    }

    @Test
    void cancelOfAFinishedFiberReturnsFalseAndKeepsTheOutcome() throws Exception {
        try (FiberScheduler s = scheduler("late-cancel")) {
            Fiber<String> ok = s.spawn(() -> "done");
            assertEquals("done", result(ok));
            assertFalse(ok.cancel());
            assertEquals(Fiber.State.SUCCEEDED, ok.state());
            assertFalse(ok.isCancelled());
            assertEquals("done", ok.get());

            RuntimeException boom = new RuntimeException("boom");
            Fiber<String> failed = s.spawn(() -> {
                throw boom;
            });
            assertTrue(failed.join(Duration.ofSeconds(20)));
            assertFalse(failed.cancel());
            assertEquals(Fiber.State.FAILED, failed.state());
            assertSame(boom, assertThrows(FiberException.class, failed::get).getCause());
        }
    }

    @Test
    void secondCancelReturnsFalse() throws Exception {
        try (FiberScheduler s = scheduler("cancel-twice")) {
            CountDownLatch started = new CountDownLatch(1);
            Fiber<Void> f = s.spawn(() -> {
                started.countDown();
                Fibers.sleep(Duration.ofHours(1));
                return null;
            });
            await(started);
            assertTrue(f.cancel());
            assertFalse(f.cancel(), "a second cancel must not claim the outcome again");
            assertTrue(f.join(Duration.ofSeconds(20)));
            assertFalse(f.cancel(), "nor a cancel after the end");
            assertEquals(Fiber.State.CANCELLED, f.state());
        }
    }

    @Test
    void cancelledFiberThatSwallowsTheInterruptIsStillCancelled() throws Exception {
        try (FiberScheduler s = scheduler("swallow")) {
            CountDownLatch started = new CountDownLatch(1);
            AtomicBoolean bodyReturned = new AtomicBoolean();
            Fiber<String> f = s.spawn(() -> {
                started.countDown();
                try {
                    Fibers.sleep(Duration.ofHours(1));
                } catch (InterruptedException ignored) {
                    // swallowed: the body returns normally
                }
                bodyReturned.set(true);
                return "I ignore cancels";
            });
            await(started);
            awaitBlocked(f.thread());
            assertTrue(f.cancel());
            assertTrue(f.join(Duration.ofSeconds(20)));
            assertTrue(bodyReturned.get());
            assertEquals(Fiber.State.CANCELLED, f.state());
            assertTrue(f.isCancelled());
            assertThrows(CancellationException.class, f::get);
        }
    }

    @Test
    void cancelledFiberThatFailsAfterwardsIsCancelledNotFailed() throws Exception {
        try (FiberScheduler s = scheduler("cancel-fail")) {
            CountDownLatch started = new CountDownLatch(1);
            Fiber<String> f = s.spawn(() -> {
                started.countDown();
                try {
                    Fibers.sleep(Duration.ofHours(1));
                } catch (InterruptedException e) {
                    throw new IllegalStateException("converted interrupt", e);
                }
                return "unreachable";
            });
            await(started);
            assertTrue(f.cancel());
            assertTrue(f.join(Duration.ofSeconds(20)));
            assertEquals(Fiber.State.CANCELLED, f.state(), "the cancel won, whatever the body then did");
            assertFalse(f.isFailed());
            assertNull(f.failure());
            CancellationException e = assertThrows(CancellationException.class, f::get);
            assertInstanceOf(IllegalStateException.class, e.getCause(), "what the body ended with is kept as the cause");
        }
    }

    // ---- join ------------------------------------------------------------------------------------

    @Test
    void timedJoinIsFalseWhileRunningAndTrueAfter() throws Exception {
        try (FiberScheduler s = scheduler("join")) {
            CountDownLatch release = new CountDownLatch(1);
            Fiber<String> f = s.spawn(() -> {
                release.await();
                return "released";
            });
            assertFalse(f.join(Duration.ofMillis(100)));
            assertEquals(Fiber.State.RUNNING, f.state());
            assertFalse(f.isDone());
            release.countDown();
            assertTrue(f.join(Duration.ofSeconds(20)));
            assertTrue(f.isDone());
            assertTrue(f.join(Duration.ZERO), "an ended fiber joins at once");
            assertEquals("released", f.get());
        }
    }

    // ---- identity --------------------------------------------------------------------------------

    @Test
    void threadIsVirtualAndIsWhatTheBodySees() throws Exception {
        try (FiberScheduler s = scheduler("thread")) {
            Fiber<Thread> f = s.spawn(Thread::currentThread);
            Thread seen = result(f);
            assertSame(f.thread(), seen);
            assertTrue(seen.isVirtual());
            assertNotSame(Thread.currentThread(), seen);
        }
    }

    @Test
    void currentIsTheRunningFiberInsideAndNullOutside() throws Exception {
        assertNull(Fiber.current());
        assertNull(Fibers.current());
        assertFalse(Fibers.inFiber());
        try (FiberScheduler s = scheduler("current")) {
            Fiber<List<Object>> f = s.spawn(() -> {
                List<Object> l = new ArrayList<>();
                l.add(Fiber.current());
                l.add(Fibers.current());
                l.add(Fibers.inFiber());
                Fiber<Object> child = Fibers.spawn(() -> (Object) Fiber.current());
                l.add(child);
                l.add(child.get());
                // A plain thread started by a fiber is not a fiber.
                AtomicReference<Object> plain = new AtomicReference<>("unset");
                Thread t = Thread.ofPlatform().start(() -> plain.set(Fiber.current()));
                t.join();
                l.add(plain.get());
                return l;
            });
            List<Object> l = result(f);
            assertSame(f, l.get(0));
            assertSame(f, l.get(1));
            assertEquals(true, l.get(2));
            assertSame(l.get(3), l.get(4), "a child fiber sees itself, not its parent");
            assertNotSame(f, l.get(4));
            assertNull(l.get(5));
        }
        assertNull(Fiber.current(), "nothing leaks to the caller");
    }

    @Test
    void nameShowsInThreadAndToString() throws Exception {
        try (FiberScheduler s = scheduler("names")) {
            Fiber<String> f = s.spawn("worker-7", () -> Thread.currentThread().getName());
            assertEquals("worker-7", result(f));
            assertEquals("worker-7", f.name());
            assertEquals("worker-7", f.thread().getName());
            String str = f.toString();
            assertTrue(str.contains("'worker-7'"), str);
            assertTrue(str.contains("SUCCEEDED"), str);
            assertTrue(str.contains("names"), "names the scheduler: " + str);

            RuntimeException boom = new RuntimeException("x");
            Fiber<String> g = s.spawn("doomed", () -> {
                throw boom;
            });
            FiberException e = assertThrows(FiberException.class, g::get);
            assertTrue(e.getMessage().contains("'doomed'"), "the failure names the fiber: " + e.getMessage());
            assertTrue(g.toString().contains("FAILED"), g.toString());
        }
    }

    // ---- per-fiber thread semantics --------------------------------------------------------------

    @Test
    void threadLocalsArePerFiberEvenOnOneCarrier() throws Exception {
        ThreadLocal<String> local = new ThreadLocal<>();
        try (FiberScheduler s = scheduler("locals", 1)) {
            CountDownLatch bothSet = new CountDownLatch(2);
            List<Fiber<String>> fibers = new ArrayList<>();
            for (String name : List.of("a", "b")) {
                fibers.add(s.spawn(() -> {
                    assertNull(local.get(), "a new fiber starts with no value");
                    local.set(name);
                    bothSet.countDown();
                    bothSet.await(); // both fibers set their value on the one carrier before either reads
                    Fibers.yield();
                    return local.get();
                }));
            }
            assertEquals("a", result(fibers.get(0)));
            assertEquals("b", result(fibers.get(1)));
            // And the carrier (or another fiber) does not inherit them.
            assertNull(result(s.spawn(local::get)));
        }
    }

    @Test
    void reentrantLockIsOwnedByTheFiberNotTheCarrier() throws Exception {
        ReentrantLock lock = new ReentrantLock();
        try (FiberScheduler s = scheduler("lock", 1)) {
            CountDownLatch held = new CountDownLatch(1);
            CountDownLatch otherTried = new CountDownLatch(1);
            AtomicBoolean holderInside = new AtomicBoolean();
            List<String> order = new ArrayList<>(); // guarded by lock
            Fiber<Void> holder = s.spawn(() -> {
                lock.lock();
                try {
                    holderInside.set(true);
                    held.countDown();
                    otherTried.await();
                    Fibers.sleep(Duration.ofMillis(100)); // the carrier runs the other fiber meanwhile
                    order.add("holder");
                    holderInside.set(false);
                } finally {
                    lock.unlock();
                }
                return null;
            });
            Fiber<Boolean> other = s.spawn(() -> {
                held.await();
                boolean got = lock.tryLock(); // same carrier thread: succeeds if ownership were per carrier
                if (got) {
                    lock.unlock();
                }
                otherTried.countDown();
                lock.lock();
                try {
                    assertFalse(holderInside.get(), "mutual exclusion broken");
                    order.add("other");
                } finally {
                    lock.unlock();
                }
                return got;
            });
            assertFalse(result(other), "tryLock succeeded while another fiber held the lock");
            result(holder);
            assertEquals(List.of("holder", "other"), order);
        }
    }

    @Test
    void synchronizedWaitNotifyBetweenFibersOnOneCarrier() throws Exception {
        Object monitor = new Object();
        int rounds = 100;
        int[] turn = {0}; // guarded by monitor: 0 = ping's turn, 1 = pong's
        AtomicInteger handoffs = new AtomicInteger();
        try (FiberScheduler s = scheduler("monitor", 1)) {
            List<Fiber<Void>> fibers = new ArrayList<>();
            for (int side = 0; side < 2; side++) {
                int me = side;
                fibers.add(s.spawn(() -> {
                    for (int r = 0; r < rounds; r++) {
                        synchronized (monitor) {
                            while (turn[0] != me) {
                                monitor.wait(); // must release the carrier, or the other fiber never runs
                            }
                            turn[0] = 1 - me;
                            handoffs.incrementAndGet();
                            monitor.notifyAll();
                        }
                    }
                    return null;
                }));
            }
            for (Fiber<Void> f : fibers) {
                result(f);
            }
            assertEquals(2 * rounds, handoffs.get());
        }
    }

    @Test
    void contendedSynchronizedDoesNotPinTheOnlyCarrier() throws Exception {
        Object monitor = new Object();
        try (FiberScheduler s = scheduler("monitor-enter", 1)) {
            CountDownLatch holding = new CountDownLatch(1);
            CountDownLatch thirdRan = new CountDownLatch(1);
            AtomicBoolean holderInside = new AtomicBoolean();
            Fiber<Void> holder = s.spawn(() -> {
                synchronized (monitor) {
                    holderInside.set(true);
                    holding.countDown();
                    // Sleeps holding the monitor until a third fiber has run on the one carrier.
                    while (!thirdRan.await(1, TimeUnit.MILLISECONDS)) {
                        Fibers.sleep(Duration.ofMillis(5));
                    }
                    holderInside.set(false);
                }
                return null;
            });
            await(holding);
            Fiber<Boolean> contender = s.spawn(() -> {
                synchronized (monitor) { // blocks: must unmount, not hold the carrier
                    return holderInside.get();
                }
            });
            awaitBlocked(contender.thread());
            Fiber<String> third = s.spawn(() -> {
                thirdRan.countDown();
                return "third";
            });
            assertEquals("third", result(third), "the carrier was pinned by a fiber blocked on a monitor");
            result(holder);
            assertFalse(result(contender), "the contender entered while the holder was inside");
        }
    }

    @Test
    void waitInsideSynchronizedIsCancellable() throws Exception {
        Object monitor = new Object();
        try (FiberScheduler s = scheduler("monitor-cancel", 1)) {
            CountDownLatch waiting = new CountDownLatch(1);
            Fiber<Void> f = s.spawn(() -> {
                synchronized (monitor) {
                    waiting.countDown();
                    monitor.wait();
                }
                return null;
            });
            await(waiting);
            // A second fiber can take the monitor while the first waits on the single carrier.
            assertEquals("entered", result(s.spawn(() -> {
                synchronized (monitor) {
                    return "entered";
                }
            })));
            assertTrue(f.cancel());
            assertTrue(f.join(Duration.ofSeconds(20)));
            assertEquals(Fiber.State.CANCELLED, f.state());
        }
    }
}
