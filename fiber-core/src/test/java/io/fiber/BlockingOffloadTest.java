package io.fiber;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static io.fiber.TestFibers.result;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link Fibers#blocking}: the offload pool runs the call while the fiber parks. */
class BlockingOffloadTest {

    @Test
    void returnsTheValueComputedOnAPoolThread() throws Exception {
        try (FiberScheduler s = TestFibers.scheduler("offload-value")) {
            Fiber<String> f = s.spawn(() -> {
                Thread fiberThread = Thread.currentThread();
                Thread ran = Fibers.blocking(Thread::currentThread);
                assertNotSame(fiberThread, ran);
                assertFalse(ran.isVirtual());
                return ran.getName();
            });
            assertTrue(result(f).startsWith("offload-value-offload-"), result(f));
            assertEquals(1, s.stats().blockingCalls());
        }
    }

    @Test
    void throwsTheCallsOwnException() throws Exception {
        IOException thrown = new IOException("disk on fire");
        try (FiberScheduler s = TestFibers.scheduler("offload-throw")) {
            Fiber<Throwable> f = s.spawn(() -> {
                try {
                    Fibers.blocking(() -> {
                        throw thrown;
                    });
                    return null;
                } catch (IOException e) {
                    return e;
                }
            });
            assertSame(thrown, result(f));
        }
    }

    /**
     * One carrier: the offloaded call spins until another fiber of the same carrier sets a flag. Run
     * on the carrier, the call would keep that fiber from ever running.
     */
    @Test
    void theCarrierRunsOtherFibersWhileTheCallRuns() throws Exception {
        try (FiberScheduler s = TestFibers.scheduler("offload-carrier", 1)) {
            AtomicBoolean released = new AtomicBoolean();
            CountDownLatch callStarted = new CountDownLatch(1);
            Fiber<Long> holder = s.spawn(() -> Fibers.blocking(() -> {
                callStarted.countDown();
                long spins = 0;
                while (!released.get()) {
                    Thread.onSpinWait();
                    spins++;
                }
                return spins;
            }));
            TestFibers.await(callStarted);
            Fiber<Void> releaser = s.spawn(() -> released.set(true));
            result(releaser);
            result(holder);
        }
    }

    @Test
    void cancellingTheFiberInterruptsTheCallAndWaitsForIt() throws Exception {
        try (FiberScheduler s = TestFibers.scheduler("offload-cancel")) {
            CountDownLatch callStarted = new CountDownLatch(1);
            AtomicBoolean callReturned = new AtomicBoolean();
            AtomicBoolean returnedBeforeCaller = new AtomicBoolean();
            Fiber<Void> f = s.spawn(() -> {
                try {
                    Fibers.blocking(() -> {
                        callStarted.countDown();
                        try {
                            Thread.sleep(Duration.ofSeconds(30));
                        } finally {
                            Thread.sleep(50); // cleanup after the interrupt: the caller must wait for it
                            callReturned.set(true);
                        }
                        return null;
                    });
                } catch (InterruptedException e) {
                    returnedBeforeCaller.set(callReturned.get());
                    throw e;
                }
                return null;
            });
            TestFibers.await(callStarted);
            long start = System.nanoTime();
            assertTrue(f.cancel());
            assertTrue(f.join(Duration.ofSeconds(5)), "a cancelled fiber in Fibers.blocking must end");
            assertTrue(TestFibers.millisSince(start) < 5_000);
            assertTrue(returnedBeforeCaller.get(), "the call must return before its caller does");
            // The pool thread that took the interrupt goes back clean: the next call is not interrupted.
            Fiber<Boolean> next = s.spawn(() -> Fibers.blocking(() -> Thread.currentThread().isInterrupted()));
            assertFalse(result(next));
        }
    }

    @Test
    void anInterruptBeforeTheCallIsSeenByTheCall() throws Exception {
        try (FiberScheduler s = TestFibers.scheduler("offload-pre-interrupted")) {
            Fiber<String> f = s.spawn(() -> {
                Thread.currentThread().interrupt();
                try {
                    Fibers.blocking(() -> {
                        Thread.sleep(10_000);
                        return null;
                    });
                    return "not interrupted";
                } catch (InterruptedException e) {
                    return "interrupted, flag " + Thread.currentThread().isInterrupted();
                }
            });
            assertEquals("interrupted, flag false", result(f));
        }
    }

    @Test
    void anInterruptStatusTheCallLeavesMovesBackToTheFiber() throws Exception {
        try (FiberScheduler s = TestFibers.scheduler("offload-left-interrupted")) {
            Fiber<Boolean> f = s.spawn(() -> {
                Fibers.blocking(() -> {
                    Thread.currentThread().interrupt();
                    return null;
                });
                return Thread.interrupted();
            });
            assertTrue(result(f));
        }
    }

    @Test
    void atMostMaxBlockingThreadsRunAtOnceAndTheRestWait() throws Exception {
        try (FiberScheduler s = FiberScheduler.builder().carriers(2).name("offload-bounded").maxBlockingThreads(2).build()) {
            AtomicInteger running = new AtomicInteger();
            AtomicInteger mostAtOnce = new AtomicInteger();
            List<Fiber<Integer>> fibers = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                int n = i;
                fibers.add(s.spawn(() -> Fibers.blocking(() -> {
                    mostAtOnce.accumulateAndGet(running.incrementAndGet(), Math::max);
                    Thread.sleep(30);
                    running.decrementAndGet();
                    return n;
                })));
            }
            for (int i = 0; i < fibers.size(); i++) {
                assertEquals(i, result(fibers.get(i)));
            }
            assertEquals(2, mostAtOnce.get());
            assertTrue(s.stats().blockingThreads() <= 2);
            assertEquals(8, s.stats().blockingCalls());
        }
    }

    @Test
    void offACarrierTheCallRunsOnTheCaller() throws Exception {
        assertSame(Thread.currentThread(), Fibers.blocking(Thread::currentThread));
        Thread[] ran = new Thread[1];
        Thread vt = Thread.ofVirtual().start(() -> {
            try {
                ran[0] = Fibers.blocking(Thread::currentThread);
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
        assertTrue(vt.join(Duration.ofSeconds(5)));
        assertSame(vt, ran[0], "a plain virtual thread is not ours: its call runs inline");
    }

    @Test
    void badPoolSizeIsRejectedWithTheRange() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> FiberScheduler.builder().maxBlockingThreads(0));
        assertTrue(e.getMessage().contains("maxBlockingThreads must be between 1 and"), e.getMessage());
    }

    @Test
    void poolThreadsStartOnDemand() throws Exception {
        try (FiberScheduler s = TestFibers.scheduler("offload-idle")) {
            assertEquals(0, s.stats().blockingThreads(), "no thread before the first call");
            result(s.spawn(() -> Fibers.blocking(() -> 1)));
            assertEquals(1, s.stats().blockingThreads());
        }
    }
}
