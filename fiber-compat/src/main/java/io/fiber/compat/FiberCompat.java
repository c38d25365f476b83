package io.fiber.compat;

import io.fiber.FiberScheduler;
import io.fiber.Fibers;

import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import javax.sql.DataSource;

/**
 * Adapters that let code written for threads, executors and JDBC run on fibers unchanged: the one
 * entry point of fiber-compat.
 *
 * <pre>{@code
 * try (ExecutorService executor = FiberCompat.newFiberPerTaskExecutor()) {
 *     Future<String> page = executor.submit(() -> fetch(url));        // a fiber per task
 * }
 * ThreadFactory threads = FiberCompat.fiberThreadFactory(scheduler, "worker-");
 * ExecutorService pool = new ThreadPoolExecutor(4, 4, 0, SECONDS, new LinkedBlockingQueue<>(), threads);
 * DataSource db = FiberCompat.offloadingDataSource(sqliteDataSource); // native driver calls leave the carrier
 * }</pre>
 *
 * Without a scheduler argument, the adapters use {@link FiberScheduler#current()} at the time they
 * are made: the calling fiber's scheduler, or the default one, as {@link Fibers#spawn} does. None of
 * them shuts a scheduler down or owns one; close the scheduler yourself after the executors and
 * threads on it are done (its {@code close()} waits for them).
 */
public final class FiberCompat {
    private FiberCompat() { }

    /**
     * An executor that runs each task in a fiber of its own on {@link FiberScheduler#current()}:
     * {@link Executors#newVirtualThreadPerTaskExecutor()} with fibers. See
     * {@link #newFiberPerTaskExecutor(FiberScheduler)}.
     */
    public static ExecutorService newFiberPerTaskExecutor() {
        return newFiberPerTaskExecutor(FiberScheduler.current());
    }

    /**
     * An executor that runs each task in a fiber of its own on {@code scheduler}, with the JDK's
     * thread-per-task executor's exact contract ({@link Executors#newThreadPerTaskExecutor}, which
     * {@link Executors#newVirtualThreadPerTaskExecutor()} is too): no queue and no limit, so
     * {@code shutdownNow()} interrupts the running tasks and returns an empty list, {@code close()}
     * waits for them, and a cancelled {@code Future} interrupts its fiber. A task submitted after
     * {@code shutdown()} is rejected with a {@link java.util.concurrent.RejectedExecutionException}
     * that says so, and one submitted after the scheduler shut down with the scheduler's own.
     *
     * <p>The executor's lifecycle is its tasks' only: shutting it down or closing it leaves
     * {@code scheduler} running, since other code may share it. Thread dumps
     * ({@code jcmd Thread.dump_to_file}) list its tasks' fibers under the executor.
     */
    public static ExecutorService newFiberPerTaskExecutor(FiberScheduler scheduler) {
        return new FiberPerTaskExecutor(Objects.requireNonNull(scheduler, "scheduler"));
    }

    /** A factory of unnamed fibers on {@link FiberScheduler#current()}; see {@link #fiberThreadFactory(FiberScheduler, String)}. */
    public static ThreadFactory fiberThreadFactory() {
        return fiberThreadFactory(FiberScheduler.current(), null);
    }

    /** A factory of unnamed fibers on {@code scheduler}; see {@link #fiberThreadFactory(FiberScheduler, String)}. */
    public static ThreadFactory fiberThreadFactory(FiberScheduler scheduler) {
        return fiberThreadFactory(scheduler, null);
    }

    /**
     * A {@link ThreadFactory} whose threads are fibers of {@code scheduler}, so executor-based code
     * ({@code ThreadPoolExecutor}, {@code ScheduledThreadPoolExecutor}, a server's
     * {@code setExecutor}) runs on fibers unchanged. {@code newThread} returns an unstarted fiber
     * ({@link FiberScheduler#unstartedFiber}): once started it is a fiber of the scheduler like a
     * spawned one ({@link Fibers#current()} works in it, the scheduler's {@code close()} waits for it),
     * and its {@code start()} throws the scheduler's
     * {@link java.util.concurrent.RejectedExecutionException} when the scheduler is shut down (the
     * factory never returns null). The threads are virtual threads: always daemon threads, and
     * {@code setDaemon(false)} throws, as for any virtual thread.
     *
     * @param namePrefix the threads are named {@code namePrefix + n}, n = 1, 2, 3...; null: unnamed
     */
    public static ThreadFactory fiberThreadFactory(FiberScheduler scheduler, String namePrefix) {
        return new FiberThreadFactory(Objects.requireNonNull(scheduler, "scheduler"), namePrefix);
    }

    /**
     * Wraps {@code dataSource} so that every JDBC call that may block runs on the calling fiber's
     * scheduler's offload pool ({@link Fibers#blocking}) while the fiber parks: for drivers that
     * block in native code or do file I/O in Java (sqlite-jdbc, H2 with a file database), which would
     * otherwise hold the carrier and every fiber queued on it. The connections, statements, result
     * sets, metadata and LOBs it returns are wrapped the same way. Off a fiber, calls run on the
     * caller as they would unwrapped. See {@link OffloadingDataSource} for what runs where.
     *
     * <p>A driver whose blocking is socket I/O in Java (pgjdbc, MySQL Connector/J) needs no wrapper
     * under the fiber agent: its socket waits park the fiber and free the carrier already.
     */
    public static DataSource offloadingDataSource(DataSource dataSource) {
        return new OffloadingDataSource(Objects.requireNonNull(dataSource, "dataSource"));
    }
}
