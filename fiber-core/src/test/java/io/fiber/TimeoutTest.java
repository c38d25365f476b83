package io.fiber;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static io.fiber.TestFibers.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * {@link Timeout}: deadlines surface as {@link FiberTimeoutException} at blocking calls, at
 * {@link Timeout#check()} or at {@link Timeout#close()}, and never leave their interrupt behind.
 */
@org.junit.jupiter.api.Timeout(value = 30, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
class TimeoutTest {
    private static final Duration SHORT = Duration.ofMillis(100);

    /** Burns CPU without blocking until {@code t} has expired (fails after 10 s). */
    private static void spinUntilExpired(Timeout t) {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!t.expired()) {
            Thread.onSpinWait();
            if (System.nanoTime() - end > 0) {
                fail("the timeout never expired");
            }
        }
    }

    /** What a fiber or thread saw of a timeout: the exception, how long it took, and its interrupt flag after. */
    private record Outcome(Throwable thrown, long millis, boolean interruptedAfter) { }

    private interface Body {
        void run() throws Exception;
    }

    /** Runs {@code body} under {@code Timeout.after(duration)} on the calling thread. */
    private static Outcome underTimeout(Duration duration, Body body) {
        long t0 = System.nanoTime();
        Throwable thrown = null;
        try (Timeout t = Timeout.after(duration)) {
            body.run();
        } catch (Throwable e) {
            thrown = e;
        }
        long took = millisSince(t0);
        return new Outcome(thrown, took, Thread.interrupted());
    }

    private static void assertTimedOut(Outcome o, Duration expected) {
        FiberTimeoutException e = assertInstanceOf(FiberTimeoutException.class, o.thrown());
        assertEquals(expected, e.timeout());
        assertTrue(e.getMessage().contains(expected.toString()), e.getMessage());
        assertTrue(o.millis() >= expected.toMillis() - 10, "fired early, after " + o.millis() + " ms");
        assertTrue(o.millis() < 10_000, "fired late, after " + o.millis() + " ms");
        assertFalse(o.interruptedAfter(), "the timeout left its interrupt behind");
    }

    // ---- blocking calls ------------------------------------------------------------------------

    /** A deadline too far away for nanoseconds is simply never reached; nothing is left on the thread. */
    /**
     * The JVM-wide count of open Timeouts, which lets a socket wait skip the thread-local lookup when
     * it is 0, comes back to where it was however Timeouts end: closed in time, nested, expired and
     * reported by close(), closed twice, and through call(); and it is above 0 while one is open,
     * even after an inner one closed.
     */
    @Test
    void theOpenCountFollowsEveryWayATimeoutEnds() throws Exception {
        int before = Timeout.openCount();
        try (Timeout outer = Timeout.after(Duration.ofSeconds(30))) {
            try (Timeout inner = Timeout.after(Duration.ofSeconds(30))) {
                assertTrue(Timeout.openCount() >= before + 2);
            }
            assertTrue(Timeout.openCount() >= before + 1, "the outer Timeout is still open");
            assertNotNull(Timeout.socketWaitBegins(), "a socket wait under the outer Timeout is marked");
            Timeout.socketWaitEnds(Timeout.socketWaitBegins());
        }
        Timeout expired = Timeout.after(Duration.ofMillis(1));
        spinUntilExpired(expired);
        assertThrows(FiberTimeoutException.class, expired::close);
        expired.close(); // closed already: nothing happens, and nothing is counted twice
        assertThrows(FiberTimeoutException.class, () -> Timeout.call(Duration.ofMillis(1), () -> {
            Thread.sleep(5_000);
            return null;
        }));
        assertEquals(before, Timeout.openCount());
        if (before == 0) {
            assertNull(Timeout.socketWaitBegins(), "no Timeout open anywhere: nothing to mark");
        }
    }

    @Test
    void hugeDurationsAreAcceptedAndLeaveNothingBehind() throws Exception {
        try (Timeout t = Timeout.after(Duration.ofDays(365L * 1000))) {
            assertFalse(t.expired());
        }
        try (Timeout t = Timeout.after(SHORT)) {
            FiberTimeoutException e = assertThrows(FiberTimeoutException.class, () -> Fibers.sleep(Duration.ofSeconds(10)));
            assertEquals(SHORT, e.timeout(), "the huge timeout must be gone, the short one innermost");
        }
        try (FiberScope scope = FiberScope.open(Fibers.defaultScheduler(), Duration.ofDays(365L * 1000))) {
            scope.fork(() -> 1);
            scope.join();
        }
    }

    @Test
    void sleepUnderATimeoutOnAPlatformThread() {
        Outcome o = underTimeout(SHORT, () -> Fibers.sleep(Duration.ofSeconds(10)));
        assertTimedOut(o, SHORT);
        assertEquals(0, o.thrown().getSuppressed().length, "close must not report the timeout a second time");
    }

    @Test
    void sleepUnderATimeoutOnAFiber() throws Exception {
        try (FiberScheduler s = scheduler("timeout-sleep")) {
            Outcome o = result(s.spawn(() -> underTimeout(SHORT, () -> Fibers.sleep(Duration.ofSeconds(10)))));
            assertTimedOut(o, SHORT);
        }
    }

    @Test
    void fiberJoinUnderATimeout() throws Exception {
        try (FiberScheduler s = scheduler("timeout-join")) {
            CountDownLatch release = new CountDownLatch(1);
            Fiber<String> slow = s.spawn(() -> {
                release.await();
                return "slow";
            });
            assertTimedOut(underTimeout(SHORT, slow::join), SHORT);
            assertTimedOut(underTimeout(SHORT, () -> slow.join(Duration.ofSeconds(10))), SHORT);
            assertTimedOut(underTimeout(SHORT, slow::get), SHORT);
            assertFalse(slow.isDone(), "a timeout of the joiner does not cancel the joined fiber");
            // And from a fiber.
            Outcome o = result(s.spawn(() -> underTimeout(SHORT, slow::join)));
            assertTimedOut(o, SHORT);
            release.countDown();
            assertEquals("slow", result(slow));
        }
    }

    @Test
    void noExpiryMeansNoExceptionAndNoInterruptLater() throws Exception {
        Duration roomy = Duration.ofMillis(300); // far more than the 1 ms body needs, even on a loaded machine
        Outcome o = underTimeout(roomy, () -> Fibers.sleep(Duration.ofMillis(1)));
        assertNull(o.thrown());
        assertFalse(o.interruptedAfter());
        // The timer was cancelled: sleeping past the old deadline is not interrupted.
        Thread.sleep(roomy.multipliedBy(2));
        assertFalse(Thread.currentThread().isInterrupted());
        Timeout.check(); // nothing pending
    }

    @Test
    void noExpiryOnAFiber() throws Exception {
        try (FiberScheduler s = scheduler("timeout-none")) {
            Fiber<String> f = s.spawn(() -> {
                Duration roomy = Duration.ofMillis(300);
                try (Timeout t = Timeout.after(roomy)) {
                    Fibers.sleep(Duration.ofMillis(1));
                    assertFalse(t.expired());
                }
                Fibers.sleep(roomy.multipliedBy(2)); // would throw if the old timer still interrupted us
                return "interrupted=" + Thread.currentThread().isInterrupted();
            });
            assertEquals("interrupted=false", result(f));
        }
    }

    // ---- CPU-bound code --------------------------------------------------------------------------

    @Test
    void cpuWorkPastTheDeadlineIsReportedByClose() {
        AtomicBoolean bodyFinished = new AtomicBoolean();
        Outcome o = underTimeout(Duration.ofMillis(50), () -> {
            Timeout.check(); // not yet
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!Thread.currentThread().isInterrupted() && System.nanoTime() < end) {
                Thread.onSpinWait(); // busy until the deadline's interrupt; never blocks, so only close() can report it
            }
            bodyFinished.set(true);
        });
        assertTrue(bodyFinished.get(), "the body ran to its end");
        assertTimedOut(o, Duration.ofMillis(50));
    }

    @Test
    void cpuWorkPastTheDeadlineOnAFiber() throws Exception {
        try (FiberScheduler s = scheduler("timeout-cpu")) {
            Fiber<Outcome> f = s.spawn(() -> {
                long t0 = System.nanoTime();
                Throwable thrown = null;
                boolean spun = false;
                try (Timeout t = Timeout.after(Duration.ofMillis(50))) {
                    spinUntilExpired(t);
                    spun = true;
                } catch (FiberTimeoutException e) {
                    thrown = e;
                }
                assertTrue(spun);
                return new Outcome(thrown, millisSince(t0), Thread.currentThread().isInterrupted());
            });
            assertTimedOut(result(f), Duration.ofMillis(50));
        }
    }

    @Test
    void checkThrowsOnceAfterExpiry() {
        FiberTimeoutException fromClose = null;
        try (Timeout t = Timeout.after(Duration.ofMillis(50))) {
            assertEquals(Duration.ofMillis(50), t.duration());
            Timeout.check(); // before expiry: nothing
            spinUntilExpired(t);
            FiberTimeoutException e = assertThrows(FiberTimeoutException.class, Timeout::check);
            assertEquals(Duration.ofMillis(50), e.timeout());
            assertFalse(Thread.currentThread().isInterrupted(), "check() reported the deadline, so its interrupt is gone");
            Timeout.check(); // reported once only
            assertTrue(t.expired());
        } catch (FiberTimeoutException e) {
            fromClose = e;
        }
        assertNull(fromClose, "close() reported a deadline already reported by check()");
        assertFalse(Thread.interrupted());
    }

    // ---- nesting -----------------------------------------------------------------------------------

    @Test
    void outerFiresFirst() {
        Duration outer = Duration.ofMillis(150);
        AtomicReference<Throwable> seenInside = new AtomicReference<>();
        Outcome o = underTimeout(outer, () -> {
            try (Timeout inner = Timeout.after(Duration.ofSeconds(10))) {
                try {
                    Fibers.sleep(Duration.ofSeconds(20));
                } catch (FiberTimeoutException e) {
                    seenInside.set(e);
                    assertFalse(inner.expired());
                    throw e;
                }
            }
        });
        assertTimedOut(o, outer);
        assertSame(seenInside.get(), o.thrown());
    }

    @Test
    void innerFiresFirst() {
        Duration inner = Duration.ofMillis(120);
        Duration outer = Duration.ofSeconds(10);
        AtomicReference<Throwable> fromInner = new AtomicReference<>();
        AtomicReference<Long> innerMillis = new AtomicReference<>();
        Outcome o = underTimeout(outer, () -> {
            long t0 = System.nanoTime();
            try (Timeout t = Timeout.after(inner)) {
                Fibers.sleep(Duration.ofSeconds(20));
            } catch (FiberTimeoutException e) {
                fromInner.set(e);
                innerMillis.set(millisSince(t0));
            }
            // The outer timeout is still armed and usable after the inner one fired.
            assertFalse(Thread.currentThread().isInterrupted());
            Fibers.sleep(Duration.ofMillis(5));
        });
        assertNull(o.thrown(), "the outer timeout did not fire, its close must not throw");
        assertFalse(o.interruptedAfter());
        assertTimedOut(new Outcome(fromInner.get(), innerMillis.get(), false), inner);
    }

    @Test
    void cpuWorkUnderNestedTimeoutsWhereOnlyTheOuterExpired() {
        Duration outerDuration = Duration.ofMillis(50);
        AtomicReference<Throwable> fromInnerClose = new AtomicReference<>();
        AtomicReference<Throwable> fromCheck = new AtomicReference<>();
        Outcome o = underTimeout(outerDuration, () -> {
            try (Timeout inner = Timeout.after(Duration.ofSeconds(10))) {
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (!Thread.currentThread().isInterrupted() && System.nanoTime() < end) {
                    Thread.onSpinWait();
                }
                assertFalse(inner.expired());
            } catch (Throwable e) {
                fromInnerClose.set(e);
            }
            try {
                Timeout.check();
            } catch (FiberTimeoutException e) {
                fromCheck.set(e);
                throw e;
            }
        });
        assertNull(fromInnerClose.get(), "the inner timeout did not expire, its close must not throw");
        FiberTimeoutException e = assertInstanceOf(FiberTimeoutException.class, fromCheck.get());
        assertEquals(outerDuration, e.timeout(), "check() reports the timeout that expired, the outer one");
        assertTimedOut(o, outerDuration);
    }

    @Test
    void closingOutOfOrderIsRejected() throws Exception {
        Timeout outer = Timeout.after(Duration.ofSeconds(10));
        Timeout inner = Timeout.after(Duration.ofSeconds(10));
        IllegalStateException e = assertThrows(IllegalStateException.class, outer::close);
        assertTrue(e.getMessage().contains("innermost first"), e.getMessage());
        inner.close();
        outer.close();
        outer.close(); // idempotent once closed
        inner.close();
        assertFalse(Thread.currentThread().isInterrupted());
        // Both are really gone: a fresh timeout is the outermost one again and works.
        assertTimedOut(underTimeout(Duration.ofMillis(50), () -> Fibers.sleep(Duration.ofSeconds(10))), Duration.ofMillis(50));
    }

    @Test
    void closingFromAnotherThreadIsRejected() throws Exception {
        Timeout t = Timeout.after(Duration.ofSeconds(10));
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        Thread other = Thread.ofPlatform().start(() -> {
            try {
                t.close();
            } catch (Throwable e) {
                thrown.set(e);
            }
        });
        other.join();
        IllegalStateException e = assertInstanceOf(IllegalStateException.class, thrown.get());
        assertTrue(e.getMessage().contains("thread that created it"), e.getMessage());
        t.close(); // the owner can
        try (FiberScheduler s = scheduler("timeout-owner")) {
            Timeout u = Timeout.after(Duration.ofSeconds(10));
            Fiber<Void> f = s.spawn(() -> {
                u.close();
                return null;
            });
            assertInstanceOf(IllegalStateException.class, assertThrows(FiberException.class, f::get).getCause());
            u.close();
        }
    }

    @Test
    void negativeDurationIsRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Timeout.after(Duration.ofSeconds(-1)));
        assertTrue(e.getMessage().contains("negative") && e.getMessage().contains("PT-1S"), e.getMessage());
        assertThrows(NullPointerException.class, () -> Timeout.after(null));
        // The rejected timeout was never installed: a new one is the outermost and can be closed normally.
        Timeout t = Timeout.after(Duration.ofSeconds(10));
        t.close();
    }

    @Test
    void zeroDurationFiresAtOnce() {
        assertTimedOut(underTimeout(Duration.ZERO, () -> Fibers.sleep(Duration.ofSeconds(10))), Duration.ZERO);
    }

    // ---- Timeout.call ------------------------------------------------------------------------------

    @Test
    void callConvertsAnInterruptedJdkCallIntoFiberTimeoutException() {
        BlockingQueue<String> queue = new LinkedBlockingQueue<>();
        long t0 = System.nanoTime();
        FiberTimeoutException e = assertThrows(FiberTimeoutException.class, () -> Timeout.call(SHORT, queue::take));
        long took = millisSince(t0);
        assertEquals(SHORT, e.timeout());
        assertInstanceOf(InterruptedException.class, e.getCause());
        assertTrue(took >= SHORT.toMillis() - 10 && took < 10_000, "took " + took + " ms");
        assertFalse(Thread.interrupted(), "the timeout left its interrupt behind");
    }

    @Test
    void callOnAFiber() throws Exception {
        try (FiberScheduler s = scheduler("timeout-call")) {
            BlockingQueue<String> queue = new LinkedBlockingQueue<>();
            Fiber<Throwable> f = s.spawn(() -> {
                try {
                    Timeout.call(SHORT, queue::take);
                    return null;
                } catch (FiberTimeoutException e) {
                    assertFalse(Thread.currentThread().isInterrupted());
                    return e;
                }
            });
            FiberTimeoutException e = assertInstanceOf(FiberTimeoutException.class, result(f));
            assertInstanceOf(InterruptedException.class, e.getCause());
        }
    }

    @Test
    void callReturnsTheValueWhenInTime() throws Exception {
        assertEquals("value", Timeout.call(Duration.ofSeconds(10), () -> "value"));
        assertFalse(Thread.currentThread().isInterrupted());
    }

    @Test
    void callPassesOtherExceptionsThroughUnchanged() throws Exception {
        IOException io = new IOException("not a timeout");
        assertSame(io, assertThrows(IOException.class, () -> Timeout.call(SHORT, () -> {
            throw io;
        })));
        IllegalStateException ise = new IllegalStateException("nor this");
        assertSame(ise, assertThrows(IllegalStateException.class, () -> Timeout.call(SHORT, () -> {
            throw ise;
        })));
        // A foreign interrupt (not the deadline's) stays an InterruptedException.
        InterruptedException ie = new InterruptedException("someone else");
        assertSame(ie, assertThrows(InterruptedException.class, () -> Timeout.call(SHORT, () -> {
            throw ie;
        })));
        // The timeouts were closed: nothing interrupts us once their deadlines pass.
        Thread.sleep(SHORT.multipliedBy(3));
        Timeout.check();
        assertFalse(Thread.currentThread().isInterrupted());
    }

    @Test
    void callPassesErrorsThroughAndClosesItsTimeout() throws Exception {
        AssertionError error = new AssertionError("an Error, not an Exception");
        assertSame(error, assertThrows(AssertionError.class, () -> Timeout.call(SHORT, () -> {
            throw error;
        })));
        // The Timeout must be closed whatever the body threw: otherwise its timer interrupts us later.
        Thread.sleep(SHORT.multipliedBy(3)); // throws InterruptedException if the leaked timer fired
        Timeout.check();
        assertFalse(Thread.currentThread().isInterrupted());
        // And it is no longer on this thread's stack: a new timeout is the innermost and closes cleanly.
        Timeout t = Timeout.after(Duration.ofSeconds(10));
        t.close();
    }

    @Test
    void callReportsCpuWorkPastTheDeadline() {
        FiberTimeoutException e = assertThrows(FiberTimeoutException.class, () -> Timeout.call(Duration.ofMillis(50), () -> {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!Thread.currentThread().isInterrupted() && System.nanoTime() < end) {
                Thread.onSpinWait();
            }
            return "late";
        }));
        assertEquals(Duration.ofMillis(50), e.timeout());
        assertFalse(Thread.interrupted());
    }

    // ---- cancel ------------------------------------------------------------------------------------

    @Test
    void cancelUnderAnArmedTimeoutStaysACancel() throws Exception {
        try (FiberScheduler s = scheduler("timeout-cancel")) {
            CountDownLatch blocked = new CountDownLatch(1);
            AtomicReference<Throwable> seen = new AtomicReference<>();
            BlockingQueue<String> queue = new LinkedBlockingQueue<>();
            Fiber<String> f = s.spawn(() -> {
                try {
                    return Timeout.call(Duration.ofSeconds(10), () -> {
                        blocked.countDown();
                        return queue.take();
                    });
                } catch (Throwable e) {
                    seen.set(e);
                    throw e;
                }
            });
            assertTrue(blocked.await(20, TimeUnit.SECONDS));
            TestFibers.awaitBlocked(f.thread());
            assertTrue(f.cancel());
            assertThrows(CancellationException.class, () -> result(f));
            assertInstanceOf(InterruptedException.class, seen.get(), "a cancel is not a timeout");
            assertEquals(Fiber.State.CANCELLED, f.state());
        }
    }

    /** Burns CPU until {@code t} has expired and {@code cancelled} is set (fails after 10 s). */
    private static void spinUntilExpiredAndCancelled(Timeout t, AtomicBoolean cancelled) {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!t.expired() || !cancelled.get()) {
            Thread.onSpinWait();
            if (System.nanoTime() - end > 0) {
                fail("never both expired and cancelled");
            }
        }
    }

    @Test
    void closeOfAnExpiredTimeoutKeepsTheInterruptOfACancel() throws Exception {
        try (FiberScheduler s = scheduler("timeout-cancel-cpu")) {
            CountDownLatch running = new CountDownLatch(1);
            AtomicBoolean cancelled = new AtomicBoolean();
            AtomicReference<Throwable> fromClose = new AtomicReference<>();
            AtomicReference<Boolean> interruptedAfterClose = new AtomicReference<>();
            AtomicReference<Throwable> fromSleepAfter = new AtomicReference<>();
            Fiber<String> f = s.spawn(() -> {
                try (Timeout t = Timeout.after(Duration.ofMillis(100))) {
                    running.countDown();
                    spinUntilExpiredAndCancelled(t, cancelled); // CPU-bound: only close() reports the deadline
                } catch (FiberTimeoutException e) {
                    fromClose.set(e);
                }
                interruptedAfterClose.set(Thread.currentThread().isInterrupted());
                try {
                    Fibers.sleep(Duration.ofSeconds(5)); // the cancel still stops the next blocking call
                } catch (InterruptedException e) {
                    fromSleepAfter.set(e);
                }
                return "done";
            });
            assertTrue(running.await(20, TimeUnit.SECONDS));
            assertTrue(f.cancel());
            cancelled.set(true);
            assertTrue(f.join(Duration.ofSeconds(20)));
            assertInstanceOf(FiberTimeoutException.class, fromClose.get());
            assertEquals(Boolean.TRUE, interruptedAfterClose.get(), "close() cleared the cancel's interrupt");
            assertInstanceOf(InterruptedException.class, fromSleepAfter.get(), "the cancel was lost");
            assertEquals(Fiber.State.CANCELLED, f.state());
            assertThrows(CancellationException.class, f::get);
        }
    }

    /**
     * The fiber is cancelled and its deadline passes; its next blocking call reports the timeout.
     * If the body treats the timeout as recoverable and goes on, the cancel must still stop it.
     */
    @Test
    void timeoutReportedByABlockingCallDoesNotSwallowACancel() throws Exception {
        try (FiberScheduler s = scheduler("timeout-cancel-both")) {
            CountDownLatch running = new CountDownLatch(1);
            AtomicBoolean cancelled = new AtomicBoolean();
            AtomicReference<Throwable> fromFirstSleep = new AtomicReference<>();
            AtomicReference<Throwable> fromSecondSleep = new AtomicReference<>();
            Fiber<String> f = s.spawn(() -> {
                try (Timeout t = Timeout.after(Duration.ofMillis(100))) {
                    running.countDown();
                    spinUntilExpiredAndCancelled(t, cancelled);
                    try {
                        Fibers.sleep(Duration.ofSeconds(5));
                    } catch (FiberTimeoutException | InterruptedException e) {
                        fromFirstSleep.set(e);
                    }
                }
                long t0 = System.nanoTime();
                try {
                    Fibers.sleep(Duration.ofSeconds(5)); // a body that shrugs off the timeout and goes on
                } catch (InterruptedException e) {
                    fromSecondSleep.set(e);
                }
                return "slept " + millisSince(t0) + " ms";
            });
            assertTrue(running.await(20, TimeUnit.SECONDS));
            assertTrue(f.cancel());
            cancelled.set(true);
            assertTrue(f.join(Duration.ofSeconds(20)));
            assertInstanceOf(FiberTimeoutException.class, fromFirstSleep.get(),
                    "the deadline had passed: the runtime's call reports it");
            assertInstanceOf(InterruptedException.class, fromSecondSleep.get(),
                    "the cancel was swallowed: the blocking call consumed its interrupt and reported only the timeout");
            assertEquals(Fiber.State.CANCELLED, f.state());
        }
    }
}
