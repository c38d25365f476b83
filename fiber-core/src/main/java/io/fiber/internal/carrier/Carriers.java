package io.fiber.internal.carrier;

import io.fiber.internal.RuntimeLog;
import io.fiber.internal.group.Group;
import io.fiber.internal.group.Groups;
import io.fiber.internal.group.LiveLimit;
import io.fiber.internal.io.CarrierReactor;
import io.fiber.internal.jdk.JdkPollers;
import io.fiber.internal.jdk.VirtualThreadHook;
import io.fiber.internal.offload.OffloadPool;
import io.fiber.internal.time.CarrierTimers;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * What the carriers of one scheduler share (Tokio's {@code Shared}): the loops, the inject queue,
 * the idle set, the live fibers, the offload pool and the lifecycle. The public
 * {@code io.fiber.FiberScheduler} is a handle on one of these; a {@link CarrierLoop} owns its queue,
 * run-next slot and counters and reaches everything else through here, so a handoff moves a loop's
 * own state to a new thread and leaves this untouched (docs/design.md section 2).
 *
 * <h2>Submission ({@link #execute})</h2>
 * The JDK hands us a virtual thread's continuation whenever it becomes runnable: at start, after an
 * unpark, a yield, a timer expiry or a poller event. {@link #execute} is called from any thread:
 * the spawner, our own carriers, JDK timer and poller threads, and (JDK 25) from a fiber pinned while
 * it unparks another. It is lock-free, never blocks and never throws (a throw would kill the JDK
 * poller loop that called it). The caller's carrier is found with {@code currentCarrierThread}, not
 * {@code currentThread}: on our own carrier the continuation goes to that carrier's local queues
 * with no cross-thread traffic; from anywhere else it goes to the inject queue and one sleeping
 * carrier is woken if nobody is searching ({@link IdleCarriers}).
 *
 * <h2>Lifecycle</h2>
 * RUNNING, then SHUTDOWN ({@link #shutdown}: no new fibers, running ones finish) or STOP
 * ({@link #stop}: running fibers are cancelled too), then TERMINATED once no fiber is alive and every
 * carrier has exited. The set of live fibers ({@link LiveFibers}) and the state form a Dekker pair
 * (add then read state; write state then scan the set), so a spawn racing a shutdown is either
 * rejected or waited for, never lost. Continuations that arrive after the carriers exited (virtual
 * threads a fiber created inherit the scheduler, and may outlive it) are handed to the JDK's default
 * scheduler rather than dropped.
 *
 * <h2>Groups</h2>
 * A fiber of a group ({@link Groups}) queues its continuations in its group's run queue
 * ({@link #executeInGroup}), which every carrier looks at; the carriers consider the groups' queues
 * wherever they decide whether work exists (the sleep handshake through {@link #hasQueuedWork}, the
 * watchdog's {@code hasWaitingWork}, the draining after the last carrier exits), and the groups'
 * admission lines hold fibers that are live but wait for a slot: shutdown waits for them and
 * {@link #stop} cancels them like any live fiber.
 *
 * <p>Without the JDK hook ({@link VirtualThreadHook#isAvailable()}) there are no loops: fibers run on
 * the JDK's scheduler and only the lifecycle, the offload pool and the groups' bounds are used (the
 * fallback mode).
 */
public final class Carriers {
    private static final VarHandle LOOP_SLOTS = MethodHandles.arrayElementVarHandle(CarrierLoop[].class);
    /** A run caught inside a native method (a system call, JNI, a pinned park) is handed off sooner. */
    public static final long NATIVE_HANDOFF_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

    private static final int RUNNING = 0;
    private static final int SHUTDOWN = 1;
    private static final int STOP = 2;

    private static final RuntimeLog log = RuntimeLog.of(Carriers.class);
    private final String name;
    private final CarrierLoop[] loops;
    final IdleCarriers idle;
    private final InjectQueue injectQueue = new InjectQueue();
    final Groups groups = new Groups();
    private final AtomicInteger state = new AtomicInteger(RUNNING);
    private final LiveFibers live;
    private final AtomicBoolean terminationStarted = new AtomicBoolean();
    private volatile boolean terminating;
    private final AtomicInteger carriersRunning;
    private final CountDownLatch terminated = new CountDownLatch(1);
    /** Run once, as the scheduler terminates; set before it can ({@link #whenTerminated}). */
    private volatile Runnable onTermination;
    private final OffloadPool offloadPool;
    private final long handoffNanos;
    /** The API's scheduler object, opaque here; set once, before the first fiber. */
    private Object owner;
    /** The bound on live fibers, or null; set once, before the first fiber ({@link #limitLiveFibers}). */
    private LiveLimit liveLimit;

    /**
     * Starts {@code carriers} loops (none without the JDK hook) named {@code name-carrier-i}.
     *
     * @param handoffNanos how long a run may hold its carrier before a handoff; 0: never
     * @param startOffloadPool create the offload pool's executor now (the agent offloads calls that
     *        may run inside class loading, where creating it would load classes)
     */
    public Carriers(String name, int carriers, boolean daemon, int maxOffloadThreads, long handoffNanos,
                    boolean startOffloadPool) {
        this.name = name;
        this.offloadPool = new OffloadPool(name + "-offload", maxOffloadThreads);
        this.handoffNanos = handoffNanos;
        if (startOffloadPool) {
            offloadPool.start();
        }
        if (VirtualThreadHook.isAvailable()) {
            JdkPollers.initializeOffCarriers();
            loops = new CarrierLoop[carriers];
            for (int i = 0; i < loops.length; i++) {
                loops[i] = new CarrierLoop(this, i, name + "-carrier-" + i, daemon);
            }
        } else {
            loops = new CarrierLoop[0];
        }
        idle = new IdleCarriers(Math.max(1, loops.length));
        live = new LiveFibers(loops.length);
        carriersRunning = new AtomicInteger(loops.length);
        CarrierThread.anyBuilt = true; // before the carriers start: see its note
        for (CarrierLoop loop : loops) {
            loop.thread.start();
        }
        CarrierWatchdog.register(this);
    }

    public String name() {
        return name;
    }

    /**
     * The API's scheduler object these carriers run, which a fiber reaches through its task rather
     * than keep a pointer of its own ({@link FiberTask}: every field there is kept per fiber).
     */
    public Object owner() {
        return owner;
    }

    /** Once, by the API's scheduler as it is built, before any of its fibers exists. */
    public void owner(Object owner) {
        assert this.owner == null : "a scheduler's carriers have one owner";
        this.owner = owner;
    }

    /** Once, by the API's scheduler as it is built, before any of its fibers exists: the bound on its live fibers. */
    public void limitLiveFibers(LiveLimit limit) {
        assert this.liveLimit == null : "a scheduler's live fibers have one bound";
        this.liveLimit = limit;
    }

    /** The bound on live fibers, or null when there is none. */
    public LiveLimit liveLimit() {
        return liveLimit;
    }

    /** The number of carrier loops; 0 in the fallback mode. */
    public int count() {
        return loops.length;
    }

    // ---- fibers -------------------------------------------------------------------------------

    /** A fiber's task, for the API's fiber object {@code owner}; see {@link FiberTask}'s constructor for {@code asThread}. */
    public FiberTask newTask(Object owner, boolean asThread) {
        return new FiberTask(owner, this, asThread);
    }

    /** This scheduler's groups. */
    public Groups groups() {
        return groups;
    }

    /**
     * An unstarted virtual thread of ours whose continuation goes through {@code fiberTask}, which is
     * also the body the thread runs (the API's subclass runs its task when called on its own thread);
     * see {@link VirtualThreadHook#newVirtualThread} for {@code inheritThreadLocals}.
     */
    public Thread newThread(FiberTask fiberTask, String threadName, boolean inheritThreadLocals) {
        assert loops.length > 0 : "the fallback mode has no carriers to run " + threadName;
        Thread thread = VirtualThreadHook.newVirtualThread(fiberTask, threadName, inheritThreadLocals, fiberTask);
        fiberTask.bind(thread);
        return thread;
    }

    /**
     * Takes the slots a new fiber of {@code group} (null: none) needs under the bounds on live
     * fibers, the group's and then the scheduler's, waiting or refused as their policies say; with
     * no bound, two reads. The caller hands them to {@link #admit}, which gives them back if it
     * refuses; every fiber admitted holds them until {@link #finished}.
     *
     * @throws RuntimeException the scheduler's refusal (the API's exceptions) when a bound refuses
     */
    public void acquireSlots(Group group) {
        LiveLimit groupLimit = group == null ? null : group.liveLimit();
        if (groupLimit != null) {
            groupLimit.acquire(); // first, so a spawner waiting for its group holds no slot of the scheduler
        }
        LiveLimit limit = liveLimit;
        if (limit != null) {
            try {
                limit.acquire();
            } catch (Throwable t) {
                if (groupLimit != null) {
                    groupLimit.release();
                }
                throw t;
            }
        }
    }

    /** Whether a new fiber of {@code group} (null: none) must take a slot under a bound on live fibers. */
    boolean hasLiveLimits(Group group) {
        return liveLimit != null || group != null && group.liveLimit() != null;
    }

    /** Gives back the slots {@link #acquireSlots} took for {@code fiberTask}: it finished, or was never admitted. */
    private void releaseSlots(FiberTask fiberTask) {
        releaseSlots(fiberTask.group());
    }

    /** Gives back the slots {@link #acquireSlots} took for a fiber of {@code group} (null: none) that was not made after all. */
    public void releaseSlots(Group group) {
        LiveLimit limit = liveLimit;
        if (limit != null) {
            limit.release();
        }
        LiveLimit groupLimit = group == null ? null : group.liveLimit();
        if (groupLimit != null) {
            groupLimit.release();
        }
    }

    /**
     * Adds a fiber about to start to the live set, or throws {@link RejectedExecutionException} when
     * shut down. Called by the spawner before the thread starts, and for a fiber counted in at start
     * from its {@code Thread.start()}, with the fiber's slots taken ({@link #acquireSlots}); a
     * refusal gives them back.
     */
    public void admit(FiberTask fiberTask) {
        if (state.get() != RUNNING) {
            releaseSlots(fiberTask);
            throw rejected();
        }
        live.add(fiberTask);
        if (state.get() != RUNNING) { // a shutdown raced this start: it may not have seen the fiber
            live.remove(fiberTask);
            releaseSlots(fiberTask);
            terminateIfDone();
            throw rejected();
        }
        Group group = fiberTask.group();
        if (group != null) {
            group.spawned(); // counted where the live set is, as its twin in finished() (leaveGroup)
        }
    }

    /** Throws {@link RejectedExecutionException}, naming the scheduler and the fix, once shut down. */
    public void rejectIfShutDown() {
        if (state.get() != RUNNING) {
            throw rejected();
        }
    }

    /** The rejection of a spawn once shut down, for the API's bounds on live fibers too. */
    public RejectedExecutionException rejected() {
        return new RejectedExecutionException("cannot spawn a fiber on scheduler '" + name
                + "': it is shut down. Spawn on a running scheduler (FiberScheduler.builder().build()) instead.");
    }

    /** Called by every fiber of this scheduler as it finishes. */
    public void finished(FiberTask fiberTask) {
        fiberTask.leaveGroup(); // before it leaves the live set: the next in line is live already
        live.remove(fiberTask);
        releaseSlots(fiberTask); // a spawner waiting for a slot may go on now
        if (state.get() != RUNNING) {
            terminateIfDone();
        }
    }

    private void terminateIfDone() {
        if (live.isEmpty()) {
            startTermination();
        }
    }

    /** Whether new fibers are still admitted. */
    public boolean isRunning() {
        return state.get() == RUNNING;
    }

    // ---- submission -------------------------------------------------------------------------

    /** Called by {@link FiberTask#execute}: {@code continuation} is a fiber's task or an inherited thread's continuation. */
    void execute(Runnable continuation) {
        try {
            Thread carrier = VirtualThreadHook.currentCarrierThread();
            if (carrier instanceof CarrierThread ct && ct.loop.carriers == this) {
                if (continuation instanceof FiberTask t) {
                    t.markReady(ct.loop.timesNextSubmission());
                }
                ct.loop.submitLocal(continuation);
                return;
            }
            if (continuation instanceof FiberTask t) {
                t.markReady(timesNextOutsideSubmission());
            }
            injectQueue.offer(continuation);
            wakeSleeperIfNeeded();
            if (carriersRunning.get() == 0) {
                drainInjectToFallback();
            }
        } catch (Throwable t) {
            fallback(continuation);
        }
    }

    /**
     * Called by {@link FiberTask#execute} for a fiber of {@code group}: to the group's run queue,
     * which every carrier looks at ({@link Groups#poll}), with the same wakeup handshake as the
     * inject queue; or, woken by a fiber of the same group on one of our carriers, to that carrier's
     * run-next slot ({@link CarrierLoop#submitWithinGroup}). Never blocks, never throws.
     */
    void executeInGroup(FiberTask fiberTask, Group group) {
        try {
            Thread carrier = VirtualThreadHook.currentCarrierThread();
            if (carrier instanceof CarrierThread ct && ct.loop.carriers == this) {
                fiberTask.markReady(ct.loop.timesNextSubmission());
                if (ct.loop.submitWithinGroup(fiberTask, group)) {
                    return;
                }
            } else {
                fiberTask.markReady(timesNextOutsideSubmission());
            }
            offerToGroup(fiberTask, group);
        } catch (Throwable t) {
            fallback(fiberTask);
        }
    }

    /**
     * Whether to time this submission from a thread that is not one of our carriers
     * ({@link DelayRecorder#SAMPLE_EVERY}). The countdown is shared by every such thread without
     * synchronization (a lost update only moves the next sample), in an object of its own so its
     * writes do not invalidate the line of the fields carriers read on every pick.
     */
    private boolean timesNextOutsideSubmission() {
        return outsideSamples.next();
    }

    private final OutsideSamples outsideSamples = new OutsideSamples();

    @SuppressWarnings("unused") // the padding keeps the countdown off its neighbours' cache lines
    private static final class OutsideSamples {
        long p0, p1, p2, p3, p4, p5, p6;
        int countdown = DelayRecorder.SAMPLE_EVERY;
        long q0, q1, q2, q3, q4, q5, q6;

        boolean next() {
            int left = countdown - 1;
            countdown = left <= 0 ? DelayRecorder.SAMPLE_EVERY : left;
            return left <= 0;
        }
    }

    /** To the group's run queue, then the wakeup handshake. */
    void offerToGroup(FiberTask fiberTask, Group group) {
        try {
            group.offer(fiberTask);
            wakeSleeperIfNeeded();
            if (carriersRunning.get() == 0) {
                groups.drainTo(Carriers::fallback);
            }
        } catch (Throwable t) {
            fallback(fiberTask);
        }
    }

    /** Whether ungrouped work waits in the inject queue. */
    boolean injectHasWork() {
        return !injectQueue.isEmpty();
    }

    /**
     * Moves a continuation a carrier had taken on (its local queue's overflow, a handed-off queue,
     * a fiber asked to yield) to the inject queue, with the work under way: ahead of new fibers
     * from outside, even if it has not started ({@link InjectQueue}).
     */
    void requeue(Runnable continuation) {
        injectQueue.offerUnderway(continuation);
    }

    Runnable pollInject() {
        return injectQueue.poll();
    }

    /** From the inject queue's lane {@code firstLane} first ({@link InjectQueue#WOKEN} and the others), then the rest in turn. */
    Runnable pollInject(int firstLane) {
        return injectQueue.poll(firstLane);
    }

    /** From the inject queue, a new fiber only. */
    Runnable pollFresh() {
        return injectQueue.pollFresh();
    }

    /** From the inject queue, never a new fiber: woken ones, then work under way. */
    Runnable pollStarted() {
        return injectQueue.pollStarted();
    }

    public int injectSize() {
        return injectQueue.size();
    }

    /** After publishing work: wakes a sleeping carrier unless a searcher will find the work anyway. */
    void wakeSleeperIfNeeded() {
        VarHandle.fullFence();
        int carrier = idle.claimSleeperToWake();
        if (carrier >= 0) {
            loops[carrier].wake();
        }
    }

    /** Work some carrier could take: the inject queue, a group's run queue or any carrier's stealable queue. */
    boolean hasQueuedWork() {
        if (!injectQueue.isEmpty() || groups.anyQueued()) {
            return true;
        }
        for (CarrierLoop loop : loops) {
            if (loop.hasStealableWork()) {
                return true;
            }
        }
        return false;
    }

    /** The offload pool behind {@code Fibers.blocking} and the agent's offloaded calls. */
    public OffloadPool offloadPool() {
        return offloadPool;
    }

    /**
     * The carriers whose carrier thread the caller runs on (a fiber, or a virtual thread a fiber
     * started), or null on any other thread.
     */
    public static Carriers ofCaller() {
        if (Thread.currentThread().isVirtual() && VirtualThreadHook.isAvailable()
                && VirtualThreadHook.currentCarrierThread() instanceof CarrierThread ct) {
            return ct.loop.carriers;
        }
        return null;
    }

    /**
     * The task of the fiber running on the caller's carrier, or null when the caller is not on one
     * of our carriers or runs a continuation that is not one of our fibers (an inherited virtual thread).
     */
    public static FiberTask currentTask() {
        return VirtualThreadHook.currentCarrierThread() instanceof CarrierThread ct
                && ct.loop.running() instanceof FiberTask fiberTask ? fiberTask : null;
    }

    /**
     * The reactor of the caller's carrier, where its socket waits go; null when the caller is not
     * on one of our carriers, the carrier has none, or its loop was handed off (the JDK's poller
     * then takes the wait: the thread is about to leave the carrier's work behind).
     */
    public static CarrierReactor reactorOfCaller() {
        CarrierThread carrier = carrierOfCaller();
        return carrier == null ? null : carrier.loop.reactor;
    }

    /** The carrier thread the caller runs on, when it is one of ours and its loop was not handed off; else null. */
    public static CarrierThread carrierOfCaller() {
        return VirtualThreadHook.currentCarrierThread() instanceof CarrierThread ct && !ct.loop.isHandedOff() ? ct : null;
    }

    /** The reactor of {@code carrier}'s loop, or null. */
    public static CarrierReactor reactorOf(CarrierThread carrier) {
        return carrier.loop.reactor;
    }

    /** The timers of the caller's carrier, or null when the caller is not on one of our carriers. */
    public static CarrierTimers timersOfCaller() {
        return VirtualThreadHook.currentCarrierThread() instanceof CarrierThread ct ? ct.loop.timers : null;
    }

    /**
     * A handoff: {@code next} takes the place of {@code blocked}, which exits once its fiber lets go
     * of its thread. Counted as a running carrier from now, before the blocked one can exit, so
     * termination waits for both.
     */
    void replace(CarrierLoop blocked, CarrierLoop next) {
        carriersRunning.incrementAndGet();
        LOOP_SLOTS.setVolatile(loops, blocked.index, next);
    }

    /** How long a carrier may hold its thread in one run before a watchdog hands its work off; 0: never. */
    long handoffNanos(boolean inNativeCode) {
        return handoffNanos == 0 ? 0 : inNativeCode ? Math.min(handoffNanos, NATIVE_HANDOFF_NANOS) : handoffNanos;
    }

    CarrierLoop[] loops() {
        return loops;
    }

    boolean isTerminating() {
        return terminating;
    }

    void carrierExited(CarrierLoop loop) {
        loop.drainTo(Carriers::fallback);
        if (carriersRunning.decrementAndGet() == 0) {
            drainInjectToFallback();
            groups.drainTo(Carriers::fallback);
            offloadPool.shutdown();
            CarrierWatchdog.unregister(this);
            markTerminated();
        }
    }

    private void markTerminated() {
        terminated.countDown();
        Runnable action = onTermination;
        if (action != null) {
            try {
                action.run();
            } catch (Throwable t) {
                log.warn("an action at the termination of scheduler '{}' failed: {}", name, t.toString());
            }
        }
    }

    /** Runs {@code action} as the scheduler terminates; called once, right after the carriers are built. */
    public void whenTerminated(Runnable action) {
        assert onTermination == null : "one termination action per scheduler";
        onTermination = action;
        if (isTerminated()) {
            action.run(); // terminated meanwhile (a scheduler with no carriers left): at most run twice, and idempotent
        }
    }

    private void drainInjectToFallback() {
        for (Runnable continuation; (continuation = pollInject()) != null; ) {
            fallback(continuation);
        }
    }

    /** Runs a continuation that arrived when no carrier of ours can take it. */
    static void fallback(Runnable continuation) {
        Executor jdk = VirtualThreadHook.jdkDefaultScheduler();
        if (jdk != null) {
            jdk.execute(continuation);
        } else {
            Thread.ofPlatform().daemon().name("fiber-fallback").start(continuation);
        }
    }

    // ---- lifecycle ----------------------------------------------------------------------------

    /** No new fibers; the running ones finish, then the carriers exit. Idempotent. */
    public void shutdown() {
        state.compareAndSet(RUNNING, SHUTDOWN);
        closeLiveLimits();
        terminateIfDone();
    }

    /** Spawners waiting for a slot, and any that come, are refused as for a shut-down scheduler. */
    private void closeLiveLimits() {
        LiveLimit limit = liveLimit;
        if (limit != null) {
            limit.close();
        }
        for (Group group : groups.all()) {
            if (group.liveLimit() != null) {
                group.liveLimit().close();
            }
        }
    }

    /**
     * Like {@link #shutdown}, and hands {@code cancel} the owner of every live fiber (outside any
     * lock), for the API to cancel it.
     */
    public void stop(Consumer<Object> cancel) {
        state.set(STOP);
        closeLiveLimits();
        live.forEach(fiberTask -> cancel.accept(fiberTask.owner()));
        terminateIfDone();
    }

    private void startTermination() {
        if (!terminationStarted.compareAndSet(false, true)) {
            return;
        }
        terminating = true;
        if (loops.length == 0) {
            offloadPool.shutdown();
            markTerminated();
        }
        for (CarrierLoop loop : loops) {
            loop.wake();
        }
    }

    public boolean isTerminated() {
        return terminated.getCount() == 0;
    }

    /** Waits until terminated; false if {@code timeout} passed first. */
    public boolean awaitTermination(Duration timeout) throws InterruptedException {
        return terminated.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    /** Waits until terminated. */
    public void awaitTermination() throws InterruptedException {
        terminated.await();
    }

    // ---- statistics ---------------------------------------------------------------------------

    /** Fibers ever admitted. */
    public long fibersAdmitted() {
        return live.added();
    }

    /** Fibers admitted and not yet finished. */
    public long fibersAlive() {
        return live.size();
    }

    /** Each loop now, for statistics: read racily from any thread. */
    public void forEachLoop(Consumer<CarrierLoop> action) {
        for (CarrierLoop loop : loops) {
            action.accept(loop);
        }
    }

    // ---- stalls ---------------------------------------------------------------------------------

    /**
     * Told once per stall: the scheduler has fibers, and for {@code quietNanos} none of its carriers
     * ran anything, nothing was queued, and no carrier had a timer or a socket wait pending, so only
     * a thread outside the scheduler could still wake its fibers. Called on the watchdog's thread.
     */
    public interface StallObserver {
        void quiet(long quietNanos);
    }

    private volatile StallObserver stallObserver;
    private volatile long stallNanos;
    /** The watchdog's: when the quiet began (-1: not quiet), the runs then, and whether it was told. */
    private long quietSince = -1;
    private long runsWhenQuiet;
    private boolean stallTold;

    /** Tells {@code observer} of every stall of {@code afterNanos} or longer; null: none. */
    public void observeStalls(StallObserver observer, long afterNanos) {
        stallNanos = afterNanos;
        stallObserver = observer;
    }

    /** The watchdog's look for a stall, {@code now} in nanoseconds; cheap unless one is found. */
    void checkStall(long now) {
        StallObserver observer = stallObserver;
        if (observer == null) {
            return;
        }
        if (!looksQuiet()) {
            quietSince = -1;
            return;
        }
        long runs = 0;
        for (CarrierLoop loop : loops) {
            runs += loop.runs();
        }
        if (quietSince < 0 || runs != runsWhenQuiet) {
            quietSince = now;
            runsWhenQuiet = runs;
            stallTold = false;
            return;
        }
        if (!stallTold && now - quietSince >= stallNanos) {
            stallTold = true;
            observer.quiet(now - quietSince);
        }
    }

    /** Fibers alive, and nothing to run or wake them from inside the scheduler: no run, queue, timer or socket wait. */
    private boolean looksQuiet() {
        if (live.isEmpty() || hasQueuedWork()) {
            return false;
        }
        for (CarrierLoop loop : loops) {
            if (loop.running() != null || loop.queueDepth() > 0 || loop.timers.size() > 0
                    || (loop.reactor != null && loop.reactor.hasWaiters())) {
                return false;
            }
        }
        return true;
    }

    /** Hands {@code action} every live fiber's task (from a snapshot of the live set, outside its locks): for a fiber dump. */
    public void forEachLiveFiber(Consumer<FiberTask> action) {
        live.forEach(action);
    }
}
