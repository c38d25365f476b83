package io.fiber;

import io.fiber.internal.RuntimeLog;
import io.fiber.internal.Settings;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A set of carrier event loops that run fibers: JDK virtual threads created with this scheduler as
 * their executor (docs/design.md sections 1 and 2).
 *
 * <h2>Submission ({@code execute})</h2>
 * The JDK hands us a virtual thread's continuation whenever it becomes runnable: at start, after an
 * unpark, a yield, a timer expiry or a poller event. {@link #execute} is called from any thread:
 * the spawner, our own carriers, JDK timer and poller threads, and (JDK 25) from a fiber pinned while
 * it unparks another. It is lock-free, never blocks and never throws (a throw would kill the JDK
 * poller loop that called it). The caller's carrier is found with {@code currentCarrierThread}, not
 * {@code currentThread}: on our own carrier the continuation goes to that carrier's local queues
 * with no cross-thread traffic; from anywhere else it goes to the global inject queue and one
 * sleeping carrier is woken if nobody is searching ({@link IdleCarriers}).
 *
 * <h2>Lifecycle</h2>
 * RUNNING, then SHUTDOWN ({@link #shutdown}: no new fibers, running ones finish) or STOP
 * ({@link #shutdownNow}: running fibers are cancelled too), then TERMINATED once no spawned fiber is
 * alive and every carrier has exited. The set of live fibers ({@link LiveFibers}) and the state form
 * a Dekker pair (add then read state; write state then scan the set), so a spawn racing a shutdown
 * is either rejected or waited for, never lost. Continuations that arrive after the carriers exited (virtual
 * threads a fiber created inherit this scheduler, and may outlive it) are handed to the JDK's default
 * scheduler rather than dropped.
 *
 * <h2>Fallback</h2>
 * Without access to the JDK hook ({@link VirtualThreadHook}) a scheduler has no carriers and its
 * fibers run on the JDK's default scheduler, after one warning that names the fix. The API and
 * lifecycle are the same.
 */
public final class FiberScheduler implements AutoCloseable {
    private static final RuntimeLog log = RuntimeLog.of(FiberScheduler.class);
    private static final AtomicBoolean FALLBACK_WARNED = new AtomicBoolean();
    private static final int MAX_CARRIERS = Settings.MAX_CARRIERS;
    private static final int MAX_BLOCKING_THREADS = 32_768;
    /** Like Tokio's default of 512 blocking threads, halved: each is a platform thread with its own stack. */
    static final int DEFAULT_MAX_BLOCKING_THREADS = 256;
    /** Go preempts a goroutine after 10 ms; we cannot preempt, so a carrier held that long is handed off. */
    static final Duration DEFAULT_HANDOFF_AFTER = Settings.DEFAULT_HANDOFF;
    /** A run caught inside a native method (a system call, JNI, a pinned park) is handed off sooner. */
    static final long NATIVE_HANDOFF_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
    private static final VarHandle LOOP_SLOTS = MethodHandles.arrayElementVarHandle(CarrierLoop[].class);

    private static final int RUNNING = 0;
    private static final int SHUTDOWN = 1;
    private static final int STOP = 2;

    private final String name;
    private final CarrierLoop[] loops;
    final IdleCarriers idle;
    private final InjectQueue injectQueue = new InjectQueue();
    private final AtomicInteger state = new AtomicInteger(RUNNING);
    private final LiveFibers live;
    private final AtomicBoolean terminationStarted = new AtomicBoolean();
    private volatile boolean terminating;
    private final AtomicInteger carriersRunning;
    private final CountDownLatch terminated = new CountDownLatch(1);
    private final BlockingPool blockingPool;
    private final long handoffNanos;

    private FiberScheduler(Builder b) {
        this.name = b.name;
        this.blockingPool = new BlockingPool(name + "-blocking", b.maxBlockingThreads);
        this.handoffNanos = b.handoffAfter.toNanos();
        if (AgentHooks.offloadsAny()) {
            blockingPool.start();
        }
        if (VirtualThreadHook.isAvailable()) {
            JdkPollers.initializeOffCarriers();
            loops = new CarrierLoop[b.carriers];
            for (int i = 0; i < loops.length; i++) {
                loops[i] = new CarrierLoop(this, i, name + "-carrier-" + i, b.daemon);
            }
        } else {
            loops = new CarrierLoop[0];
            if (FALLBACK_WARNED.compareAndSet(false, true)) {
                log.warn("Fibers run on the JDK's default virtual thread scheduler, not on fiber carrier loops: {}. "
                        + "Fix: launch with -javaagent:fiber-agent.jar, or pass the JVM option {}",
                        VirtualThreadHook.unavailableReason(), VirtualThreadHook.ADD_OPENS);
            }
        }
        idle = new IdleCarriers(Math.max(1, loops.length));
        live = new LiveFibers(loops.length);
        carriersRunning = new AtomicInteger(loops.length);
        Fibers.schedulerBuilt = true; // before the carriers start: see its note
        for (CarrierLoop loop : loops) {
            loop.thread.start();
        }
        CarrierWatchdog.register(this);
    }

    /** A builder for a scheduler of your own; {@link Fibers#spawn} uses a default one. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The scheduler of the calling fiber, or the default scheduler when the caller is not a fiber.
     * Fibers spawned with {@link Fibers#spawn} land here, so a fiber's children share its loops.
     */
    public static FiberScheduler current() {
        Fiber<?> fiber = Fiber.current();
        return fiber != null ? fiber.scheduler() : Fibers.defaultScheduler();
    }

    public String name() {
        return name;
    }

    /** The number of carrier loops; 0 in the fallback mode. */
    public int carrierCount() {
        return loops.length;
    }

    /** True when fibers run on this scheduler's own carriers; false in the fallback mode. */
    public boolean usesOwnCarriers() {
        return loops.length > 0;
    }

    public Fiber<Void> spawn(Runnable task) {
        return start(null, Objects.requireNonNull(task, "task"));
    }

    public <T> Fiber<T> spawn(Callable<T> task) {
        return start(null, Objects.requireNonNull(task, "task"));
    }

    /**
     * Starts a fiber running {@code task}. The name (may be null) shows in thread dumps.
     *
     * @throws RejectedExecutionException if this scheduler is shut down
     */
    public <T> Fiber<T> spawn(String fiberName, Callable<T> task) {
        return start(fiberName, Objects.requireNonNull(task, "task"));
    }

    /** {@code task} is a {@code Callable<T>}, or a {@code Runnable} when T is Void. */
    private <T> Fiber<T> start(String fiberName, Object task) {
        if (state.get() != RUNNING) {
            throw rejected();
        }
        Fiber<T> fiber = new Fiber<>(this, task, false);
        Thread thread = loops.length > 0
                ? VirtualThreadHook.newVirtualThread(new FiberTask(fiber, this, false), fiberName, fiber.body())
                : jdkVirtualThread(fiberName, fiber.body());
        fiber.bind(thread);
        countIn(fiber);
        try {
            thread.start();
        } catch (Throwable t) {
            fiber.failToStart(t);
            throw t;
        }
        CarrierLoop.yieldIfRequested(); // a safe point: a spawning loop (an acceptor) lets what it spawned run
        return fiber;
    }

    /**
     * An unstarted fiber running {@code task}, as a {@link Thread}, for code that starts threads
     * itself: a {@link java.util.concurrent.ThreadFactory} (fiber-compat has one). Until its
     * {@code start()} it is nothing to this scheduler. From {@code start()} on it is one of this
     * scheduler's fibers, like a spawned one: {@link Fibers#current()} works in it, {@link #shutdown()}
     * and {@link #close()} wait for it, {@link #shutdownNow()} cancels it, and it counts in
     * {@link #stats()}. Its {@code start()} throws this scheduler's {@link RejectedExecutionException}
     * when the scheduler is shut down, and the thread then ends without running {@code task}.
     *
     * <p>As for any thread, an exception {@code task} throws goes to the thread's uncaught exception
     * handler (a spawned fiber keeps it for {@link Fiber#get()} instead). In the fallback mode (no
     * carriers) the fiber counts from the moment it starts running rather than from {@code start()},
     * and if that moment comes after a shutdown, {@code task} does not run and the rejection goes to
     * the uncaught exception handler.
     *
     * @param fiberName the thread's name; null for none, as for {@link #spawn(String, Callable)}
     */
    public Thread unstartedFiber(String fiberName, Runnable task) {
        Objects.requireNonNull(task, "task");
        Fiber<Void> fiber = new Fiber<>(this, task, true);
        Thread thread;
        if (loops.length > 0) {
            thread = VirtualThreadHook.newVirtualThread(new FiberTask(fiber, this, true), fiberName, fiber.body());
        } else {
            Runnable body = fiber.body();
            thread = jdkVirtualThread(fiberName, () -> {
                countIn(fiber);
                body.run();
            });
        }
        fiber.bind(thread);
        return thread;
    }

    /** The fallback mode's fiber thread: a virtual thread of the JDK's own scheduler. */
    private static Thread jdkVirtualThread(String fiberName, Runnable body) {
        return (fiberName == null ? Thread.ofVirtual() : Thread.ofVirtual().name(fiberName)).unstarted(body);
    }

    /**
     * Adds a fiber about to start to the live set, or throws {@link RejectedExecutionException} when
     * this scheduler is shut down. Called by {@link #spawn} before the thread starts, and for an
     * {@link #unstartedFiber} from its {@code Thread.start()} ({@link FiberTask#execute}).
     */
    void countIn(Fiber<?> fiber) {
        if (state.get() != RUNNING) {
            throw rejected();
        }
        live.add(fiber);
        if (state.get() != RUNNING) { // a shutdown raced this start: it may not have seen the fiber
            live.remove(fiber);
            terminateIfDone();
            throw rejected();
        }
    }

    private RejectedExecutionException rejected() {
        return new RejectedExecutionException("cannot spawn a fiber on scheduler '" + name
                + "': it is shut down. Spawn on a running scheduler (FiberScheduler.builder().build()) instead.");
    }

    /** Called by every fiber of this scheduler as it finishes. */
    void fiberFinished(Fiber<?> fiber) {
        live.remove(fiber);
        if (state.get() != RUNNING) {
            terminateIfDone();
        }
    }

    private void terminateIfDone() {
        if (live.isEmpty()) {
            startTermination();
        }
    }

    // ---- submission -------------------------------------------------------------------------

    /** Called by {@link FiberTask#execute}: {@code task} is a fiber's task or an inherited thread's continuation. */
    void execute(Runnable task) {
        try {
            Thread carrier = VirtualThreadHook.currentCarrierThread();
            if (carrier instanceof CarrierLoop.CarrierThread ct && ct.loop.scheduler == this) {
                ct.loop.submitLocal(task);
                return;
            }
            inject(task);
            wakeSleeperIfNeeded();
            if (carriersRunning.get() == 0) {
                drainInjectToFallback();
            }
        } catch (Throwable t) {
            fallback(task);
        }
    }

    void inject(Runnable task) {
        injectQueue.offer(task);
    }

    /**
     * Moves a continuation a carrier had taken on (its local queue's overflow, a handed-off queue,
     * a fiber asked to yield) to the inject queue, with the work under way: ahead of new fibers
     * from outside, even if it has not started ({@link InjectQueue}).
     */
    void requeue(Runnable task) {
        injectQueue.offerUnderway(task);
    }

    Runnable pollInject() {
        return injectQueue.poll();
    }

    /** For the periodic fairness check: alternates which lane of the inject queue goes first. */
    Runnable pollInject(boolean freshFirst) {
        return injectQueue.poll(freshFirst);
    }

    /** A continuation of work under way from the inject queue, or null: never a new fiber. */
    Runnable pollUnderway() {
        return injectQueue.pollUnderway();
    }

    int injectSize() {
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

    /** Work some carrier could take: the inject queue or any carrier's stealable queue. */
    boolean hasQueuedWork() {
        if (!injectQueue.isEmpty()) {
            return true;
        }
        for (CarrierLoop loop : loops) {
            if (loop.hasStealableWork()) {
                return true;
            }
        }
        return false;
    }

    /** The offload pool behind {@link Fibers#blocking}. */
    BlockingPool blockingPool() {
        return blockingPool;
    }

    /**
     * The scheduler whose carrier the caller holds: a fiber's own, or that of a virtual thread a fiber
     * started; null on any other thread.
     */
    static FiberScheduler ofCaller() {
        Fiber<?> fiber = Fiber.current();
        if (fiber != null) {
            return fiber.scheduler();
        }
        if (Thread.currentThread().isVirtual() && VirtualThreadHook.isAvailable()
                && VirtualThreadHook.currentCarrierThread() instanceof CarrierLoop.CarrierThread ct) {
            return ct.loop.scheduler;
        }
        return null;
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

    void carrierTaskFailed(Thread carrier, Throwable failure) {
        log.error("fiber continuation failed on carrier {}; the carrier goes on", carrier.getName(), failure);
    }

    void carrierExited(CarrierLoop loop) {
        loop.drainTo(FiberScheduler::fallback);
        if (carriersRunning.decrementAndGet() == 0) {
            drainInjectToFallback();
            blockingPool.shutdown();
            CarrierWatchdog.unregister(this);
            terminated.countDown();
        }
    }

    private void drainInjectToFallback() {
        for (Runnable task; (task = pollInject()) != null; ) {
            fallback(task);
        }
    }

    /** Runs a continuation that arrived when no carrier of ours can take it. */
    private static void fallback(Runnable task) {
        Executor jdk = VirtualThreadHook.jdkDefaultScheduler();
        if (jdk != null) {
            jdk.execute(task);
        } else {
            Thread.ofPlatform().daemon().name("fiber-fallback").start(task);
        }
    }

    // ---- lifecycle ----------------------------------------------------------------------------

    /** No new fibers; the running ones finish, then the carriers exit. Idempotent. */
    public void shutdown() {
        state.compareAndSet(RUNNING, SHUTDOWN);
        terminateIfDone();
    }

    /** Like {@link #shutdown}, and cancels every running fiber. Returns how many were cancelled. */
    public int shutdownNow() {
        state.set(STOP);
        AtomicInteger cancelled = new AtomicInteger();
        live.forEach(fiber -> {
            if (fiber.cancel()) {
                cancelled.incrementAndGet();
            }
        });
        terminateIfDone();
        return cancelled.get();
    }

    private void startTermination() {
        if (!terminationStarted.compareAndSet(false, true)) {
            return;
        }
        terminating = true;
        if (loops.length == 0) {
            blockingPool.shutdown();
            terminated.countDown();
        }
        for (CarrierLoop loop : loops) {
            loop.wake();
        }
    }

    public boolean isShutdown() {
        return state.get() != RUNNING;
    }

    public boolean isTerminated() {
        return terminated.getCount() == 0;
    }

    /** Waits until the scheduler has terminated; false if {@code timeout} passed first. */
    public boolean awaitTermination(Duration timeout) throws InterruptedException {
        checkNotOwnFiber("awaitTermination");
        return terminated.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    /** {@link #shutdown()}, then waits (uninterruptibly) for every fiber to finish. */
    @Override
    public void close() {
        checkNotOwnFiber("close");
        shutdown();
        boolean interrupted = false;
        while (!isTerminated()) {
            try {
                terminated.await();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private void checkNotOwnFiber(String what) {
        Fiber<?> fiber = Fiber.current();
        if (fiber != null && fiber.scheduler() == this) {
            throw new IllegalStateException(what + "() called from a fiber of scheduler '" + name
                    + "' would wait for itself; call it from a thread outside the scheduler");
        }
    }

    // ---- statistics ---------------------------------------------------------------------------

    public SchedulerStats stats() {
        List<CarrierStats> carriers = new ArrayList<>(loops.length);
        long runs = 0;
        for (CarrierLoop loop : loops) {
            CarrierStats s = loop.stats();
            runs += s.runs();
            carriers.add(s);
        }
        long spawnedCount = live.added();
        return new SchedulerStats(name, loops.length > 0, spawnedCount, live.size(),
                Math.max(0, runs - spawnedCount), injectSize(), blockingPool.calls(), blockingPool.threads(),
                List.copyOf(carriers));
    }

    @Override
    public String toString() {
        return "FiberScheduler[" + name + ", " + (loops.length > 0 ? loops.length + " carriers" : "fallback")
                + (isTerminated() ? ", terminated" : isShutdown() ? ", shut down" : "") + "]";
    }

    /** {@code -Dfiber.handoff=Nms|off} (the agent's {@code handoff=} option), else the default. */
    static Duration handoffFromProperty() {
        return Settings.HANDOFF.fromSystemProperty();
    }

    /** Settings for a new {@link FiberScheduler}. */
    public static final class Builder {
        private int carriers = Runtime.getRuntime().availableProcessors();
        private String name = "fiber";
        private boolean daemon = true;
        private int maxBlockingThreads = DEFAULT_MAX_BLOCKING_THREADS;
        private Duration handoffAfter = handoffFromProperty();

        private Builder() { }

        /**
         * How long one fiber may hold a carrier's thread without yielding before a new thread takes
         * over the carrier's other fibers, reactor and timers (default 10 ms; a fiber caught in a
         * native method, such as a file read or a pinned park, after about 2 ms: one look of the
         * watchdog after it asked the fiber to yield).
         * {@link Duration#ZERO} turns handoff off: the carrier's other fibers then wait.
         */
        public Builder handoffAfter(Duration threshold) {
            if (threshold == null || threshold.isNegative()) {
                throw new IllegalArgumentException("handoffAfter must be zero (off) or positive, got " + threshold);
            }
            if (!threshold.isZero() && threshold.toNanos() < NATIVE_HANDOFF_NANOS) {
                throw new IllegalArgumentException("handoffAfter must be zero (off) or at least 1 ms (the watchdog samples"
                        + " carriers every millisecond), got " + threshold);
            }
            this.handoffAfter = threshold;
            return this;
        }

        /**
         * Most threads the offload pool behind {@link Fibers#blocking} starts (default
         * {@value #DEFAULT_MAX_BLOCKING_THREADS}); calls beyond that wait their turn, parked.
         */
        public Builder maxBlockingThreads(int maxBlockingThreads) {
            if (maxBlockingThreads < 1 || maxBlockingThreads > MAX_BLOCKING_THREADS) {
                throw new IllegalArgumentException("maxBlockingThreads must be between 1 and " + MAX_BLOCKING_THREADS
                        + ", got " + maxBlockingThreads);
            }
            this.maxBlockingThreads = maxBlockingThreads;
            return this;
        }

        /** Number of carrier loops (platform threads); default: available processors. */
        public Builder carriers(int carriers) {
            if (carriers < 1 || carriers > MAX_CARRIERS) {
                throw new IllegalArgumentException("carriers must be between 1 and " + MAX_CARRIERS + ", got " + carriers);
            }
            this.carriers = carriers;
            return this;
        }

        /** Prefix of the carrier threads' names; default "fiber". */
        public Builder name(String name) {
            if (name == null || name.isBlank()) {
                throw new IllegalArgumentException("scheduler name must be non-blank, got " + (name == null ? "null" : "'" + name + "'"));
            }
            this.name = name;
            return this;
        }

        /**
         * Whether carriers are daemon threads (default true): a daemon scheduler does not keep the JVM
         * alive, exactly like the JDK's own virtual thread scheduler.
         */
        public Builder daemon(boolean daemon) {
            this.daemon = daemon;
            return this;
        }

        public FiberScheduler build() {
            return new FiberScheduler(this);
        }
    }
}
