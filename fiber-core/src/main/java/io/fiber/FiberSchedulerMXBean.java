package io.fiber;

import java.util.List;

/**
 * The management interface of a {@link FiberScheduler}, as the JDK's
 * {@code jdk.management.VirtualThreadSchedulerMXBean} is of its own scheduler: each scheduler is
 * registered in the platform MBean server under {@code io.fiber:type=FiberScheduler,name="<its name>"}
 * ({@code "<its name> #2"} and so on for a second scheduler of the same name; its exact name is
 * {@link FiberScheduler#managementName()}) from its build until it terminates, so {@code jconsole},
 * JMX exporters (Prometheus' {@code jmx_exporter}) and monitoring agents see it with no code.
 *
 * <p>The scheduler never creates the platform MBean server itself, which costs a JVM about half a
 * second and tens of megabytes: its bean is registered once something else has created the server
 * (the program, a monitoring agent, or {@code jconsole}/{@code jcmd <pid> ManagementAgent.start}
 * attaching), within about a second.
 *
 * <p>Every attribute is read without stopping the carriers, as {@link FiberScheduler#stats()} is:
 * each figure is consistent on its own, not with the others. See {@link SchedulerStats} and
 * {@link CarrierStats} for what each counts.
 */
public interface FiberSchedulerMXBean {
    /** The scheduler's name. */
    String getName();

    /** False in the fallback mode, where fibers run on the JDK's default scheduler. */
    boolean isOwnCarriers();

    int getCarrierCount();

    long getFibersSpawned();

    long getFibersAlive();

    /** Resumptions after a park or yield, summed over the carriers. */
    long getParks();

    long getSteals();

    /** Socket waits served by the carriers' own reactors. */
    long getIoWaits();

    /** Timers the carriers fired (sleeps and timed parks under the agent). */
    long getTimersFired();

    /** Times a fiber held a carrier's thread so long that a new thread took over its work. */
    long getHandoffs();

    /** Continuations waiting in the global inject queue. */
    int getInjectQueueDepth();

    /** Continuations waiting for a carrier: the inject queue and every carrier's local queue. */
    int getQueuedContinuations();

    /** Calls run on the offload pool ({@link Fibers#blocking}) since the scheduler was built. */
    long getOffloadedCalls();

    int getOffloadPoolThreads();

    /** Calls waiting for an offload pool thread now. */
    int getOffloadQueuedCalls();

    /** Times carriers were woken from their sleep by another thread. */
    long getCarrierWakeups();

    /** Timers waiting to fire on the carriers. */
    int getPendingTimers();

    /** How long fibers waited to run once runnable, since the scheduler started (sampled: {@link DelayHistogram}). */
    DelayHistogram getSchedulingDelay();

    /** The median of {@link #getSchedulingDelay()}, at most this many microseconds. */
    long getSchedulingDelayP50Micros();

    /** The 99th percentile of {@link #getSchedulingDelay()}, at most this many microseconds. */
    long getSchedulingDelayP99Micros();

    boolean isShutdown();

    boolean isTerminated();

    /** One entry per carrier loop. */
    List<CarrierStats> getCarriers();

    /** What {@link FiberScheduler#stats()} prints: a line for the scheduler, one per carrier and one per group. */
    String getSummary();

    /** An operation: the dump {@link FiberScheduler#dumpFibers(Appendable)} writes, as text. */
    String dumpFibers();
}
