package io.fiber;

import java.util.concurrent.Executor;

/**
 * A fiber's own executor and run-queue entry (docs/design.md section 1): since each fiber has its
 * own, the scheduler knows which fiber a submitted continuation belongs to.
 *
 * <p>The JDK hands {@link #execute} the fiber's continuation ({@code VirtualThread.runContinuation},
 * one object for the thread's whole life) each time the fiber becomes runnable; the first call comes
 * from {@code Thread.start}, before the fiber could run any code. The task then queues itself, so a
 * carrier always knows which fiber it runs ({@link Fiber#current()} reads it from there). A virtual
 * thread that a fiber creates inherits the fiber's executor (JDK 21-25); its continuation is a
 * different object and is queued as it is.
 *
 * <p>Offload by remounting ({@link AgentHooks#offloadEnter}): the fiber sets {@code toBlockingPool}
 * on its own thread and yields; the JDK then hands the continuation back here, on the same OS
 * thread, and it goes to the scheduler's offload pool instead of a carrier, where a pool thread
 * mounts it. The flag is read and cleared only by the thread the fiber runs on.
 *
 * <p>A fiber made by {@link FiberScheduler#unstartedFiber} is counted in by its first
 * {@link #execute}, which comes from its {@code Thread.start()} on the starting thread: that one
 * call throws {@link java.util.concurrent.RejectedExecutionException} when the scheduler is shut
 * down, which {@code Thread.start()} passes on (the JDK's contract for a scheduler that rejects).
 * Every later call never throws.
 */
final class FiberTask implements Executor, Runnable {
    final Fiber<?> fiber;
    private final FiberScheduler scheduler;
    private final boolean countInAtStart;
    private Runnable continuation;
    private boolean started;
    private boolean toBlockingPool;

    FiberTask(Fiber<?> fiber, FiberScheduler scheduler, boolean countInAtStart) {
        this.fiber = fiber;
        this.scheduler = scheduler;
        this.countInAtStart = countInAtStart;
    }

    @Override
    public void execute(Runnable command) {
        if (continuation == null) {
            if (countInAtStart) {
                scheduler.countIn(fiber);
            }
            continuation = command;
        }
        if (command == continuation && toBlockingPool) {
            toBlockingPool = false;
            scheduler.blockingPool().execute(this, scheduler);
            return;
        }
        scheduler.execute(command == continuation ? this : command);
    }

    /** The fiber's next yield takes it to the offload pool (called by the fiber itself, before it yields). */
    void moveToBlockingPoolOnYield(boolean move) {
        toBlockingPool = move;
    }

    @Override
    public void run() {
        started = true;
        continuation.run();
    }

    /** Whether a carrier has run this fiber yet; a stale false only costs a place in line. */
    boolean hasStarted() {
        return started;
    }
}
