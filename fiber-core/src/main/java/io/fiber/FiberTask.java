package io.fiber;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
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
 *
 * <h2>Queued at most once</h2>
 * Invariant: the fiber's continuation is in at most one place waiting to run (a run-next slot, a
 * local queue, the inject queue, the offload pool's queue), whoever calls {@link #execute}.
 * {@code queued} is set by the CAS in {@link #execute} that admits a submission, and cleared by
 * {@link #run} before the continuation runs; a submission that finds it set is dropped. Nothing is
 * lost: the entry already waiting runs after that submission, and {@code VirtualThread.runContinuation}
 * reads the thread's state only then (after the clear, which follows the failed CAS), so it sees
 * what made the thread runnable. A submission during a run (a yield or a park resubmitting the
 * fiber as it unmounts) finds the flag clear and queues the next run, as it must.
 *
 * <p>Why the JDK submits twice: on JDK 25, {@code getStackTrace()} of an unmounted runnable virtual
 * thread (yielded, unparked) suspends it for the walk and then submits it again unconditionally,
 * in case a run came and went while it was suspended ({@code VirtualThread.tryGetStackTrace}).
 * If none did, the thread is queued twice, and on a carrier whose fibers are always runnable the
 * two entries both survive every run: the fiber runs twice as often, for good, and everything
 * else on its carrier waits twice as long. Any thread dump, profiler or stack-recording logger
 * can take such a trace; so could the {@link CarrierWatchdog}, which now samples mounted fibers only.
 *
 * <p>Virtual threads that a fiber started (inheriting this executor) are queued as the JDK submits
 * them: their continuations have no task of ours to carry the flag.
 */
final class FiberTask implements Executor, Runnable {
    private static final VarHandle QUEUED;

    static {
        try {
            QUEUED = MethodHandles.lookup().findVarHandle(FiberTask.class, "queued", boolean.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final Fiber<?> fiber;
    private final FiberScheduler scheduler;
    private final boolean countInAtStart;
    private Runnable continuation;
    private boolean started;
    private boolean toBlockingPool;
    /** Whether this task waits to run somewhere; see "Queued at most once". */
    private volatile boolean queued;

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
        if (command != continuation) {
            scheduler.execute(command); // an inherited virtual thread's continuation
            return;
        }
        if (!QUEUED.compareAndSet(this, false, true)) {
            return; // already waiting to run, and that run comes after this submission
        }
        if (toBlockingPool) {
            toBlockingPool = false;
            scheduler.blockingPool().execute(this, scheduler);
            return;
        }
        scheduler.execute(this);
    }

    /** The fiber's next yield takes it to the offload pool (called by the fiber itself, before it yields). */
    void moveToBlockingPoolOnYield(boolean move) {
        toBlockingPool = move;
    }

    @Override
    public void run() {
        assert queued : "a run of " + fiber + " that was not queued: it was queued twice";
        queued = false; // before the continuation reads its state: a submission from now on queues another run
        started = true;
        continuation.run();
    }

    /** Whether a carrier has run this fiber yet; a stale false only costs a place in line. */
    boolean hasStarted() {
        return started;
    }
}
