package io.fiber.internal.carrier;

import io.fiber.internal.group.Admission;
import io.fiber.internal.group.Group;
import io.fiber.internal.jdk.VirtualThreadHook;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.Executor;
import java.util.concurrent.locks.LockSupport;

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
 * <p>Offload by remounting (the agent's offloaded calls): the fiber sets {@code TO_OFFLOAD_POOL}
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
 *
 * <h2>Groups</h2>
 * A fiber of a {@link Group} queues its continuation in the group's run queue instead of the carrier
 * queues ({@link Carriers#executeInGroup}). In a group with a bound, its first submission (from
 * {@code Thread.start}) enters the group's {@link Admission} line instead: the thread is started for
 * the JDK (so {@code join} waits for it) but its continuation, counted as queued, runs only once
 * {@link #admitted}, and the fiber frees its slot as it finishes ({@link #leaveGroup}). In the fallback
 * mode the JDK schedules the thread, so the spawner enters the line before the start and the fiber's
 * first act is to wait for its turn ({@link #awaitAdmission}).
 */
public class FiberTask implements Executor, Runnable, Admission.Member {
    private static final VarHandle QUEUED;

    static {
        try {
            QUEUED = MethodHandles.lookup().findVarHandle(FiberTask.class, "queued", boolean.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private static final byte NOT_IN_LINE = 0;
    private static final byte IN_LINE = 1;
    private static final byte ADMITTED = 2;
    /** Taken out of the line, cancelled, to start without a slot and end at once ({@link #releaseFromLine}). */
    private static final byte RELEASED = 3;

    /** {@link #flags}: handed out as a thread (see the constructor); never changes. */
    private static final byte AS_THREAD = 1;
    /** {@link #flags}: the first submission (from {@code Thread.start}) has come. */
    private static final byte SUBMITTED = 2;
    /** {@link #flags}: a carrier has run the fiber. */
    private static final byte STARTED = 4;
    /** {@link #flags}: the fiber's next yield takes it to the offload pool. */
    private static final byte TO_OFFLOAD_POOL = 8;

    // Fields are counted: every fiber keeps this object (and its subclass's fields) until it is joined,
    // so a burst of spawns is copied by each young collection with it. Small fields are bytes, and
    // nothing is kept that can be derived: the live set's stripe comes from the thread's id, the
    // continuation from the thread (VirtualThreadHook.continuationOf).
    private final Object owner;
    private final Carriers carriers;
    /** The fiber's group, or null. */
    private final Group group;
    private Thread thread;
    /** Where the fiber stands in its bounded group's line: NOT_IN_LINE, IN_LINE, then ADMITTED or RELEASED. */
    private volatile byte admission;
    /**
     * AS_THREAD, SUBMITTED, STARTED, TO_OFFLOAD_POOL. Written by one thread at a time, each write
     * ordered after the one before: AS_THREAD by the constructor, SUBMITTED by the first submission
     * (before the fiber is queued anywhere), STARTED by the first run, TO_OFFLOAD_POOL by the fiber
     * itself and cleared by the submission of its yield, on the same OS thread. Other threads only
     * read it (a stale STARTED only costs a place in line).
     */
    private byte flags;
    /** Whether this task waits to run somewhere; see "Queued at most once". */
    private volatile boolean queued;
    /**
     * When the fiber last became runnable, began a run or left its carrier ({@link StateClock}).
     * Written by whoever submits or runs it, racily at the end of a run (which may follow the next
     * submission from another thread by a moment): a stamp or a sample may be lost, never an int torn.
     */
    private int since;

    /** Links of the scheduler's {@link LiveFibers} list; guarded by the monitor of the thread's stripe. */
    FiberTask liveNext;
    FiberTask livePrev;

    FiberTask(Object owner, Carriers carriers, boolean asThread) {
        this(owner, carriers, asThread, null);
    }

    /**
     * The task of {@code owner}, a fiber of {@code group} (null: none). With {@code asThread} the fiber
     * was handed out as a plain {@link Thread} ({@code FiberScheduler.unstartedFiber}): it is counted
     * in by its thread's {@code start()} ({@link #execute}) rather than by the spawner
     * ({@link Carriers#admit}).
     */
    protected FiberTask(Object owner, Carriers carriers, boolean asThread, Group group) {
        this.owner = owner;
        this.carriers = carriers;
        this.flags = asThread ? AS_THREAD : 0;
        this.group = group;
    }

    /** The API's fiber object this task runs. */
    public final Object owner() {
        return owner;
    }

    /** The carriers this fiber runs on (none in the fallback mode). */
    public final Carriers carriers() {
        return carriers;
    }

    /** Whether the fiber was handed out as a plain thread; see the constructor. */
    public final boolean asThread() {
        return (flags & AS_THREAD) != 0;
    }

    /** Once, before the thread starts. */
    public final void bind(Thread thread) {
        assert this.thread == null : "a fiber's task is bound to one thread";
        this.thread = thread;
    }

    /** The fiber's virtual thread; null until {@link #bind}. */
    public final Thread thread() {
        return thread;
    }

    /** The fiber's group, or null. */
    public final Group group() {
        return group;
    }

    @Override
    public void execute(Runnable command) {
        byte f = flags;
        if ((f & SUBMITTED) == 0) {
            if ((f & AS_THREAD) != 0) {
                carriers.admit(this);
            }
            flags = (byte) (f | SUBMITTED);
            assert command == VirtualThreadHook.continuationOf(thread) : "the first submission of " + thread + " is its own";
            if (group != null && group.isBounded()) {
                boolean first = QUEUED.compareAndSet(this, false, true);
                assert first : "the first submission of " + thread + " found it queued";
                enterLine(); // waiting in line counts as queued: its run is submitted when admitted
                return;
            }
        }
        if (command != VirtualThreadHook.continuationOf(thread)) {
            carriers.execute(command); // an inherited virtual thread's continuation
            return;
        }
        if (!QUEUED.compareAndSet(this, false, true)) {
            return; // already waiting to run, and that run comes after this submission
        }
        if ((flags & TO_OFFLOAD_POOL) != 0) {
            flags &= ~TO_OFFLOAD_POOL;
            carriers.offloadPool().execute(this, group == null ? carriers::execute : this::executeInGroup);
            return;
        }
        if (group != null) {
            carriers.executeInGroup(this, group);
        } else {
            carriers.execute(this);
        }
    }

    private void executeInGroup(Runnable self) {
        carriers.executeInGroup(this, group);
    }

    /**
     * Joins the line of the fiber's bounded group: from its first submission on carriers, or from the
     * spawner before {@code Thread.start} in the fallback mode (then {@link #awaitAdmission} follows).
     */
    public void enterLine() {
        assert group != null && group.isBounded() : "only a fiber of a bounded group waits for a slot";
        admission = IN_LINE;
        group.admission().enter(this);
    }

    /** Its turn has come: the continuation is submitted (carriers), or the waiting fiber goes on (fallback). */
    @Override
    public void admitted() {
        leaveLine(ADMITTED);
    }

    /** Out of the line, {@code how} (ADMITTED or RELEASED): the continuation is submitted (carriers), or the waiting fiber goes on (fallback). */
    private void leaveLine(byte how) {
        admission = how;
        if (carriers.count() > 0) {
            carriers.executeInGroup(this, group); // counted as queued since it entered the line
        } else {
            LockSupport.unpark(thread);
        }
    }

    /**
     * The fallback mode's wait for a slot, by the fiber itself before its task. Interrupts (a cancel)
     * do not end the wait: the fiber keeps its place, and once admitted it sees the cancel and ends at
     * once, as an unstarted fiber does; the interrupt is kept for it.
     */
    public void awaitAdmission() {
        boolean interrupted = false;
        while (admission == IN_LINE) {
            LockSupport.park(this);
            interrupted |= Thread.interrupted();
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Called once the fiber's cancellation is decided, so that it cannot run its task: if it still
     * waits in its bounded group's line, it leaves the line and starts now, without a slot, only to see
     * the cancellation and end. Nothing of the bound is broken (no task code runs), and nothing waits
     * for a start that may never come: a scope that its owner, a fiber of a serial lane, closes
     * cancels forks waiting for the very slot the owner holds until its scope is closed. A fiber
     * being admitted meanwhile starts with its slot and ends as quickly.
     */
    public void releaseFromLine() {
        if (admission != IN_LINE || !group.admission().withdraw(this)) {
            return;
        }
        leaveLine(RELEASED);
    }

    /**
     * Whether this fiber cannot start before {@code holder} ends: both are of one serial lane,
     * {@code holder} runs in its slot and this fiber waits in line for it. {@code holder} waiting for
     * this fiber would wait forever. Exact, not a guess: only {@code holder}'s end frees the slot.
     */
    public boolean waitsInLineFor(FiberTask holder) {
        return group != null && group == holder.group && group.isBounded() && group.admission().bound() == 1
                && admission == IN_LINE && holder.admission == ADMITTED;
    }

    /**
     * The fiber finished (or failed to start): counted, and its slot goes to the next in line. A fiber
     * that failed to start while still in line leaves the line; one that was being admitted as it
     * failed waits for that to complete and gives the slot back.
     */
    void leaveGroup() {
        if (group == null) {
            return;
        }
        group.finished();
        byte state = admission;
        if (state == NOT_IN_LINE || state == RELEASED) {
            return;
        }
        if (state == IN_LINE && group.admission().withdraw(this)) {
            return;
        }
        while ((state = admission) == IN_LINE) {
            Thread.onSpinWait(); // taken from the line (admitted or released), told in a moment
        }
        if (state == ADMITTED) {
            group.admission().leave();
        }
    }

    /** The fiber's next yield takes it to the offload pool (called by the fiber itself, before it yields). */
    public void moveToOffloadPoolOnYield(boolean move) {
        flags = (byte) (move ? flags | TO_OFFLOAD_POOL : flags & ~TO_OFFLOAD_POOL);
    }

    /**
     * Runs the queued continuation: what a carrier, the offload pool, or the JDK's scheduler after a
     * shutdown does with this task. A subclass that is also the fiber's body (the API's) tells the
     * two apart by the calling thread, which is never the fiber's own here.
     */
    @Override
    public void run() {
        assert queued : "a run of " + thread + " that was not queued: it was queued twice";
        queued = false; // before the continuation reads its state: a submission from now on queues another run
        byte f = flags;
        if ((f & STARTED) == 0) {
            flags = (byte) (f | STARTED);
        }
        VirtualThreadHook.continuationOf(thread).run();
    }

    /** Whether a carrier has run this fiber yet; a stale false only costs a place in line. */
    boolean hasStarted() {
        return (flags & STARTED) != 0;
    }

    /** Submitted: runnable from now, with a precise stamp if this submission's delay is timed. */
    final void markReady(boolean timed) {
        since = timed ? StateClock.preciseStamp() : StateClock.coarseStamp();
    }

    /** About to run on a carrier: a timed submission's delay goes to {@code delays}. */
    final void markRunning(DelayRecorder delays) {
        int stamp = since;
        if (StateClock.isPrecise(stamp)) {
            delays.record(StateClock.nanosBetween(stamp, StateClock.preciseStamp()));
        }
        since = StateClock.coarseStamp();
    }

    /** Its run ended (parked, yielded or finished), unless it is already queued again. */
    final void markUnmounted() {
        if (!queued) {
            since = StateClock.coarseStamp();
        }
    }

    /** How long the fiber has been in its present state (runnable, running, or off its carrier) at {@code nowNanos}; -1 if unknown. */
    public final long nanosInState(long nowNanos) {
        return StateClock.ageNanos(since, nowNanos);
    }
}
