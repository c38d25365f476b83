package io.fiber.compat;

import io.fiber.Fiber;
import io.fiber.FiberScheduler;
import io.fiber.Fibers;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.time.Duration;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link FiberCompat#newFiberPerTaskExecutor}: every task a fiber of the given scheduler, the
 * {@code ExecutorService} contract of the JDK's virtual-thread-per-task executor, rejections that
 * say why, and a scheduler that outlives the executor.
 */
class FiberPerTaskExecutorTest {
    private FiberScheduler scheduler;

    @BeforeEach
    void start() {
        scheduler = FiberScheduler.builder().name("executor-test").carriers(2).build();
        assertTrue(scheduler.usesOwnCarriers(), "surefire passes --add-opens");
    }

    @AfterEach
    void stop() {
        scheduler.close();
    }

    private static void await(CountDownLatch latch) throws InterruptedException {
        assertTrue(latch.await(20, TimeUnit.SECONDS), "latch not reached in 20 s");
    }

    @Test
    void eachTaskRunsInAFiberOfItsOwnOnTheScheduler() throws Exception {
        int tasks = 200;
        try (ExecutorService executor = FiberCompat.newFiberPerTaskExecutor(scheduler)) {
            Set<Thread> threads = new HashSet<>();
            for (Future<Fiber<?>> f : executor.invokeAll(Collections.nCopies(tasks, (Callable<Fiber<?>>) Fibers::current))) {
                Fiber<?> fiber = f.get();
                assertSame(scheduler, fiber.scheduler());
                assertTrue(fiber.thread().isVirtual());
                threads.add(fiber.thread());
            }
            assertEquals(tasks, threads.size(), "a fiber per task");
        }
        assertEquals(tasks, scheduler.stats().fibersSpawned());
    }

    @Test
    void withoutASchedulerItUsesTheCallersOne() throws Exception {
        Fiber<FiberScheduler> inFiber = scheduler.spawn(() -> {
            try (ExecutorService executor = FiberCompat.newFiberPerTaskExecutor()) {
                return executor.submit(() -> Fibers.current().scheduler()).get();
            }
        });
        assertSame(scheduler, inFiber.get());
        try (ExecutorService executor = FiberCompat.newFiberPerTaskExecutor()) {
            assertSame(Fibers.defaultScheduler(), executor.submit(() -> Fibers.current().scheduler()).get());
        }
    }

    @Test
    void futuresCarryTheValueOrTheTasksOwnException() throws Exception {
        IOException thrown = new IOException("disk full");
        try (ExecutorService executor = FiberCompat.newFiberPerTaskExecutor(scheduler)) {
            assertEquals(42, executor.submit(() -> 6 * 7).get());
            assertEquals("done", executor.submit(() -> { }, "done").get());
            ExecutionException e = assertThrows(ExecutionException.class, () -> executor.submit(() -> {
                throw thrown;
            }).get());
            assertSame(thrown, e.getCause());
        }
    }

    @Test
    void invokeAnyReturnsTheFirstSuccessAndInterruptsTheOthers() throws Exception {
        CountDownLatch slowInterrupted = new CountDownLatch(1);
        Callable<String> slow = () -> {
            try {
                Thread.sleep(TimeUnit.SECONDS.toMillis(30));
                return "slow";
            } catch (InterruptedException e) {
                slowInterrupted.countDown();
                throw e;
            }
        };
        Callable<String> failing = () -> {
            throw new IllegalStateException("no");
        };
        try (ExecutorService executor = FiberCompat.newFiberPerTaskExecutor(scheduler)) {
            assertEquals("fast", executor.invokeAny(List.of(slow, failing, () -> "fast")));
            await(slowInterrupted);
            ExecutionException e = assertThrows(ExecutionException.class, () -> executor.invokeAny(List.of(failing, failing)));
            assertTrue(e.getCause() instanceof IllegalStateException, e.toString());
        }
    }

    @Test
    void shutdownRejectsNewTasksSayingSoAndLetsRunningOnesFinish() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        ExecutorService executor = FiberCompat.newFiberPerTaskExecutor(scheduler);
        Future<String> running = executor.submit(() -> {
            release.await();
            return "finished";
        });
        executor.shutdown();
        assertTrue(executor.isShutdown());
        assertFalse(executor.awaitTermination(100, TimeUnit.MILLISECONDS), "a running task keeps it from terminating");
        for (Runnable submit : List.<Runnable>of(() -> executor.submit(() -> 1), () -> executor.execute(() -> { }),
                () -> executor.submit(() -> { }))) {
            RejectedExecutionException e = assertThrows(RejectedExecutionException.class, submit::run);
            assertTrue(e.getMessage().contains("fiber-per-task executor (scheduler 'executor-test') is shut down"), e.getMessage());
        }
        assertThrows(RejectedExecutionException.class, () -> executor.invokeAll(List.of(() -> 1)));
        release.countDown();
        assertEquals("finished", running.get());
        assertTrue(executor.awaitTermination(20, TimeUnit.SECONDS));
        assertTrue(executor.isTerminated());
        assertFalse(scheduler.isShutdown(), "the executor does not own the scheduler");
        assertEquals(7, scheduler.spawn(() -> 7).get());
    }

    @Test
    void shutdownNowInterruptsRunningTasksAndReturnsNoQueue() throws Exception {
        CountDownLatch sleeping = new CountDownLatch(2);
        CountDownLatch interrupted = new CountDownLatch(2);
        ExecutorService executor = FiberCompat.newFiberPerTaskExecutor(scheduler);
        for (int i = 0; i < 2; i++) {
            executor.execute(sleepUntilInterrupted(sleeping, interrupted));
        }
        await(sleeping);
        assertEquals(List.of(), executor.shutdownNow());
        await(interrupted);
        assertTrue(executor.awaitTermination(20, TimeUnit.SECONDS));
        assertFalse(scheduler.isShutdown());
    }

    @Test
    void cancellingAFutureInterruptsItsFiber() throws Exception {
        CountDownLatch sleeping = new CountDownLatch(1);
        CountDownLatch interrupted = new CountDownLatch(1);
        try (ExecutorService executor = FiberCompat.newFiberPerTaskExecutor(scheduler)) {
            Future<?> task = executor.submit(sleepUntilInterrupted(sleeping, interrupted));
            await(sleeping);
            assertTrue(task.cancel(true));
            await(interrupted);
        }
    }

    @Test
    void closeWaitsForTheTasksAndLeavesTheSchedulerRunning() throws Exception {
        AtomicBoolean finished = new AtomicBoolean();
        try (ExecutorService executor = FiberCompat.newFiberPerTaskExecutor(scheduler)) {
            executor.execute(() -> {
                try {
                    Fibers.sleep(Duration.ofMillis(200));
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
                finished.set(true);
            });
        }
        assertTrue(finished.get(), "close() returned before the task ended");
        assertFalse(scheduler.isShutdown());
    }

    @Test
    void aShutDownSchedulerRejectsTasksWithItsOwnMessage() {
        ExecutorService executor = FiberCompat.newFiberPerTaskExecutor(scheduler);
        scheduler.close();
        RejectedExecutionException e = assertThrows(RejectedExecutionException.class, () -> executor.submit(() -> 1));
        assertTrue(e.getMessage().contains("cannot spawn a fiber on scheduler 'executor-test': it is shut down"), e.getMessage());
        assertFalse(executor.isShutdown(), "the executor itself was not shut down");
        executor.close();
    }

    @Test
    void aNullSchedulerIsNamed() {
        NullPointerException e = assertThrows(NullPointerException.class, () -> FiberCompat.newFiberPerTaskExecutor(null));
        assertEquals("scheduler", e.getMessage());
    }

    /** A task that counts down {@code sleeping}, sleeps 30 s, and counts down {@code interrupted} when interrupted. */
    private static Runnable sleepUntilInterrupted(CountDownLatch sleeping, CountDownLatch interrupted) {
        return () -> {
            sleeping.countDown();
            try {
                Thread.sleep(TimeUnit.SECONDS.toMillis(30));
            } catch (InterruptedException e) {
                interrupted.countDown();
            }
        };
    }
}
