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

/** {@link FiberScope}: join, first-failure cancellation, deadlines, and no fiber outliving its scope. */
@org.junit.jupiter.api.Timeout(value = 30, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
class FiberScopeTest {

    /** A fork body that signals {@code started}, then sleeps for an hour (until cancelled). */
    private static Runnable sleepForever(CountDownLatch started) {
        return () -> {
            started.countDown();
            try {
                Fibers.sleep(Duration.ofHours(1));
            } catch (InterruptedException e) {
                throw new RuntimeException("interrupted", e);
            }
        };
    }

    @Test
    void joinWaitsForAllForksAndValuesAreReadableAfter() throws Exception {
        try (FiberScheduler s = scheduler("scope-join")) {
            int n = 20;
            AtomicInteger finished = new AtomicInteger();
            List<Fiber<Integer>> forks = new ArrayList<>();
            try (FiberScope scope = FiberScope.open(s, null)) {
                for (int i = 0; i < n; i++) {
                    int k = i;
                    forks.add(scope.fork(() -> {
                        Fibers.sleep(Duration.ofMillis(10 + 10 * (k % 5)));
                        finished.incrementAndGet();
                        return k * k;
                    }));
                }
                scope.join();
                assertEquals(n, finished.get(), "join returned before every fork ended");
                for (int i = 0; i < n; i++) {
                    Fiber<Integer> f = forks.get(i);
                    assertTrue(f.isDone(), f.toString());
                    assertEquals(Fiber.State.SUCCEEDED, f.state());
                    assertEquals(i * i, f.get());
                    assertSame(s, f.scheduler());
                }
            }
        }
    }

    @Test
    void joinWaitsForAForkBlockedUntilReleasedFromOutside() throws Exception {
        try (FiberScheduler s = scheduler("scope-release")) {
            CountDownLatch release = new CountDownLatch(1);
            AtomicBoolean released = new AtomicBoolean();
            try (FiberScope scope = FiberScope.open(s, null)) {
                Fiber<String> f = scope.fork(() -> {
                    release.await();
                    return "released";
                });
                Thread releaser = Thread.ofPlatform().start(() -> {
                    try {
                        Thread.sleep(150);
                    } catch (InterruptedException e) {
                        return;
                    }
                    released.set(true);
                    release.countDown();
                });
                scope.join();
                assertTrue(released.get(), "join returned while a fork was still blocked");
                assertEquals("released", f.get());
                releaser.join();
            }
        }
    }

    @Test
    void emptyScopeJoinsAtOnce() throws Exception {
        try (FiberScheduler s = scheduler("scope-empty"); FiberScope scope = FiberScope.open(s, null)) {
            scope.join();
        }
    }

    @Test
    void firstFailureCancelsSiblingsAndIsTheCause() throws Exception {
        try (FiberScheduler s = scheduler("scope-fail")) {
            int siblings = 5;
            CountDownLatch started = new CountDownLatch(siblings);
            IllegalStateException first = new IllegalStateException("first failure");
            List<Fiber<Void>> sleepers = new ArrayList<>();
            Fiber<Void> failing;
            long t0 = System.nanoTime();
            try (FiberScope scope = FiberScope.open(s, null)) {
                for (int i = 0; i < siblings; i++) {
                    sleepers.add(scope.fork(sleepForever(started)));
                }
                failing = scope.fork(() -> {
                    started.await();
                    throw first;
                });
                FiberException e = assertThrows(FiberException.class, scope::join);
                assertSame(first, e.getCause());
                assertTrue(e.getMessage().contains("first failure"), e.getMessage());
                // join waited until the cancelled siblings had ended.
                for (Fiber<Void> f : sleepers) {
                    assertTrue(f.isDone(), "join returned before a cancelled sibling ended: " + f);
                }
            }
            assertTrue(millisSince(t0) < 10_000, "siblings were not cancelled, join took " + millisSince(t0) + " ms");
            assertEquals(Fiber.State.FAILED, failing.state());
            for (Fiber<Void> f : sleepers) {
                assertEquals(Fiber.State.CANCELLED, f.state(), f.toString());
            }
        }
    }

    @Test
    void onlyTheFirstFailureIsReported() throws Exception {
        try (FiberScheduler s = scheduler("scope-first")) {
            CountDownLatch started = new CountDownLatch(1);
            IllegalStateException first = new IllegalStateException("first");
            try (FiberScope scope = FiberScope.open(s, null)) {
                // A sibling that turns its cancel into an exception: it is cancelled, not a second failure.
                Fiber<Void> converter = scope.fork(sleepForever(started));
                Fiber<Void> failing = scope.fork(() -> {
                    started.await();
                    throw first;
                });
                FiberException e = assertThrows(FiberException.class, scope::join);
                assertSame(first, e.getCause());
                assertEquals(Fiber.State.CANCELLED, converter.state());
                assertEquals(Fiber.State.FAILED, failing.state());
                // join keeps reporting the same failure.
                assertSame(first, assertThrows(FiberException.class, scope::join).getCause());
            }
        }
    }

    @Test
    void deadlineCancelsForksAndJoinThrowsFiberTimeoutException() throws Exception {
        try (FiberScheduler s = scheduler("scope-deadline")) {
            Duration deadline = Duration.ofMillis(200);
            CountDownLatch started = new CountDownLatch(3);
            List<Fiber<Void>> sleepers = new ArrayList<>();
            Fiber<String> quick;
            long t0 = System.nanoTime();
            try (FiberScope scope = FiberScope.open(s, deadline)) {
                quick = scope.fork(() -> "quick");
                for (int i = 0; i < 3; i++) {
                    sleepers.add(scope.fork(sleepForever(started)));
                }
                FiberTimeoutException e = assertThrows(FiberTimeoutException.class, scope::join);
                assertEquals(deadline, e.timeout());
                assertTrue(e.getMessage().contains(deadline.toString()), e.getMessage());
                for (Fiber<Void> f : sleepers) {
                    assertTrue(f.isDone(), "join returned before a cancelled fork ended: " + f);
                }
            }
            long took = millisSince(t0);
            assertTrue(took >= 150, "the deadline fired early, after " + took + " ms");
            assertTrue(took < 10_000, "the deadline did not cancel the forks: " + took + " ms");
            assertEquals("quick", quick.get(), "a fork that ended before the deadline keeps its value");
            for (Fiber<Void> f : sleepers) {
                assertEquals(Fiber.State.CANCELLED, f.state(), f.toString());
            }
        }
    }

    @Test
    void forksEndingBeforeTheDeadlineJoinNormally() throws Exception {
        try (FiberScheduler s = scheduler("scope-in-time")) {
            try (FiberScope scope = FiberScope.open(s, Duration.ofSeconds(10))) {
                Fiber<Integer> f = scope.fork(() -> 7);
                scope.join();
                assertEquals(7, f.get());
            }
            assertFalse(Thread.currentThread().isInterrupted());
        }
    }

    @Test
    void negativeDeadlineIsRejected() throws Exception {
        try (FiberScheduler s = scheduler("scope-negative")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> FiberScope.open(s, Duration.ofMillis(-5)));
            assertTrue(e.getMessage().contains("negative") && e.getMessage().contains("PT-0.005S"), e.getMessage());
        }
    }

    @Test
    void closeWithoutJoinCancelsForksAndWaitsForThem() throws Exception {
        try (FiberScheduler s = scheduler("scope-close")) {
            int n = 4;
            CountDownLatch started = new CountDownLatch(n + 1);
            AtomicBoolean slowCleanupDone = new AtomicBoolean();
            List<Fiber<Void>> forks = new ArrayList<>();
            FiberScope scope = FiberScope.open(s, null);
            for (int i = 0; i < n; i++) {
                forks.add(scope.fork(sleepForever(started)));
            }
            // One fork takes a while to clean up after its cancel: close must still wait for it.
            forks.add(scope.fork(() -> {
                started.countDown();
                try {
                    Fibers.sleep(Duration.ofHours(1));
                } catch (InterruptedException e) {
                    long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(150);
                    while (System.nanoTime() < end) {
                        Fibers.yield();
                    }
                    slowCleanupDone.set(true);
                }
                return null;
            }));
            await(started);
            long t0 = System.nanoTime();
            scope.close();
            assertTrue(millisSince(t0) < 10_000);
            assertTrue(slowCleanupDone.get(), "close returned before a fork finished its cleanup");
            for (Fiber<Void> f : forks) {
                assertTrue(f.isDone(), "a fork outlived its scope: " + f);
                assertEquals(Fiber.State.CANCELLED, f.state(), f.toString());
            }
            scope.close(); // idempotent
        }
    }

    @Test
    void closeAfterAnExceptionInTheBlockStillEndsTheForks() throws Exception {
        try (FiberScheduler s = scheduler("scope-throw")) {
            CountDownLatch started = new CountDownLatch(1);
            AtomicReference<Fiber<Void>> fork = new AtomicReference<>();
            IllegalStateException thrown = assertThrows(IllegalStateException.class, () -> {
                try (FiberScope scope = FiberScope.open(s, null)) {
                    fork.set(scope.fork(sleepForever(started)));
                    started.await();
                    throw new IllegalStateException("owner gives up");
                }
            });
            assertEquals("owner gives up", thrown.getMessage());
            assertTrue(fork.get().isDone(), "a fork outlived its scope: " + fork.get());
            assertTrue(fork.get().isCancelled());
        }
    }

    @Test
    void forkAfterCloseIsRejected() throws Exception {
        try (FiberScheduler s = scheduler("scope-closed")) {
            FiberScope scope = FiberScope.open(s, null);
            scope.close();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> scope.fork(() -> "late"));
            assertTrue(e.getMessage().contains("closed"), e.getMessage());
            AtomicBoolean ran = new AtomicBoolean();
            assertThrows(IllegalStateException.class, () -> scope.fork(() -> ran.set(true)));
            assertFalse(ran.get(), "a rejected fork ran anyway");
            assertEquals(0, s.stats().fibersSpawned(), "a rejected fork was spawned");
        }
    }

    @Test
    void forkOnAShutDownSchedulerIsRejectedAndNotCounted() throws Exception {
        try (FiberScheduler s = scheduler("scope-shutdown"); FiberScope scope = FiberScope.open(s, null)) {
            s.shutdown();
            assertThrows(RejectedExecutionException.class, () -> scope.fork(() -> "late"));
            scope.join(); // the rejected fork is not waited for
        }
    }

    @Test
    void joinAndCloseFromAnotherThreadAreRejected() throws Exception {
        try (FiberScheduler s = scheduler("scope-owner")) {
            CountDownLatch release = new CountDownLatch(1);
            try (FiberScope scope = FiberScope.open(s, null)) {
                Fiber<String> f = scope.fork(() -> {
                    release.await();
                    return "ok";
                });
                AtomicReference<Throwable> fromJoin = new AtomicReference<>();
                AtomicReference<Throwable> fromClose = new AtomicReference<>();
                Thread other = Thread.ofPlatform().start(() -> {
                    try {
                        scope.join();
                    } catch (Throwable t) {
                        fromJoin.set(t);
                    }
                    try {
                        scope.close();
                    } catch (Throwable t) {
                        fromClose.set(t);
                    }
                });
                other.join();
                assertInstanceOf(IllegalStateException.class, fromJoin.get());
                assertTrue(fromJoin.get().getMessage().contains("join()")
                        && fromJoin.get().getMessage().contains("thread that opened the scope"), fromJoin.get().getMessage());
                assertInstanceOf(IllegalStateException.class, fromClose.get());
                assertTrue(fromClose.get().getMessage().contains("close()"), fromClose.get().getMessage());
                // A fiber is another thread too.
                Fiber<Void> fromFiber = s.spawn(() -> {
                    scope.join();
                    return null;
                });
                assertInstanceOf(IllegalStateException.class, assertThrows(FiberException.class, fromFiber::get).getCause());
                assertFalse(f.isDone(), "the rejected close must not have cancelled the fork");
                release.countDown();
                scope.join();
                assertEquals("ok", f.get());
            }
        }
    }

    @Test
    void forksForkedFromInsideAForkAreJoinedToo() throws Exception {
        try (FiberScheduler s = scheduler("scope-nested-fork")) {
            AtomicReference<Fiber<String>> grandchild = new AtomicReference<>();
            AtomicBoolean grandchildFinished = new AtomicBoolean();
            try (FiberScope scope = FiberScope.open(s, null)) {
                Fiber<Void> child = scope.fork(() -> {
                    Fibers.sleep(Duration.ofMillis(20));
                    grandchild.set(scope.fork(() -> {
                        Fibers.sleep(Duration.ofMillis(200)); // outlives its parent fork
                        grandchildFinished.set(true);
                        return "grandchild";
                    }));
                    return null;
                });
                scope.join();
                assertTrue(child.isDone());
                assertTrue(grandchildFinished.get(), "join returned before the fork's own fork ended");
                assertEquals("grandchild", grandchild.get().get());
            }
        }
    }

    @Test
    void failureOfANestedForkCancelsTheWholeScope() throws Exception {
        try (FiberScheduler s = scheduler("scope-nested-fail")) {
            CountDownLatch started = new CountDownLatch(1);
            IllegalArgumentException boom = new IllegalArgumentException("nested boom");
            Fiber<Void> sleeper;
            try (FiberScope scope = FiberScope.open(s, null)) {
                sleeper = scope.fork(sleepForever(started));
                scope.fork(() -> {
                    started.await();
                    scope.fork(() -> {
                        throw boom;
                    });
                    return null;
                });
                assertSame(boom, assertThrows(FiberException.class, scope::join).getCause());
            }
            assertEquals(Fiber.State.CANCELLED, sleeper.state());
        }
    }

    @Test
    void nestedScopes() throws Exception {
        try (FiberScheduler s = scheduler("scope-nested")) {
            CountDownLatch innerStarted = new CountDownLatch(2);
            List<Fiber<Void>> innerForks = new ArrayList<>();
            IllegalStateException boom = new IllegalStateException("inner boom");
            try (FiberScope outer = FiberScope.open(s, null)) {
                // An inner scope that succeeds.
                Fiber<Integer> sum = outer.fork(() -> {
                    try (FiberScope inner = FiberScope.open()) {
                        Fiber<Integer> a = inner.fork(() -> 20);
                        Fiber<Integer> b = inner.fork(() -> 22);
                        inner.join();
                        return a.get() + b.get();
                    }
                });
                // An inner scope whose fork fails: the failure travels out through both joins.
                Fiber<Void> failing = outer.fork(() -> {
                    try (FiberScope inner = FiberScope.open()) {
                        synchronized (innerForks) {
                            innerForks.add(inner.fork(sleepForever(innerStarted)));
                            innerForks.add(inner.fork(sleepForever(innerStarted)));
                        }
                        innerStarted.await();
                        inner.fork(() -> {
                            throw boom;
                        });
                        inner.join();
                    }
                    return null;
                });
                FiberException e = assertThrows(FiberException.class, outer::join);
                // Depending on timing the sum fork may or may not have finished; the failure is the inner join's.
                FiberException innerJoinFailure = assertInstanceOf(FiberException.class, e.getCause());
                assertSame(boom, innerJoinFailure.getCause());
                assertEquals(Fiber.State.FAILED, failing.state());
                assertTrue(sum.isDone());
            }
            synchronized (innerForks) {
                assertEquals(2, innerForks.size());
                for (Fiber<Void> f : innerForks) {
                    assertEquals(Fiber.State.CANCELLED, f.state(), "inner scope fork: " + f);
                }
            }
        }
    }

    @Test
    void innerScopeIsClosedBeforeTheOuterForkEnds() throws Exception {
        try (FiberScheduler s = scheduler("scope-inner-close")) {
            CountDownLatch started = new CountDownLatch(1);
            AtomicReference<Fiber<Void>> innerFork = new AtomicReference<>();
            AtomicReference<Boolean> innerDoneWhenOuterForkEnded = new AtomicReference<>();
            try (FiberScope outer = FiberScope.open(s, null)) {
                Fiber<Void> f = outer.fork(() -> {
                    try (FiberScope inner = FiberScope.open()) {
                        innerFork.set(inner.fork(sleepForever(started)));
                        started.await();
                        // leave without join: close cancels and waits
                    }
                    innerDoneWhenOuterForkEnded.set(innerFork.get().isDone());
                    return null;
                });
                outer.join();
                assertEquals(Fiber.State.SUCCEEDED, f.state());
            }
            assertEquals(Boolean.TRUE, innerDoneWhenOuterForkEnded.get());
            assertEquals(Fiber.State.CANCELLED, innerFork.get().state());
        }
    }

    @Test
    void scopeOpenedInAFiberUsesThatFibersScheduler() throws Exception {
        try (FiberScheduler s = scheduler("scope-sched")) {
            Fiber<List<FiberScheduler>> f = s.spawn(() -> {
                try (FiberScope scope = FiberScope.open()) {
                    Fiber<FiberScheduler> fork = scope.fork(FiberScheduler::current);
                    Fiber<String> carrier = scope.fork(() -> Thread.currentThread().toString());
                    scope.join();
                    assertTrue(carrier.get().contains("@scope-sched-carrier-"), carrier.get());
                    return List.of(fork.scheduler(), fork.get());
                }
            });
            List<FiberScheduler> seen = result(f);
            assertSame(s, seen.get(0));
            assertSame(s, seen.get(1));
            assertNotSame(Fibers.defaultScheduler(), seen.get(0));
        }
    }

    @Test
    void scopeWithDeadlineOpenedInAFiberUsesThatFibersScheduler() throws Exception {
        try (FiberScheduler s = scheduler("scope-sched-deadline")) {
            FiberScheduler seen = result(s.spawn(() -> {
                try (FiberScope scope = FiberScope.open(Duration.ofSeconds(10))) {
                    Fiber<FiberScheduler> fork = scope.fork(FiberScheduler::current);
                    scope.join();
                    return fork.get();
                }
            }));
            assertSame(s, seen);
        }
    }

    @Test
    void cancellingTheOwnerFiberEndsItsScopeToo() throws Exception {
        try (FiberScheduler s = scheduler("scope-owner-cancel")) {
            CountDownLatch started = new CountDownLatch(1);
            AtomicReference<Fiber<Void>> fork = new AtomicReference<>();
            AtomicReference<Throwable> fromJoin = new AtomicReference<>();
            Fiber<Void> owner = s.spawn(() -> {
                try (FiberScope scope = FiberScope.open()) {
                    fork.set(scope.fork(sleepForever(started)));
                    try {
                        scope.join();
                    } catch (InterruptedException e) {
                        fromJoin.set(e);
                        throw e;
                    }
                }
                return null;
            });
            await(started);
            TestFibers.awaitBlocked(owner.thread());
            assertTrue(owner.cancel());
            assertTrue(owner.join(Duration.ofSeconds(20)));
            assertInstanceOf(InterruptedException.class, fromJoin.get());
            assertEquals(Fiber.State.CANCELLED, owner.state());
            assertTrue(fork.get().isDone(), "a fork outlived its cancelled owner: " + fork.get());
            assertEquals(Fiber.State.CANCELLED, fork.get().state());
        }
    }

    @Test
    void ownerUnderATimeoutGetsFiberTimeoutExceptionFromJoin() throws Exception {
        try (FiberScheduler s = scheduler("scope-timeout")) {
            CountDownLatch started = new CountDownLatch(1);
            Fiber<Void> fork;
            try (FiberScope scope = FiberScope.open(s, null)) {
                fork = scope.fork(sleepForever(started));
                await(started);
                FiberTimeoutException e = assertThrows(FiberTimeoutException.class, () -> {
                    try (Timeout t = Timeout.after(Duration.ofMillis(100))) {
                        scope.join();
                    }
                });
                assertEquals(Duration.ofMillis(100), e.timeout());
                assertFalse(Thread.currentThread().isInterrupted(), "the timeout left its interrupt behind");
                assertFalse(fork.isDone(), "the owner's timeout is not the scope's deadline: forks run until close");
            }
            assertEquals(Fiber.State.CANCELLED, fork.state());
        }
    }
}
