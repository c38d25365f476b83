package io.fiber.agent;

import io.fiber.FiberScheduler;
import io.fiber.Fibers;
import io.fiber.internal.bridge.FiberBridge;
import io.fiber.internal.carrier.FiberTask;
import io.fiber.internal.jdk.JdkPollers;
import io.fiber.internal.jdk.VirtualThreadHook;

import java.util.Map;

/**
 * What the agent makes of the threads application code creates: with the option {@code virtual=fibers}
 * (the default), every JDK virtual thread is a fiber; with {@code threads=fibers}, the platform
 * threads application code starts are fibers too ({@link ApplicationThreads}). The patched
 * {@code ThreadBuilders.newVirtualThread} asks here whenever code creates a virtual thread without a
 * scheduler, which is every public way of creating one, and gets an unstarted fiber of
 * {@link FiberScheduler#current()}: the creating fiber's scheduler, or the default scheduler (built on
 * first use) for any other thread. The fiber is the thread the caller asked for, with its name, its
 * uncaught exception handler (the builder sets it after this returns), its inheritable thread locals
 * and context class loader as the builder chose; its start, join, interrupt and state are those of
 * any virtual thread. It runs on our carriers with their reactors and timers, handoff and the
 * blocking-call detector, counts in the scheduler's statistics, and {@code Fibers.current()} is its fiber.
 *
 * <p>Left to the JDK (null returned):
 * <ul>
 *   <li>the JDK's own socket sub-pollers ({@link JdkPollers#createsSubPoller});</li>
 *   <li>threads created while the default scheduler is being built by the same thread (its class
 *       initialiser is running, so it is not there yet);</li>
 *   <li>everything, when the scheduler cannot run fibers on its own carriers (the JDK hook is
 *       closed): its fallback fibers are the JDK's virtual threads, created through here.</li>
 * </ul>
 * A fiber of a scheduler that has been shut down gets its new threads on the default scheduler, since a
 * shut-down scheduler refuses new fibers and the code only asked for a virtual thread.
 */
final class FiberThreads implements FiberBridge.Threads {
    private final boolean virtualThreads;
    private final ApplicationThreads applicationThreads;
    /** With {@code max-fibers}: a fiber that starts a fiber handed out as a thread takes its slot at the start's entry. */
    private final boolean boundsLiveFibers;

    private FiberThreads(boolean virtualThreads, ApplicationThreads applicationThreads, boolean boundsLiveFibers) {
        this.virtualThreads = virtualThreads;
        this.applicationThreads = applicationThreads;
        this.boundsLiveFibers = boundsLiveFibers;
    }

    /**
     * Hands the bridge this policy: virtual threads become fibers when {@code virtualThreads}, platform
     * threads of application code when {@code applicationThreads} is not null. Called once the boot
     * loader holds the bridge: code that names the bridge's types must not load before that, or the
     * application loader would load copies of its own (so {@link FiberAgent} calls here instead of naming them).
     */
    static void install(boolean virtualThreads, ApplicationThreads applicationThreads, boolean boundsLiveFibers) {
        FiberBridge.setThreads(new FiberThreads(virtualThreads, applicationThreads, boundsLiveFibers));
    }

    /**
     * The scheduler a thread created now becomes a fiber of, or null when none can run it on its own
     * carriers (or the default one is being built by this thread).
     */
    static FiberScheduler scheduler() {
        FiberScheduler scheduler = FiberScheduler.current();
        if (scheduler != null && scheduler.isShutdown()) {
            scheduler = Fibers.defaultScheduler();
        }
        return scheduler == null || !scheduler.usesOwnCarriers() ? null : scheduler;
    }

    @Override
    public Thread newVirtualThread(String name, int characteristics, Runnable task) {
        if (!virtualThreads || JdkPollers.createsSubPoller(name)) {
            return null;
        }
        FiberScheduler scheduler = scheduler();
        return scheduler == null ? null : scheduler.unstartedFiber(name, VirtualThreadHook.inheritsThreadLocals(characteristics), task);
    }

    @Override
    public Thread newThread(ThreadGroup group, Runnable task, String name, long stackSize, boolean inheritThreadLocals, String creator) {
        return applicationThreads == null ? null : applicationThreads.newThread(group, task, name, stackSize, inheritThreadLocals, creator);
    }

    @Override
    public Thread platformThread(Thread made, Object maker, Runnable task) {
        return applicationThreads == null ? made : applicationThreads.platformThread(made, maker, task);
    }

    @Override
    public void defaultThreadFactoryMade(Object factory) {
        if (applicationThreads != null) {
            applicationThreads.defaultThreadFactoryMade(factory);
        }
    }

    /**
     * A virtual thread is about to start. Under a bound on live fibers ({@code max-fibers}, or a
     * scheduler's own {@code maxLiveFibers}) a fiber of ours started by a fiber takes its slot here,
     * where the starter can park: the JDK submits a starting thread with the starter pinned to its
     * carrier, so waiting there would hold the carrier's OS thread. A refusal is thrown from
     * {@code Thread.start}, as the scheduler's would be, before the thread is marked started.
     */
    @Override
    public void starting(Thread thread) {
        if (boundsLiveFibers && Thread.currentThread().isVirtual()
                && VirtualThreadHook.schedulerOf(thread) instanceof FiberTask fiber) {
            fiber.takeSlotsBeforeStart();
        }
        if (applicationThreads != null) {
            applicationThreads.starting(thread);
        }
    }

    @Override
    public boolean runDirectly(Thread thread) {
        return applicationThreads != null && applicationThreads.runDirectly(thread);
    }

    @Override
    public boolean setDaemon(Thread thread, boolean on) {
        return applicationThreads != null && applicationThreads.setDaemon(thread, on);
    }

    @Override
    public Boolean daemon(Thread thread) {
        return applicationThreads == null ? null : applicationThreads.daemon(thread);
    }

    @Override
    public boolean convertsThreads() {
        return applicationThreads != null;
    }

    @Override
    public Map<String, Long> convertedThreads() {
        return applicationThreads == null ? Map.of() : applicationThreads.convertedThreads();
    }

    @Override
    public Map<String, Long> platformThreads() {
        return applicationThreads == null ? Map.of() : applicationThreads.platformThreads();
    }
}
