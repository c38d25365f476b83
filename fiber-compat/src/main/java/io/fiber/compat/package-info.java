/**
 * Adapters that let code written for threads, executors and JDBC run on fibers unchanged. The one
 * public class is {@link io.fiber.compat.FiberCompat}; everything it returns is a JDK type.
 *
 * <ul>
 *   <li>{@link io.fiber.compat.FiberCompat#newFiberPerTaskExecutor}: an {@code ExecutorService}
 *       that runs each task in a fiber, with the contract of
 *       {@code Executors.newVirtualThreadPerTaskExecutor()} (it is the JDK's thread-per-task
 *       executor over fibers). It never shuts its scheduler down.</li>
 *   <li>{@link io.fiber.compat.FiberCompat#fiberThreadFactory}: a {@code ThreadFactory} whose
 *       threads are fibers of a scheduler, for {@code ThreadPoolExecutor},
 *       {@code ScheduledThreadPoolExecutor}, {@code HttpServer.setExecutor} and any other code that
 *       makes its own threads. The scheduler counts each from its {@code start()}.</li>
 *   <li>{@link io.fiber.compat.FiberCompat#offloadingDataSource}: a {@code DataSource} wrapper
 *       that runs the JDBC calls that may block on the scheduler's offload pool
 *       ({@link io.fiber.Fibers#blocking}), for drivers that block in native code (sqlite-jdbc) or in
 *       file I/O, which would otherwise hold the carrier.</li>
 * </ul>
 */
package io.fiber.compat;
