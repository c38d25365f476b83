package io.fiber.compat;

import io.fiber.FiberScheduler;

import java.util.Collection;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * An {@link ExecutorService} that runs each task in a fiber of its own
 * ({@link FiberCompat#newFiberPerTaskExecutor}).
 *
 * <p>It is the JDK's own thread-per-task executor ({@link Executors#newThreadPerTaskExecutor}, the
 * one behind {@link Executors#newVirtualThreadPerTaskExecutor()}) over a {@link FiberThreadFactory},
 * so the whole contract (futures that interrupt on cancel, {@code invokeAll}, {@code invokeAny}
 * cancelling the losers, {@code shutdownNow} interrupting, {@code close} waiting, the thread-dump
 * container) is the JDK's, not a copy. This class only delegates, and turns the JDK's
 * message-less {@link RejectedExecutionException} after {@code shutdown()} into one that says what
 * happened. A rejection by the scheduler (shut down) already names the scheduler and passes as is.
 *
 * <p>It never shuts the scheduler down: the scheduler may be shared (the default one always is).
 */
final class FiberPerTaskExecutor implements ExecutorService {
    private final FiberScheduler scheduler;
    private final ExecutorService executor;

    FiberPerTaskExecutor(FiberScheduler scheduler) {
        this.scheduler = scheduler;
        this.executor = Executors.newThreadPerTaskExecutor(new FiberThreadFactory(scheduler, null));
    }

    @Override
    public void execute(Runnable task) {
        try {
            executor.execute(task);
        } catch (RejectedExecutionException e) {
            throw explained(e);
        }
    }

    @Override
    public <T> Future<T> submit(Callable<T> task) {
        try {
            return executor.submit(task);
        } catch (RejectedExecutionException e) {
            throw explained(e);
        }
    }

    @Override
    public Future<?> submit(Runnable task) {
        try {
            return executor.submit(task);
        } catch (RejectedExecutionException e) {
            throw explained(e);
        }
    }

    @Override
    public <T> Future<T> submit(Runnable task, T result) {
        try {
            return executor.submit(task, result);
        } catch (RejectedExecutionException e) {
            throw explained(e);
        }
    }

    @Override
    public <T> List<Future<T>> invokeAll(Collection<? extends Callable<T>> tasks) throws InterruptedException {
        try {
            return executor.invokeAll(tasks);
        } catch (RejectedExecutionException e) {
            throw explained(e);
        }
    }

    @Override
    public <T> List<Future<T>> invokeAll(Collection<? extends Callable<T>> tasks, long timeout, TimeUnit unit)
            throws InterruptedException {
        try {
            return executor.invokeAll(tasks, timeout, unit);
        } catch (RejectedExecutionException e) {
            throw explained(e);
        }
    }

    @Override
    public <T> T invokeAny(Collection<? extends Callable<T>> tasks) throws InterruptedException, ExecutionException {
        try {
            return executor.invokeAny(tasks);
        } catch (RejectedExecutionException e) {
            throw explained(e);
        }
    }

    @Override
    public <T> T invokeAny(Collection<? extends Callable<T>> tasks, long timeout, TimeUnit unit)
            throws InterruptedException, ExecutionException, TimeoutException {
        try {
            return executor.invokeAny(tasks, timeout, unit);
        } catch (RejectedExecutionException e) {
            throw explained(e);
        }
    }

    /** The JDK rejects without a message once the executor is shut down; the scheduler's own rejection has one. */
    private RejectedExecutionException explained(RejectedExecutionException e) {
        if (e.getMessage() != null || !executor.isShutdown()) {
            return e;
        }
        return new RejectedExecutionException("this fiber-per-task executor (scheduler '" + scheduler.name()
                + "') is shut down and takes no new tasks; submit before shutdown() or close(), or to a new executor", e);
    }

    @Override
    public void shutdown() {
        executor.shutdown();
    }

    /** Interrupts every running task's fiber; returns an empty list, as there is no queue. */
    @Override
    public List<Runnable> shutdownNow() {
        return executor.shutdownNow();
    }

    @Override
    public boolean isShutdown() {
        return executor.isShutdown();
    }

    @Override
    public boolean isTerminated() {
        return executor.isTerminated();
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
        return executor.awaitTermination(timeout, unit);
    }

    /** Shuts down and waits for the running tasks; if interrupted while waiting, interrupts them (the JDK's close). */
    @Override
    public void close() {
        executor.close();
    }

    @Override
    public String toString() {
        return "FiberPerTaskExecutor[scheduler '" + scheduler.name() + "'"
                + (isTerminated() ? ", terminated" : isShutdown() ? ", shut down" : "") + "]";
    }
}
