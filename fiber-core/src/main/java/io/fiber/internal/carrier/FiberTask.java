package io.fiber.internal.carrier;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.Executor;

/**
 * A fiber's own executor and run-queue entry (docs/design.md section 1): since each fiber has its
 * own, the scheduler knows which fiber a submitted continuation belongs to. It is all the carrier
 * layer knows of a fiber: its thread, its place in the live set ({@link LiveFibers}) and an opaque
 * {@link #owner()}, the API's {@code io.fiber.Fiber}, which this layer never looks into. In the
 * fallback mode (no carriers) the task is only the fiber's entry in the live set.
 *
 * <p>The JDK hands {@link #execute} the fiber's continuation ({@code VirtualThread.runContinuation},
 * one object for the thread's whole life) each time the fiber becomes runnable; the first call comes
 * from {@code Thread.start}, before the fiber could run any code. The task then queues itself, so a
 * carrier always knows which fiber it runs ({@code Fiber.current()} reads it from there, {@link Carriers#currentTask}). A virtual
 * thread that a fiber creates inherits the fiber's executor (JDK 21-25); its continuation is a
 * different object and is queued as it is.
 *
 * <p>Offload by remounting (the agent's offloaded calls): the fiber sets {@code toOffloadPool}
 * on its own thread and yields; the JDK then hands the continuation back here, on the same OS
 * thread, and it goes to the scheduler's offload pool instead of a carrier, where a pool thread
 * mounts it. The flag is read and cleared only by the thread the fiber runs on.
 *
 * <p>A fiber made by {@code FiberScheduler.unstartedFiber} is counted in by its first
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
public final class FiberTask implements Executor, Runnable {
    private static final VarHandle QUEUED;

    static {
        try {
            QUEUED = MethodHandles.lookup().findVarHandle(FiberTask.class, "queued", boolean.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Object owner;
    private final Carriers carriers;
    private final boolean admitAtStart;
    private Thread thread;
    private Runnable continuation;
    private boolean started;
    private boolean toOffloadPool;
    /** Whether this task waits to run somewhere; see "Queued at most once". */
    private volatile boolean queued;

    /** Where the scheduler's {@link LiveFibers} keeps this fiber; guarded by the stripe's lock. */
    Object liveStripe;
    int liveSlot = -1;

    FiberTask(Object owner, Carriers carriers, boolean admitAtStart) {
        this.owner = owner;
        this.carriers = carriers;
        this.admitAtStart = admitAtStart;
    }

    /** The API's fiber object this task runs. */
    public Object owner() {
        return owner;
    }

    /** Once, before the thread starts. */
    public void bind(Thread thread) {
        assert this.thread == null : "a fiber's task is bound to one thread";
        this.thread = thread;
    }

    /** The fiber's virtual thread. */
    Thread thread() {
        return thread;
    }

    @Override
    public void execute(Runnable command) {
        if (continuation == null) {
            if (admitAtStart) {
                carriers.admit(this);
            }
            continuation = command;
        }
        if (command != continuation) {
            carriers.execute(command); // an inherited virtual thread's continuation
            return;
        }
        if (!QUEUED.compareAndSet(this, false, true)) {
            return; // already waiting to run, and that run comes after this submission
        }
        if (toOffloadPool) {
            toOffloadPool = false;
            carriers.offloadPool().execute(this, carriers::execute);
            return;
        }
        carriers.execute(this);
    }

    /** The fiber's next yield takes it to the offload pool (called by the fiber itself, before it yields). */
    public void moveToOffloadPoolOnYield(boolean move) {
        toOffloadPool = move;
    }

    @Override
    public void run() {
        assert queued : "a run of " + thread + " that was not queued: it was queued twice";
        queued = false; // before the continuation reads its state: a submission from now on queues another run
        started = true;
        continuation.run();
    }

    /** Whether a carrier has run this fiber yet; a stale false only costs a place in line. */
    boolean hasStarted() {
        return started;
    }
}
