package io.fiber.internal.carrier;

import io.fiber.internal.RuntimeLog;
import io.fiber.internal.group.Group;
import io.fiber.internal.group.Groups;
import io.fiber.internal.io.CarrierReactor;
import io.fiber.internal.io.Reactors;
import io.fiber.internal.time.CarrierTimers;
import io.fiber.internal.time.DeadlineTimer;
import io.fiber.internal.jdk.VirtualThreadHook;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

/**
 * One carrier event loop: a platform thread that runs fiber continuations (the JDK's
 * {@code VirtualThread.runContinuation} runnables) from its own queues, the Go/Tokio recipe.
 *
 * <p>Where the next continuation comes from, in order:
 * <ol>
 *   <li>first, before every run, fibers woken by expired {@link CarrierTimers} join the local queue
 *       (one volatile read and, with a timer pending, a clock read), so yielding fibers cannot make
 *       a timer late;</li>
 *   <li>every {@value #GLOBAL_QUEUE_INTERVAL}th tick, a batch from the scheduler's {@link InjectQueue}
 *       first, so foreign submissions are never starved by a busy local queue (the first from the
 *       lane whose turn it is, {@link #pollInjectTakingTurns}; the rest in turns too, with few new
 *       fibers while the local queue has work, see {@link #takeInjectBatch});</li>
 *   <li>the run-next slot: a fiber woken by a fiber on this carrier (message passing) runs next,
 *       while it is warm in cache; at most {@value #MAX_RUN_NEXT_STREAK} in a row while other
 *       continuations wait in the local queue, so a ping-pong pair cannot starve them (with the
 *       queue empty the pair keeps the slot: moving it to the queue would only invite a sleeping
 *       carrier to steal one half of the pair and split it across cores);</li>
 *   <li>the local {@link RunQueue} (FIFO);</li>
 *   <li>a batch from the inject queue, its lanes taking turns (it also holds what overflowed the
 *       local queue, so it goes before fresh I/O);</li>
 *   <li>ready I/O in the carrier's {@link CarrierReactor} (a non-blocking poll, skipped when the
 *       carrier would otherwise go to sleep in that reactor anyway), never more events than the
 *       local queue has room for, so I/O wakeups do not overflow into the inject queue;</li>
 *   <li>stealing half of another carrier's queue, when fewer than half the carriers are searching.</li>
 * </ol>
 * I/O is also serviced every {@value #GLOBAL_QUEUE_INTERVAL}th tick, so a busy carrier
 * still notices it, and after a run that honoured the watchdog's yield request. That run's
 * continuation goes to the back of the local queue when other work is queued there (Tokio's spent
 * budget), and otherwise to the back of the inject queue (Go's preemption): in the empty local
 * queue it would be the next one taken while the rest waited for the periodic check; and the
 * carrier's next visit to the inject queue then starts with the new fibers' lane, so a fiber waiting
 * there from outside goes first too. Not the inject queue every time: a fiber that forks a scope's
 * children is asked to yield again and again, and each trip would cost it the periodic check.
 *
 * <p>What leaves a carrier for the inject queue (that fiber, the overflow of a full local queue, a
 * handed-off carrier's queue) joins the work under way there ({@link Carriers#requeue}), not
 * the lane of new fibers from outside, even a fiber that has not started yet: behind a burst of
 * spawns from another thread (an acceptor thread, a main thread starting 200,000 fibers) it would
 * wait for the whole burst, seconds, and with it whatever its fiber's work holds (a scope's forks
 * and deadline, a lock, a connection). The lanes take turns, so it waits behind as many new fibers
 * as there is work under way ahead of it, however long the burst.
 *
 * <p>Groups ({@link Groups}): once the scheduler has any, each pick after the periodic visit first
 * asks the groups for a continuation of the group furthest behind in virtual runtime, which runs
 * unless the ungrouped fibers are further behind and have work waiting here or in the inject queue;
 * and a carrier that found no ungrouped work takes grouped work before it steals. A fiber woken by
 * a fiber of its own group running here takes the run-next slot instead ({@link #submitWithinGroup}),
 * within the same streak cap, and the pick is skipped for it. Each run is then timed and charged to
 * its fiber's group (or the ungrouped fibers). Without groups, one volatile read per pick and one
 * per run.
 *
 * <p>With nothing found, the carrier sleeps following the {@link IdleCarriers} handshake:
 * blocked in its reactor's {@code epoll_wait} until the earliest timer (or parked, without a
 * reactor), woken by an eventfd write (or an unpark), so an idle scheduler uses no CPU.
 *
 * <p>Thread confinement: {@code runNext}, {@code current}, {@code searching} and the counters are
 * touched only by this carrier's thread. That includes {@link #submitLocal}, which the JDK calls from
 * a fiber pinned on this carrier, physically the same OS thread. Counters are written with opaque
 * stores so statistics ({@link #runs()} and the rest) can read them from any thread.
 *
 * <h2>Handoff (Go's {@code handoffp})</h2>
 * A fiber that holds the carrier thread (a file read, a native call, a pinned park, a long
 * computation) would freeze everything this loop serves. The {@link CarrierWatchdog} then calls
 * {@link #handOff}: a new loop with a new thread takes this loop's place (its index in the
 * scheduler, its reactor and its timers), and the queued continuations move to the inject queue.
 * The blocked thread keeps its fiber and, once that fiber parks or ends, drains whatever it still
 * holds to the inject queue and exits. What makes this safe without locking the hot path:
 * <ul>
 *   <li>A handoff happens only while the loop runs a continuation: {@code state} goes
 *       IN_LOOP → IN_RUN by a plain release store before each run and back by a CAS after it, and
 *       the watchdog's CAS IN_RUN → HANDED_OFF wins only if that run has not ended. So the loop's own
 *       code between runs (polling, stealing, sleeping) never runs once it is replaced.</li>
 *   <li>During a run the thread touches this loop only through {@link #submitLocal}: the run-next
 *       slot is swapped atomically there (the watchdog empties it with the same swap), and after
 *       queuing a wakeup the thread re-reads {@code state} (fenced), so whatever it queued after a
 *       handoff it moves to the inject queue itself (a Dekker pair with the watchdog's CAS and its
 *       emptying of the queue). The run's own continuation is queued only as the run ends, and
 *       the CAS that ends the run covers it.</li>
 *   <li>The reactor and the timers are shared objects safe for several threads (the reactor's
 *       registrations, the timers' lock), so the blocked fiber may still add to them.</li>
 * </ul>
 */
public final class CarrierLoop implements Runnable {
    private static final RuntimeLog log = RuntimeLog.of(CarrierLoop.class);
    static final int GLOBAL_QUEUE_INTERVAL = 61;
    static final int MAX_RUN_NEXT_STREAK = 3;
    /** At most this many continuations move from the inject queue per visit; idle carriers steal from the batch. */
    static final int INJECT_BATCH = 32;
    /** At most this many fibers that have not started join a batch taken while the local queue has work ({@link #takeInjectBatch}). */
    static final int NEW_PER_BUSY_BATCH = 4;
    /** A run asked to yield does so at this many safe points after the request ({@link #yieldIfRequested}). */
    static final int SAFE_POINT_BUDGET = 128;
    private static final VarHandle RUNS;
    private static final VarHandle STOLEN;
    private static final VarHandle SLEEPS;
    private static final VarHandle HANDOFFS;
    private static final VarHandle YIELD_REQUESTS;
    private static final VarHandle IDLE_NANOS;
    private static final VarHandle SLEEPING_SINCE;
    private static final VarHandle WAKEUPS;
    private static final VarHandle STATE;
    private static final VarHandle RUN_NEXT;
    private static final VarHandle YIELD_REQUEST;
    private static final int IN_LOOP = 0;
    private static final int IN_RUN = 1;
    private static final int HANDED_OFF = 2;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            RUNS = l.findVarHandle(CarrierLoop.class, "runs", long.class);
            STOLEN = l.findVarHandle(CarrierLoop.class, "stolen", long.class);
            SLEEPS = l.findVarHandle(CarrierLoop.class, "sleeps", long.class);
            HANDOFFS = l.findVarHandle(CarrierLoop.class, "handoffs", long.class);
            WAKEUPS = l.findVarHandle(CarrierLoop.class, "wakeups", long.class);
            YIELD_REQUESTS = l.findVarHandle(CarrierLoop.class, "yieldRequests", long.class);
            IDLE_NANOS = l.findVarHandle(CarrierLoop.class, "idleNanos", long.class);
            SLEEPING_SINCE = l.findVarHandle(CarrierLoop.class, "sleepingSince", long.class);
            STATE = l.findVarHandle(CarrierLoop.class, "state", int.class);
            RUN_NEXT = l.findVarHandle(CarrierLoop.class, "runNext", Runnable.class);
            YIELD_REQUEST = l.findVarHandle(CarrierLoop.class, "yieldRequest", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final Carriers carriers;
    final int index;
    final CarrierThread thread;
    final RunQueue queue = new RunQueue();
    /** This carrier's timers; only fibers' timed parks rerouted by the agent land here. */
    final CarrierTimers timers;
    /** This carrier's I/O reactor, or null (no agent, or no epoll on this platform). */
    final CarrierReactor reactor;

    private Runnable runNext;
    private int runNextStreak;
    /** IN_LOOP, IN_RUN or HANDED_OFF; see the overview. */
    private volatile int state;
    /** The loop that took this one's place, once handed off; wakeups sent here go on to it. */
    private volatile CarrierLoop replacement;
    private Runnable current;
    private boolean searching;
    /** True while the carrier dispatches the events that ended its sleep. */
    private boolean waking;
    /**
     * The current run honoured a yield request ({@link #yieldIfRequested}): its continuation goes to
     * the back of the scheduler's queue, and the next {@link #findContinuation} polls I/O first. Cleared
     * there, after every run.
     */
    private boolean preempted;
    /** Safe points the current run passed since the watchdog asked it to yield ({@link #yieldIfRequested}). */
    private int safePointsSinceRequest;
    /** The preempted run went to the inject queue (nothing else was queued here), not to this carrier's queue. */
    private boolean freshFirstAfterPreemption;
    /** A run was preempted since this carrier last took from the inject queue: the next take starts with new fibers. */
    private boolean freshFirstNext;
    /** This carrier's place in {@link #LANE_TURNS}: which lane of the inject queue its next take prefers. */
    private int laneTurn;
    private int tick;
    private long runs;
    /** The run (a {@link #runs} count) the watchdog asked to yield at its next safe point; -1: none. */
    private long yieldRequest = -1;
    private long stolen;
    private long sleeps;
    private long handoffs;
    /** Yield requests the watchdog made of this loop's runs; written by the watchdog only. */
    private long yieldRequests;
    /** When this carrier (its first loop; a replacement keeps it) started, for its busy time. */
    private long startedNanos = System.nanoTime();
    /** Time spent asleep in {@link #sleep()}, up to the last wakeup. */
    private long idleNanos;
    /** When the sleep going on now began; 0 while awake. */
    private long sleepingSince;
    /** Scheduling delays of the fibers run here; a replacement after a handoff takes it over. */
    private DelayRecorder delays = new DelayRecorder();
    /** Submissions from this carrier's thread until the next one is timed ({@link #timesNextSubmission}). */
    private int sampleCountdown = DelayRecorder.SAMPLE_EVERY;
    /** Times another thread woke this carrier from its sleep. */
    private long wakeups;

    CarrierLoop(Carriers carriers, int index, String name, boolean daemon) {
        this(carriers, index, new CarrierThread(null, name, daemon), new CarrierTimers(), Reactors.open(name));
        timers.firedBy(thread, this::wake);
    }

    private CarrierLoop(Carriers carriers, int index, CarrierThread thread, CarrierTimers timers, CarrierReactor reactor) {
        this.carriers = carriers;
        this.index = index;
        this.thread = thread;
        thread.loop = this;
        this.timers = timers;
        this.reactor = reactor;
    }

    @Override
    public void run() {
        try {
            for (;;) {
                Runnable continuation = nextContinuation();
                if (continuation != null) {
                    if (!runContinuation(continuation)) {
                        moveQueuedToInject(); // replaced while it ran: the rest is the replacement's
                        return;
                    }
                } else if (carriers.isTerminating()) {
                    return;
                } else {
                    sleep();
                }
            }
        } finally {
            if (state != HANDED_OFF) {
                releaseTimersAndReactor();
            }
            carriers.carrierExited(this);
        }
    }

    /** Runs one continuation; false if the loop was handed off meanwhile. */
    private boolean runContinuation(Runnable continuation) {
        assert Thread.currentThread() == thread : "loop code of " + thread.getName() + " on " + Thread.currentThread();
        current = continuation;
        safePointsSinceRequest = 0;
        FiberTask task = continuation instanceof FiberTask t ? t : null;
        if (task != null) {
            task.markRunning(delays);
        }
        Groups groups = carriers.groups;
        boolean timed = groups.inUse();
        long start = timed ? System.nanoTime() : 0;
        Object runEvent = CarrierEvents.fiberRunsWanted ? CarrierEvents.runBegins(continuation, thread.getName()) : null;
        STATE.setRelease(this, IN_RUN);
        try {
            continuation.run();
        } catch (Throwable t) {
            log.error("fiber continuation failed on carrier {}; the carrier goes on", thread.getName(), t);
        } finally {
            current = null;
            if (task != null) {
                task.markUnmounted();
            }
            if (runEvent != null) {
                CarrierEvents.runEnded(runEvent);
            }
            RUNS.setOpaque(this, runs + 1);
            if (timed) {
                groups.charge(continuation instanceof FiberTask t ? t.group() : null, System.nanoTime() - start);
            }
        }
        return STATE.compareAndSet(this, IN_RUN, IN_LOOP);
    }

    /**
     * The watchdog's side of a handoff, for a loop whose current run holds its thread: a new loop on
     * a new thread takes this one's index, reactor and timers, and what waits in this loop's queue
     * and run-next slot moves to the inject queue. Returns the replacement, or null if the run ended
     * first (nothing to do).
     */
    CarrierLoop handOff() {
        if (state != IN_RUN) {
            return null;
        }
        String name = thread.getName();
        CarrierThread nextThread = CarrierThread.waitingForHandoff(name, thread.isDaemon());
        try {
            threadStarter.accept(nextThread);
        } catch (Throwable t) {
            // Typically "unable to create native thread": this loop stays in charge and its run keeps
            // the thread; the watchdog tries again at its next look.
            log.warn("carrier {} could not be handed off: no new thread ({}); the fibers queued behind its run wait for it",
                    name, t.toString());
            return null;
        }
        // Everything that allocates comes before the commit: an OutOfMemoryError after it would
        // leave the index to a loop that never runs.
        CarrierLoop next;
        Runnable wakeNext;
        try {
            next = new CarrierLoop(carriers, index, nextThread, timers, reactor);
            wakeNext = next::wake;
        } catch (Throwable t) {
            nextThread.abandon();
            throw t;
        }
        if (!STATE.compareAndSet(this, IN_RUN, HANDED_OFF)) {
            nextThread.abandon();
            return null;
        }
        next.runs = runs();
        next.stolen = (long) STOLEN.getOpaque(this);
        next.sleeps = (long) SLEEPS.getOpaque(this);
        next.handoffs = (long) HANDOFFS.getOpaque(this) + 1;
        next.yieldRequests = (long) YIELD_REQUESTS.getOpaque(this);
        next.startedNanos = startedNanos;
        next.idleNanos = (long) IDLE_NANOS.getOpaque(this);
        next.delays = delays;
        next.wakeups = (long) WAKEUPS.getOpaque(this);
        replacement = next;
        carriers.replace(this, next);
        timers.firedBy(nextThread, wakeNext);
        nextThread.release();
        moveQueuedToInject(); // the replacement already runs: a stealer, as far as this queue is concerned
        carriers.wakeSleeperIfNeeded();
        thread.setName(name + "-handed-off");
        return next;
    }

    /** How a handoff starts its replacement thread; tests make it fail as the system can. */
    static volatile java.util.function.Consumer<Thread> threadStarter = Thread::start;

    boolean isHandedOff() {
        return state == HANDED_OFF;
    }

    /** Moves the run-next slot and the local queue to the inject queue; safe against concurrent stealers. */
    private void moveQueuedToInject() {
        Runnable next = (Runnable) RUN_NEXT.getAndSet(this, null);
        if (next != null) {
            carriers.requeue(next);
        }
        for (Runnable continuation; (continuation = queue.stealOne()) != null; ) {
            carriers.requeue(continuation);
        }
        carriers.wakeSleeperIfNeeded();
    }

    /**
     * The next continuation to run, or null to sleep. Whatever path finds it, a carrier that was
     * searching stops searching before the run: a run may last long or be handed off, and a
     * searcher count held through it would keep submitters from waking sleeping carriers (a
     * handed-off loop's count would never be given back, and no carrier would be woken again).
     */
    private Runnable nextContinuation() {
        Runnable continuation = findContinuation();
        if (continuation != null && searching) {
            stopSearching();
        }
        return continuation;
    }

    private Runnable findContinuation() {
        assert Thread.currentThread() == thread : "loop code of " + thread.getName() + " on " + Thread.currentThread();
        if (timers.anyExpired()) {
            timers.fireExpired(); // every tick, as Go does: a timer is not late behind a queue of yielding fibers
        }
        if (preempted) {
            preempted = false;
            // Requeued to the work under way: new fibers that waited before it go first.
            freshFirstNext = freshFirstAfterPreemption;
            pollIo(roomInQueue()); // the run that was asked to yield may have kept ready I/O waiting
        }
        if (++tick % GLOBAL_QUEUE_INTERVAL == 0) {
            pollIo(roomInQueue());
            Runnable continuation = takeInjectBatch();
            if (continuation != null) {
                return continuation;
            }
        }
        if (tick % GLOBAL_QUEUE_INTERVAL == GLOBAL_QUEUE_INTERVAL / 2) {
            Runnable continuation = rebalance();
            if (continuation != null) {
                return continuation;
            }
        }
        Groups groups = carriers.groups;
        boolean grouped = groups.inUse();
        if (grouped && !holdsWakeupWithinGroup()) {
            Runnable continuation = groups.poll(runNext != null || !queue.isEmpty() || carriers.injectHasWork());
            if (continuation != null) {
                return continuation;
            }
        }
        Runnable continuation = takeLocal();
        if (continuation == null) {
            continuation = takeInjectBatch(); // before new I/O: it holds continuations that overflowed our queue
        }
        if (continuation == null && pollIo(carriers.hasQueuedWork() ? roomInQueue() : 0)) {
            continuation = takeLocal();
        }
        if (continuation == null && grouped) {
            continuation = groups.poll(false); // no ungrouped work here: grouped work before stealing
        }
        return continuation != null ? continuation : steal();
    }

    /**
     * The run-next slot (within its streak cap), else the head of the local queue. A fiber of a group
     * past the cap goes back to its group's queue, where the pick among groups decides again: with
     * the local queue empty an ungrouped one runs on, but a group's fibers passing messages would
     * then keep the carrier from every other group.
     */
    private Runnable takeLocal() {
        Runnable continuation = runNext;
        if (continuation != null) {
            runNext = null;
            if (runNextStreak < MAX_RUN_NEXT_STREAK || (queue.isEmpty() && groupOf(continuation) == null)) {
                runNextStreak++;
                return continuation;
            }
            displace(continuation);
        }
        runNextStreak = 0;
        return queue.poll();
    }

    /** Whether the run-next slot holds a fiber of a group ({@link #submitWithinGroup}). */
    private boolean holdsWakeupWithinGroup() {
        return groupOf(runNext) != null;
    }

    private static Group groupOf(Runnable continuation) {
        return continuation instanceof FiberTask t ? t.group() : null;
    }

    /**
     * Out of the run-next slot: a fiber of a group back to its group's queue, any other continuation
     * to the back of the local queue, which the pick among groups counts as ungrouped work.
     */
    private void displace(Runnable continuation) {
        Group group = groupOf(continuation);
        if (group != null) {
            carriers.offerToGroup((FiberTask) continuation, group);
        } else {
            pushTail(continuation);
        }
    }

    /**
     * Dispatches ready I/O without blocking, at most {@code room} events (none if it is 0); the
     * fibers it wakes go to the back of this carrier's queue. Returns whether any fiber woke.
     * With the local queue empty and no other work anywhere the carrier passes 0: it is about to
     * block in the same {@code epoll_wait}, which returns at once if anything is ready, and one
     * system call per idle transition is a measurable share of a ping-pong round trip.
     */
    private boolean pollIo(int room) {
        return room > 0 && reactor != null && reactor.hasWaiters() && reactor.poll(0, room) > 0;
    }

    /**
     * How many wakeups the local queue can take. A poll never takes more events than that: what
     * overflowed the queue would wait in the inject queue, which a busy carrier visits once per
     * {@value #GLOBAL_QUEUE_INTERVAL} ticks, behind fresher I/O (a p99.9 of hundreds of
     * milliseconds at 1,000 connections), while events left in the kernel come out, oldest first,
     * at the next poll.
     */
    private int roomInQueue() {
        return RunQueue.CAPACITY - queue.size();
    }

    /**
     * Runs the first of a batch from the inject queue (from its new-fiber lane first if a run was
     * preempted since the last take, else from the lane whose turn it is) and queues the rest
     * locally, where idle carriers may steal them. The periodic visit takes a batch too, not one
     * continuation: on a carrier kept busy by its own I/O, whatever waits there (wakeups from other
     * threads, a rescue poll's fibers) would otherwise leave at one per
     * {@value #GLOBAL_QUEUE_INTERVAL} ticks.
     *
     * <p>The lanes take turns through the batch ({@link #pollInjectTakingTurns}), with two limits
     * that keep a burst of new fibers from outside from crowding out the work this carrier has.
     * With work in the local queue, at most {@value #NEW_PER_BUSY_BATCH} new fibers join a batch:
     * new fibers queued locally go ahead of everything this carrier's fibers wake or spawn later (a
     * scope's forks, and the forking fiber itself each time it yields), and a batch of 16 of the
     * demo's burst fibers made the scope of its deadline check miss forks. But not one per visit
     * either: a thread that keeps waking fibers which come back on this carrier's queue kept the new
     * fibers it also started waiting 122 runs each, seconds for a few hundred
     * ({@code SpawnBurstTest}). And the batch fills the local queue to half its capacity at most:
     * filled to the brim, the next local wakeup overflowed it, and the overflow sent its older half,
     * what was taken from here first, back to the tail of the inject queue, again and again. Past half,
     * new fibers still join, {@value #NEW_PER_BUSY_BATCH} a visit: a thread waking 200 fibers that came
     * back on this queue kept it over half full, and the new fibers it also started got one place
     * every other visit (12,831 runs for 200 in a fresh clone's run of {@code SpawnBurstTest}).
     */
    private Runnable takeInjectBatch() {
        assert Thread.currentThread() == thread : "loop code of " + thread.getName() + " on " + Thread.currentThread();
        Runnable first = freshFirstNext ? carriers.pollInject(InjectQueue.FRESH) : pollInjectTakingTurns();
        freshFirstNext = false;
        if (first == null) {
            return null;
        }
        int room = RunQueue.CAPACITY / 2 - queue.size(); // may be negative: none for fibers that had started
        int batch = Math.min(INJECT_BATCH - 1, Math.max(room, NEW_PER_BUSY_BATCH));
        int newLeft = queue.isEmpty() ? batch : NEW_PER_BUSY_BATCH;
        int moved = 0;
        for (; moved < batch; moved++) {
            Runnable next = moved >= room ? (newLeft > 0 ? carriers.pollFresh() : null)
                    : newLeft > 0 ? pollInjectTakingTurns() : carriers.pollStarted();
            if (next instanceof FiberTask t && !t.hasStarted()) {
                newLeft--; // a new fiber (or a fork moved here unstarted, counted the same: the stricter side)
            }
            if (next == null || !queue.offer(next)) {
                if (next != null) {
                    carriers.requeue(next);
                }
                break;
            }
        }
        if (moved > 0) {
            carriers.wakeSleeperIfNeeded();
        }
        return first;
    }

    /**
     * The next continuation from the inject queue, its three lanes taking turns: new fibers from
     * outside at every other take, fibers woken by other threads and work under way (what carriers
     * moved off their queues) at every fourth ({@link #LANE_TURNS}), whichever keeps arriving. Under way first
     * always (as this queue once was) left new fibers to the moments a carrier ran dry: a server
     * whose dispatcher thread hands exchanges to a pool of fibers (the JDK's {@code HttpServer} with
     * a converted cached pool) kept making idle workers runnable, and the new workers it started
     * when none was idle, each holding an exchange, waited seconds. New fibers first always would
     * put a scope's forks, moved here by a handoff or an overflow, behind a whole burst of spawns.
     * And woken fibers beside the work under way would wait behind a fiber's whole burst of spawns,
     * which overflows there. The turn is this carrier's own, so taking one costs no shared write.
     */
    private Runnable pollInjectTakingTurns() {
        Runnable continuation = carriers.pollInject(LANE_TURNS[laneTurn]);
        laneTurn = laneTurn == LANE_TURNS.length - 1 ? 0 : laneTurn + 1;
        return continuation;
    }

    /**
     * The lanes' turns: new fibers every other take, as when there were two lanes (with a turn in
     * three, a thread that kept waking fibers held the new ones it started back for as long as work
     * under way always first had: about 26,000 hand-offs in {@code SpawnBurstTest}), and the woken
     * fibers and the work under way share the other takes.
     */
    private static final int[] LANE_TURNS = {InjectQueue.FRESH, InjectQueue.WOKEN, InjectQueue.FRESH, InjectQueue.UNDERWAY};

    private Runnable steal() {
        assert Thread.currentThread() == thread : "loop code of " + thread.getName() + " on " + Thread.currentThread();
        CarrierLoop[] loops = carriers.loops();
        int n = loops.length;
        if (n == 1) {
            return null;
        }
        if (!searching) {
            if (2 * carriers.idle.searchers.get() >= n) {
                return null;
            }
            int now = carriers.idle.searchers.incrementAndGet();
            // The check above and this increment race with other carriers, so the half is a throttle;
            // the hard bound is one count per carrier (searching, or claimed by a waker).
            assert now <= n : now + " searchers among " + n + " carriers";
            searching = true;
        }
        int start = ThreadLocalRandom.current().nextInt(n);
        for (int i = 0; i < n; i++) {
            CarrierLoop victim = loops[(start + i) % n];
            if (victim == this) {
                continue;
            }
            Runnable continuation = stealFrom(victim);
            if (continuation != null) {
                return continuation;
            }
        }
        return pollInjectTakingTurns();
    }

    /**
     * Periodic balance stealing. Stealing proper starts only when a queue runs dry, so fibers that
     * are always runnable (yielding, CPU-bound) would stay split across carriers as unevenly as they
     * started (64 yielding fibers on 2 carriers: a 142x spread between the least and most run fiber,
     * caught by {@code FiberSchedulerTest.yieldingFibersAllProgress}). So every
     * {@value #GLOBAL_QUEUE_INTERVAL} ticks a carrier looks at one random other carrier and
     * takes half of its queue if that queue is more than twice its own. Yields stay local (no shared
     * queue on the yield path) and the queues still even out within a few rounds.
     */
    private Runnable rebalance() {
        CarrierLoop[] loops = carriers.loops();
        if (loops.length == 1) {
            return null;
        }
        CarrierLoop victim = loops[ThreadLocalRandom.current().nextInt(loops.length)];
        if (victim == this || victim.queue.size() <= 2 * (queue.size() + 1)) {
            return null;
        }
        return stealFrom(victim); // fits: ours is under half of theirs
    }

    private Runnable stealFrom(CarrierLoop victim) {
        int before = queue.size();
        Runnable continuation = victim.queue.stealInto(queue);
        if (continuation != null) {
            STOLEN.setOpaque(this, stolen + 1 + queue.size() - before);
        }
        return continuation;
    }

    /** The last searcher to find work wakes another carrier, so parallelism ramps up with the load. */
    private void stopSearching() {
        searching = false;
        if (carriers.idle.stopSearching() == 0) {
            carriers.wakeSleeperIfNeeded();
        }
    }

    private void sleep() {
        assert Thread.currentThread() == thread : "loop code of " + thread.getName() + " on " + Thread.currentThread();
        if (searching) {
            searching = false;
            carriers.idle.stopSearching();
        }
        IdleCarriers idle = carriers.idle;
        idle.markIdle(index);
        VarHandle.fullFence();
        if (carriers.hasQueuedWork() || carriers.isTerminating()) {
            if (!idle.tryClearIdle(index)) {
                searching = true; // a waker claimed us and counted us as a searcher
            }
            return;
        }
        SLEEPS.setOpaque(this, sleeps + 1);
        long timeout = timers.nanosUntilNext();
        long asleepFrom = System.nanoTime();
        SLEEPING_SINCE.setOpaque(this, asleepFrom);
        if (reactor != null) {
            waking = true;
            try {
                reactor.poll(timeout, roomInQueue());
            } finally {
                waking = false;
            }
        } else if (timeout < 0) {
            LockSupport.park(this);
        } else {
            LockSupport.parkNanos(this, timeout);
        }
        SLEEPING_SINCE.setOpaque(this, 0L);
        long awake = System.nanoTime();
        IDLE_NANOS.setOpaque(this, idleNanos + (awake - asleepFrom));
        StateClock.tick(awake); // the watchdog looks every 10 ms while carriers sleep: stamps after a wakeup are not that stale

        if (!idle.tryClearIdle(index)) {
            searching = true;
        }
        if (queue.size() > 1) {
            carriers.wakeSleeperIfNeeded(); // share a burst of wakeups with a sleeping peer
        }
    }

    /**
     * The watchdog's request that the continuation running now, run number {@code run}, yield at
     * its next safe point ({@link #yieldIfRequested}). Keyed on the run, so a request that arrives
     * after that run ended is ignored, not honoured by the next one.
     */
    void requestYield(long run) {
        YIELD_REQUEST.setOpaque(this, run);
        YIELD_REQUESTS.setOpaque(this, (long) YIELD_REQUESTS.getOpaque(this) + 1);
    }

    /**
     * A safe point (Go's cooperative preemption check, Tokio's coop budget): a fiber that spawns or
     * reads a socket calls this, and yields if the watchdog asked its run to, having seen it hold
     * the carrier while other work waited. An accept loop draining a backlog or a reader of a socket
     * that always has data never blocks, so without this it would keep its carrier until a handoff.
     *
     * <p>The request is honoured at the {@value #SAFE_POINT_BUDGET}th safe point after it, not the
     * first (Tokio's coop budget of 128 operations): a fiber forking a scope's children reaches a
     * safe point at every fork, and on a machine short of CPU the watchdog's millisecond is only a
     * few forks, so it yielded every few forks and waited behind its carrier's whole queue each time.
     */
    public static void yieldIfRequested() {
        if (Thread.currentThread().isVirtual() && VirtualThreadHook.isAvailable()
                && VirtualThreadHook.currentCarrierThread() instanceof CarrierThread ct
                && (long) YIELD_REQUEST.getOpaque(ct.loop) == ct.loop.runs // runs: written by this same thread
                && ++ct.loop.safePointsSinceRequest >= SAFE_POINT_BUDGET) { // this carrier's own field
            ct.loop.preempted = true; // this carrier's own field, written on its thread
            Thread.yield();
        }
    }

    /**
     * Whether the caller runs on this loop's thread: the loop itself, or a fiber mounted on it (the
     * JDK submits from a pinned fiber). For assertions.
     */
    private boolean onThisCarrier() {
        return VirtualThreadHook.currentCarrierThread() == thread;
    }

    /** Wakes this carrier from {@link #sleep()}; both the eventfd and the permit are sticky, so an early wake is not lost. */
    void wake() {
        CarrierLoop next = replacement;
        if (next != null) {
            next.wake();
            return;
        }
        WAKEUPS.getAndAddRelease(this, 1L); // wakers are few (the idle handshake wakes one carrier at a time)
        if (reactor != null) {
            reactor.wakeup();
        } else {
            LockSupport.unpark(thread);
        }
    }

    /**
     * Called on this carrier's OS thread (by the carrier itself, or by a fiber pinned on it) when a
     * continuation becomes runnable. The continuation that just ran here (a yield, or a park that
     * raced with its unpark) goes to the back of the local queue ({@link #rebalance} keeps queues
     * of always-runnable fibers even across carriers), and so does one woken by the carrier itself
     * between fibers (its reactor or timers): I/O wakeups are served first come, first served, as in
     * Tokio, or a burst of them would keep replacing each other in the slot. One that the watchdog
     * asked to yield goes to the back of the inject queue's work under way instead. Any other
     * continuation (a wakeup sent by this carrier's fiber, message passing) takes the run-next slot
     * and pushes the previous occupant to the queue.
     */
    void submitLocal(Runnable continuation) {
        assert onThisCarrier() : "a local submission to " + thread.getName() + " from another carrier";
        if (continuation == current && preempted) {
            if (runNext != null || !queue.isEmpty()) {
                // Asked to yield with work queued here (Tokio's budget, spent): behind that work, on
                // this carrier. In the inject queue it would wait for the periodic check, 61 runs,
                // at every yield; a fiber forking a scope's children yields at every fork.
                freshFirstAfterPreemption = false;
                pushTail(continuation);
                return;
            }
            // Asked to yield with nothing else queued here (Go's preemption, which puts the
            // goroutine on its global queue): behind the work under way, and (findContinuation) behind a
            // batch of new ones. Back in the empty local queue it would be taken again at once, and
            // whatever waits in the inject queue or the reactor would wait for the periodic check.
            freshFirstAfterPreemption = true;
            carriers.requeue(continuation);
            if (carriers.loops().length > 1) {
                carriers.wakeSleeperIfNeeded();
            }
            return;
        }
        if (current == null || continuation == current) {
            // Between runs the loop cannot be handed off; and the running continuation resubmits
            // itself only once it has unmounted, at the end of its run, where runContinuation's CAS sees a handoff.
            pushTail(continuation);
            return;
        }
        Runnable previous = (Runnable) RUN_NEXT.getAndSet(this, continuation); // the watchdog may empty the slot
        if (previous != null) {
            displace(previous);
            VarHandle.fullFence(); // the queue store before the state load below
        }
        if (state == HANDED_OFF) {
            moveQueuedToInject(); // queued after the watchdog emptied this loop
        }
    }

    /**
     * Called on this carrier's OS thread when a fiber of {@code group} becomes runnable: if the fiber
     * running here is of the same group (a message, a lock handed over, the next of a serial lane
     * admitted), the woken one takes the run-next slot as an ungrouped wakeup does, and the pick
     * among groups is skipped for it ({@link #findContinuation}): its group is the one being served.
     * Returns false, and the caller queues it in its group, for any other wakeup, so one group's
     * fibers cannot jump ahead of the others' by waking each other across groups.
     */
    boolean submitWithinGroup(FiberTask woken, Group group) {
        Runnable running = current;
        if (running == null || running == woken || groupOf(running) != group) {
            return false;
        }
        submitLocal(woken);
        return true;
    }

    private void pushTail(Runnable continuation) {
        assert onThisCarrier() : "the local queue of " + thread.getName() + " is pushed by its own carrier only";
        while (!queue.offer(continuation)) {
            if (queue.drainHalfTo(continuation, carriers::requeue)) {
                break;
            }
        }
        // Only peers can help with our queue: none exist on a one-carrier scheduler, and while the
        // carrier dispatches the events that woke it, it is still marked idle and would wake itself.
        if (!waking && carriers.loops().length > 1) {
            carriers.wakeSleeperIfNeeded();
        }
    }

    /**
     * Whether fibers wait for this loop: queued here, in its reactor or on its timers, or in the
     * scheduler's inject queue (which no carrier emptied since the last sample if this one is held).
     * Read racily by the watchdog.
     */
    boolean hasWaitingWork() {
        return runNext != null || !queue.isEmpty() || carriers.injectSize() > 0 || timers.size() > 0
                || (reactor != null && reactor.hasWaiters()) || carriers.groups.anyQueued();
    }

    /** Whether there is anything another carrier could take from this one. */
    boolean hasStealableWork() {
        return !queue.isEmpty();
    }

    /**
     * On this carrier's thread as it exits: pending timers move to the runtime's deadline timer, and
     * threads still waiting in the reactor are woken to retry on the JDK's pollers. Only virtual
     * threads that fibers created (and that outlive the scheduler) can be in either.
     */
    void releaseTimersAndReactor() {
        timers.drainTo(timer -> DeadlineTimer.schedule(timer, Duration.ofNanos(timer.deadline() - System.nanoTime())));
        if (reactor != null) {
            Reactors.close(reactor);
        }
    }

    /** After the carrier exited: hands over what is left so nothing is dropped. */
    void drainTo(Consumer<Runnable> sink) {
        Runnable next = runNext;
        runNext = null;
        if (next != null) {
            sink.accept(next);
        }
        for (Runnable continuation; (continuation = queue.poll()) != null; ) {
            sink.accept(continuation);
        }
    }

    /** What this carrier runs now, or null; read racily by the {@link CarrierWatchdog}. */
    Runnable running() {
        return current;
    }

    /** The fiber this carrier runs now, or null (none, or a virtual thread a fiber started); read racily, for a fiber dump. */
    public Thread runningFiber() {
        return current instanceof FiberTask task ? task.thread() : null;
    }

    // ---- statistics, read racily from any thread -----------------------------------------------

    public String name() {
        return thread.getName();
    }

    /** Continuations waiting in this loop's queue and run-next slot. */
    public int queueDepth() {
        return queue.size() + (runNext != null ? 1 : 0);
    }

    /** Continuations run so far. */
    public long runs() {
        return (long) RUNS.getOpaque(this);
    }

    /** Continuations stolen from other loops. */
    public long stolen() {
        return (long) STOLEN.getOpaque(this);
    }

    /** Times this loop went to sleep. */
    public long sleeps() {
        return (long) SLEEPS.getOpaque(this);
    }

    /** Socket waits its reactor has served; 0 without a reactor. */
    public long ioWaits() {
        return reactor == null ? 0 : reactor.waits();
    }

    /** Socket reads its reactor skipped because they would have found nothing. */
    public long skippedReads() {
        return reactor == null ? 0 : reactor.skippedReads();
    }

    /** Timers this loop fired. */
    public long timersFired() {
        return timers.fired();
    }

    /** Times this loop's work was handed to a new thread. */
    public long handoffs() {
        return (long) HANDOFFS.getOpaque(this);
    }

    /** Times the watchdog asked a run of this carrier to yield. */
    public long yieldRequests() {
        return (long) YIELD_REQUESTS.getOpaque(this);
    }

    /** Time this carrier slept for lack of work, the sleep going on now included. */
    public long idleNanos() {
        long since = (long) SLEEPING_SINCE.getOpaque(this);
        long idle = (long) IDLE_NANOS.getOpaque(this);
        return since == 0 ? idle : idle + Math.max(0, System.nanoTime() - since);
    }

    /**
     * Whether this carrier's thread times the submission it is making ({@link DelayRecorder#SAMPLE_EVERY}):
     * called on this thread only, also by a fiber pinned here or still running on a handed-off loop.
     */
    boolean timesNextSubmission() {
        int left = sampleCountdown - 1;
        sampleCountdown = left <= 0 ? DelayRecorder.SAMPLE_EVERY : left;
        return left <= 0;
    }

    /** The scheduling delays of the fibers this carrier ran. */
    public DelayRecorder schedulingDelay() {
        return delays;
    }

    /** Times another thread woke this carrier from its sleep (an eventfd write or an unpark). */
    public long wakeups() {
        return (long) WAKEUPS.getOpaque(this);
    }

    /** Passes every thread waiting in this carrier's reactor (none without one) to {@code visitor}: for the fiber dump. */
    public void forEachSocketWaiter(CarrierReactor.WaiterVisitor visitor) {
        if (reactor != null) {
            reactor.forEachWaiter(visitor);
        }
    }

    /** Passes every timer pending on this carrier to {@code action}: for the fiber dump. */
    public void forEachPendingTimer(java.util.function.Consumer<CarrierTimers.Timer> action) {
        timers.forEachPending(action);
    }

    /** Timers waiting to fire on this carrier. */
    public int pendingTimers() {
        return timers.size();
    }

    /** Time this carrier was awake (running fibers, or looking for them) since it started. */
    public long busyNanos() {
        return Math.max(0, System.nanoTime() - startedNanos - idleNanos());
    }

}
