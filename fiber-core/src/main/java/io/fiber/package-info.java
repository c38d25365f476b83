/**
 * Fibers for the JVM: green threads on a few carrier event loops, each with its own epoll reactor.
 * This package is the whole public API; everything below {@code io.fiber.internal} is machinery.
 *
 * <h2>Map</h2>
 * <ul>
 *   <li>{@link io.fiber.Fibers}: the entry point: spawn, sleep, yield, offload a blocking call.</li>
 *   <li>{@link io.fiber.Fiber}: a running or finished fiber: its result, cancellation, its thread.</li>
 *   <li>{@link io.fiber.FiberScheduler}: a set of carrier loops; the default one, or your own group.</li>
 *   <li>{@link io.fiber.FiberScope}: structured concurrency: fibers forked in a scope end with it.</li>
 *   <li>{@link io.fiber.FiberPool}: at most N fibers at once.</li>
 *   <li>{@link io.fiber.FiberGroup}: a share of the carriers' time and an optional bound (a serial
 *       lane) for some of a scheduler's fibers; {@link io.fiber.FiberGroupStats}.</li>
 *   <li>{@link io.fiber.Timeout}: a deadline over any blocking call of a fiber, sockets included.</li>
 *   <li>{@link io.fiber.SchedulerStats}, {@link io.fiber.CarrierStats}: what the loops have done.</li>
 *   <li>{@code io.fiber.channel}: channels and select between fibers.</li>
 *   <li>{@code io.fiber.detector}: the blocking-call detector: what holds a carrier, reported or failed.</li>
 * </ul>
 *
 * <h2>Glossary</h2>
 * One name for each thing, from this API down to the reactor (docs/design.md, "Vocabulary"):
 * <dl>
 *   <dt>fiber</dt><dd>one unit of concurrent work; a JDK virtual thread whose scheduler is ours.</dd>
 *   <dt>task</dt><dd>the code a fiber runs: the {@code Runnable} or {@code Callable} given to spawn.</dd>
 *   <dt>continuation</dt><dd>the JDK's frozen stack of a virtual thread: what a carrier mounts and
 *       runs, and what the run queues hold.</dd>
 *   <dt>fiber task</dt><dd>({@code internal.carrier.FiberTask}) the fiber's own executor and
 *       queue entry: how a carrier knows which fiber a continuation belongs to. A fiber's task is
 *       also the body its thread runs and holds its outcome ({@code Fiber.Body}); a {@link Fiber}
 *       is a handle on it.</dd>
 *   <dt>carrier</dt><dd>a carrier loop: a platform thread that runs continuations from its queues,
 *       owns a reactor and timers, and sleeps in its reactor when idle.</dd>
 *   <dt>scheduler</dt><dd>a set of carriers and what they share (inject queue, idle set, live
 *       fibers, offload pool).</dd>
 *   <dt>reactor</dt><dd>a carrier's epoll instance, where its fibers' socket waits go.</dd>
 *   <dt>watchdog</dt><dd>the thread that looks at every carrier each millisecond: yield requests,
 *       handoff, rescue polls, long-run reports.</dd>
 *   <dt>group</dt><dd>some of a scheduler's fibers with a weight (their share of carrier time) and
 *       an optional bound on how many run at once; a bound of 1 is a serial lane.</dd>
 *   <dt>safe point</dt><dd>a spawn or a socket read, where a fiber asked to yield does so.</dd>
 *   <dt>handoff</dt><dd>moving a held carrier's queue, reactor and timers to a new thread.</dd>
 *   <dt>offload</dt><dd>running a call that would hold a carrier on the offload pool's platform
 *       threads while the fiber waits ({@link io.fiber.Fibers#blocking}, the agent option
 *       {@code offload=}).</dd>
 *   <dt>agent, bridge</dt><dd>{@code fiber-agent.jar} patches the JDK's choke points; the patched
 *       code calls the bridge, a class on the boot class path.</dd>
 * </dl>
 */
package io.fiber;
