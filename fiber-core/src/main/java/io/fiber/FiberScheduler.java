package io.fiber;

import io.fiber.detector.BlockingCategory;
import io.fiber.internal.RuntimeLog;
import io.fiber.internal.Settings;
import io.fiber.internal.agent.AgentHooks;
import io.fiber.internal.carrier.CarrierLoop;
import io.fiber.internal.carrier.Carriers;
import io.fiber.internal.carrier.DelayRecorder;
import io.fiber.internal.carrier.FiberTask;
import io.fiber.internal.dump.FiberDump;
import io.fiber.internal.dump.StallReport;
import io.fiber.internal.group.Group;
import io.fiber.internal.group.LiveLimit;
import io.fiber.internal.jdk.VirtualThreadHook;
import io.fiber.internal.management.ManagementBeans;
import io.fiber.internal.offload.OffloadPool;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import javax.management.ObjectName;

/**
 * A set of carrier event loops that run fibers: JDK virtual threads created with this scheduler as
 * their executor (docs/design.md sections 1 and 2). {@link Fibers#spawn} uses a default one; build
 * your own with {@link #builder()} to keep a group of fibers on loops of their own.
 *
 * <p>Lifecycle: running, then shut down ({@link #shutdown}: no new fibers, running ones finish; or
 * {@link #shutdownNow}: running ones are cancelled too), then terminated once no fiber of it is
 * alive and its carriers have exited ({@link #awaitTermination}, {@link #close}). A spawn that races
 * a shutdown is either rejected or waited for, never lost, and a continuation that arrives after
 * termination (a virtual thread a fiber started may outlive it) runs on the JDK's scheduler.
 *
 * <p>Groups: {@link #group(String)} builds a {@link FiberGroup}, a share of this scheduler's carrier
 * time with an optional bound on how many of its fibers run at once. A fiber spawned from a fiber of
 * a group, through this scheduler, joins that group.
 *
 * <p>Fallback: without access to the JDK hook (no agent and no
 * {@code --add-opens java.base/java.lang=ALL-UNNAMED}) a scheduler has no carriers and its fibers
 * run on the JDK's default scheduler, after one warning that names the fix. The API and lifecycle
 * are the same.
 */
public final class FiberScheduler implements AutoCloseable {
    private static final RuntimeLog log = RuntimeLog.of(FiberScheduler.class);
    private static final AtomicBoolean FALLBACK_WARNED = new AtomicBoolean();
    private static final int MAX_CARRIERS = Settings.MAX_CARRIERS;
    private static final int MAX_BLOCKING_THREADS = 32_768;
    /** Like Tokio's default of 512 blocking threads, halved: each is a platform thread with its own stack. */
    static final int DEFAULT_MAX_BLOCKING_THREADS = 256;
    /** Long enough that a program waiting on a platform thread's work for a moment is not reported; short enough for a stuck test. */
    static final Duration DEFAULT_STALL_REPORT_AFTER = Duration.ofSeconds(10);

    private final Carriers carriers;
    /** Its MXBean's place in the platform MBean server ({@link FiberSchedulerMXBean}); null without java.management. */
    private final ManagementBeans.Registration management;

    private FiberScheduler(Builder b) {
        AgentHooks.install(Timeout.socketDeadlines(), OffloadedFamilies.INSTANCE); // before the carriers open their reactors
        carriers = new Carriers(b.name, b.carriers, b.daemon, b.maxBlockingThreads, b.handoffAfter.toNanos(),
                AgentHooks.offloadsAny());
        carriers.owner(this);
        if (b.maxLiveFibers > 0) {
            carriers.limitLiveFibers(new LiveLimit(b.maxLiveFibers, b.admissionPolicy.maxWaitNanos(),
                    new Refusals(carriers, "scheduler '" + b.name + "'", null)));
        }
        if (carriers.count() == 0 && FALLBACK_WARNED.compareAndSet(false, true)) {
            log.warn("Fibers run on the JDK's default virtual thread scheduler, not on fiber carrier loops: {}. "
                    + "Fix: launch with -javaagent:fiber-agent.jar, or pass the JVM option {}",
                    VirtualThreadHook.unavailableReason(), VirtualThreadHook.ADD_OPENS);
        }
        if (carriers.count() > 0 && !b.stallReportAfter.isZero()) {
            carriers.observeStalls(new StallReporter(b.name, carriers, b.onStall), b.stallReportAfter.toNanos());
        }
        management = offerManagement(this, b.name);
        if (management != null) {
            carriers.whenTerminated(management::withdraw);
        }
    }

    /** Its MXBean, offered for the platform MBean server; null on a runtime without the java.management module. */
    private static ManagementBeans.Registration offerManagement(FiberScheduler scheduler, String name) {
        try {
            return ManagementBeans.offer("FiberScheduler", name, new Management(scheduler));
        } catch (LinkageError noJavaManagement) {
            return null; // a jlinked runtime without java.management: nothing could read the bean anyway
        }
    }

    /**
     * Every scheduler built and not yet terminated, in the order built, for the live console
     * ({@link FiberConsole}): read from the MXBeans' registry, where each scheduler is from its build
     * to its termination; empty on a runtime without java.management, which has no such registry.
     */
    static List<FiberScheduler> all() {
        List<FiberScheduler> all = new ArrayList<>();
        try {
            for (Object bean : ManagementBeans.offered("FiberScheduler")) {
                if (bean instanceof Management m) {
                    all.add(m.scheduler);
                }
            }
        } catch (LinkageError noJavaManagement) {
            // no java.management: no registry to read
        }
        return all;
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
        return carriers.name();
    }

    /** The number of carrier loops; 0 in the fallback mode. */
    public int carrierCount() {
        return carriers.count();
    }

    /** True when fibers run on this scheduler's own carriers; false in the fallback mode. */
    public boolean usesOwnCarriers() {
        return carriers.count() > 0;
    }

    /** The bound on this scheduler's live fibers ({@link Builder#maxLiveFibers}); {@link Integer#MAX_VALUE} when none. */
    public int maxLiveFibers() {
        LiveLimit limit = carriers.liveLimit();
        return limit == null ? Integer.MAX_VALUE : limit.bound();
    }

    /** What a spawn does at {@link #maxLiveFibers()}; null when there is no bound. */
    public AdmissionPolicy admissionPolicy() {
        LiveLimit limit = carriers.liveLimit();
        return limit == null ? null : AdmissionPolicy.ofMaxWaitNanos(limit.maxWaitNanos());
    }

    /**
     * Starts a fiber running {@code task}.
     *
     * @throws RejectedExecutionException if this scheduler is shut down; a {@link FiberRejectedException}
     *                                    if a bound on live fibers refuses ({@link Builder#maxLiveFibers})
     */
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

    /** {@code task} is a {@code Callable<T>}, or a {@code Runnable} when T is Void; in the caller's group, if any. */
    private <T> Fiber<T> start(String fiberName, Object task) {
        return start(inheritedGroup(), fiberName, task);
    }

    /**
     * The group of the calling fiber if it is one of this scheduler's, else null. A scheduler that
     * never built a group answers with one volatile read.
     */
    private Group inheritedGroup() {
        if (!carriers.groups().inUse()) {
            return null;
        }
        Fiber<?> parent = Fiber.current();
        return parent != null && parent.scheduler() == this ? parent.body().group() : null;
    }

    /** {@link #start(String, Object)} into {@code group} (null: none), one of this scheduler's. */
    <T> Fiber<T> start(Group group, String fiberName, Object task) {
        carriers.rejectIfShutDown();
        carriers.acquireSlots(group); // under a bound on live fibers: waits or throws before the fiber is made
        Fiber<T> fiber;
        Fiber.Body body;
        Thread thread;
        try {
            fiber = new Fiber<>(this, task, false, group);
            body = fiber.body();
            thread = usesOwnCarriers()
                    ? carriers.newThread(body, fiberName, true)
                    : jdkVirtualThread(fiberName, true, fallbackBody(body));
            fiber.bind(thread);
        } catch (Throwable t) { // an OutOfMemoryError, say: the slots go back
            carriers.releaseSlots(group);
            throw t;
        }
        carriers.admit(body);
        if (group != null && !usesOwnCarriers() && group.isBounded()) {
            body.enterLine(); // in submission order, before the JDK may run the thread
        }
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
     * <p>Under a bound on live fibers ({@link Builder#maxLiveFibers}) its {@code start()} takes a slot
     * as a spawn does: it waits for one, or throws {@link FiberRejectedException}, as the policy says,
     * and the thread then ends without running {@code task}. A starter that is itself a fiber waits
     * pinned to its carrier there (the JDK calls the scheduler with it pinned) unless the agent runs,
     * which takes the slot at the entry of {@code start()} instead. In the fallback mode the new fiber
     * waits for its slot itself, before {@code task}, and a refusal goes to the uncaught exception
     * handler.
     *
     * @param fiberName the thread's name; null for none, as for {@link #spawn(String, Callable)}
     */
    public Thread unstartedFiber(String fiberName, Runnable task) {
        return unstartedFiber(fiberName, true, task);
    }

    /**
     * {@link #unstartedFiber(String, Runnable)}, choosing what the fiber inherits from the caller as
     * {@link Thread.Builder#inheritInheritableThreadLocals} does: with
     * {@code inheritInheritableThreadLocals} true, the values of the caller's
     * {@link InheritableThreadLocal}s and its context class loader; with false, no values, and the
     * system class loader as context class loader.
     */
    public Thread unstartedFiber(String fiberName, boolean inheritInheritableThreadLocals, Runnable task) {
        Objects.requireNonNull(task, "task");
        Group group = inheritedGroup();
        Fiber<Void> fiber = new Fiber<>(this, task, true, group);
        Thread thread;
        if (usesOwnCarriers()) {
            thread = carriers.newThread(fiber.body(), fiberName, inheritInheritableThreadLocals);
        } else {
            Fiber.Body body = fiber.body();
            thread = jdkVirtualThread(fiberName, inheritInheritableThreadLocals, () -> {
                carriers.acquireSlots(group); // the fiber itself waits here, or ends refused: see the javadoc
                carriers.admit(body);
                if (group != null && group.isBounded()) {
                    body.enterLine();
                    body.awaitAdmission();
                }
                body.run();
            });
        }
        fiber.bind(thread);
        return thread;
    }

    /**
     * What the fallback mode's thread of a spawned fiber runs: its body, after its turn has come if
     * its group has a bound (on carriers the turn is the start of the continuation itself).
     */
    private static Runnable fallbackBody(Fiber.Body body) {
        Group group = body.group();
        if (group == null || !group.isBounded()) {
            return body;
        }
        return () -> {
            body.awaitAdmission();
            body.run();
        };
    }

    /** The fallback mode's fiber thread: a virtual thread of the JDK's own scheduler. */
    private static Thread jdkVirtualThread(String fiberName, boolean inheritThreadLocals, Runnable body) {
        Thread.Builder.OfVirtual builder = Thread.ofVirtual().inheritInheritableThreadLocals(inheritThreadLocals);
        return (fiberName == null ? builder : builder.name(fiberName)).unstarted(body);
    }

    // ---- groups -------------------------------------------------------------------------------

    /**
     * A builder for a group of this scheduler's fibers named {@code name}: its share of carrier time
     * ({@link FiberGroup.Builder#weight}) and an optional bound on how many of its fibers run at once
     * ({@link FiberGroup.Builder#maxConcurrent}, {@link FiberGroup.Builder#serial}).
     * <pre>{@code
     * FiberGroup batch = scheduler.group("batch").weight(10).maxConcurrent(4).build();
     * FiberGroup db = scheduler.group("db").serial().build();   // an actor: one at a time, in order
     * }</pre>
     *
     * @param name unique among this scheduler's groups; shows in {@link #stats()}
     */
    public FiberGroup.Builder group(String name) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("a group's name must be non-blank, got "
                    + (name == null ? "null" : "'" + name + "'") + ": name it for what its fibers do (\"batch\", \"db\")");
        }
        return new FiberGroup.Builder(this, name);
    }

    /** The offload pool behind {@link Fibers#blocking}. */
    OffloadPool offloadPool() {
        return carriers.offloadPool();
    }

    /** The scheduler's carriers and what they share, for the fibers it makes. */
    Carriers carriers() {
        return carriers;
    }

    // ---- lifecycle ----------------------------------------------------------------------------

    /** No new fibers; the running ones finish, then the carriers exit. Idempotent. */
    public void shutdown() {
        carriers.shutdown();
    }

    /** Like {@link #shutdown}, and cancels every running fiber. Returns how many were cancelled. */
    public int shutdownNow() {
        // Every outcome is decided before any fiber is woken: a fiber interrupted early could end and
        // let the next one in its group's line start (a serial lane's next fiber) and run its task
        // before this loop reached it. A fiber whose cancel is requested finishes as cancelled at its
        // start, or at its next blocking call once interrupted.
        List<Fiber<?>> cancelled = new ArrayList<>();
        carriers.stop(owner -> {
            Fiber<?> fiber = (Fiber<?>) owner;
            if (fiber.requestCancel()) {
                cancelled.add(fiber);
            }
        });
        for (Fiber<?> fiber : cancelled) {
            fiber.wakeCancelled();
        }
        return cancelled.size();
    }

    public boolean isShutdown() {
        return !carriers.isRunning();
    }

    public boolean isTerminated() {
        return carriers.isTerminated();
    }

    /** Waits until the scheduler has terminated; false if {@code timeout} passed first. */
    public boolean awaitTermination(Duration timeout) throws InterruptedException {
        checkNotOwnFiber("awaitTermination");
        return carriers.awaitTermination(timeout);
    }

    /** {@link #shutdown()}, then waits (uninterruptibly) for every fiber to finish. */
    @Override
    public void close() {
        checkNotOwnFiber("close");
        shutdown();
        boolean interrupted = false;
        while (!isTerminated()) {
            try {
                carriers.awaitTermination();
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
            throw new IllegalStateException(what + "() called from a fiber of scheduler '" + name()
                    + "' would wait for itself; call it from a thread outside the scheduler");
        }
    }

    // ---- statistics ---------------------------------------------------------------------------

    /**
     * Writes a dump of this scheduler's live fibers to {@code out}: its carriers and what each runs,
     * then the fibers grouped as Go's goroutine profile groups them (same state, same object waited
     * on, same group, same stack: one entry with a count and a few names), largest first, so a
     * million fibers parked in a handful of places fit on a page. For each entry, what its fibers
     * wait on: the object they parked on (a lock's synchronizer, a condition, a latch) and the lock's
     * owner when owners are readable (under the agent, or with
     * {@code --add-opens java.base/java.util.concurrent.locks=ALL-UNNAMED}); otherwise the wait shows
     * in the stack (a sleep, a socket read, a join). Also {@link FiberSchedulerMXBean#dumpFibers()}
     * from outside the process ({@code jconsole}, or any JMX client).
     *
     * <p>The fibers are walked once; only the distinct entries are kept, so the dump's memory grows
     * with the number of different places fibers wait, not with the number of fibers.
     */
    public void dumpFibers(Appendable out) throws IOException {
        FiberDump.write(name(), carriers, out);
    }

    /**
     * The name of this scheduler's {@link FiberSchedulerMXBean} in the platform MBean server, where
     * it is from the moment something has created that server until this scheduler terminates.
     */
    public ObjectName managementName() {
        if (management == null) {
            throw new IllegalStateException("this Java runtime has no java.management module, so scheduler '" + name()
                    + "' has no MXBean; run on a runtime that includes java.management (jlink --add-modules java.management)");
        }
        return management.name();
    }

    public SchedulerStats stats() {
        List<CarrierStats> perCarrier = new ArrayList<>(carriers.count());
        carriers.forEachLoop(loop -> perCarrier.add(new CarrierStats(loop.name(), loop.queueDepth(), loop.runs(),
                loop.stolen(), loop.sleeps(), loop.ioWaits(), loop.skippedReads(), loop.timersFired(), loop.handoffs(),
                loop.yieldRequests(), loop.busyNanos(), loop.idleNanos(), loop.wakeups(), loop.pendingTimers(),
                delayHistogram(loop.schedulingDelay()))));
        long runs = 0;
        for (CarrierStats c : perCarrier) {
            runs += c.runs();
        }
        long spawned = carriers.fibersAdmitted();
        List<FiberGroupStats> groups = new ArrayList<>();
        for (Group group : carriers.groups().all()) {
            groups.add(((FiberGroup) group.owner()).stats());
        }
        return new SchedulerStats(name(), usesOwnCarriers(), spawned, carriers.fibersAlive(),
                Math.max(0, runs - spawned), carriers.injectSize(), carriers.offloadPool().calls(),
                carriers.offloadPool().threads(), carriers.offloadPool().queued(), List.copyOf(perCarrier), List.copyOf(groups),
                admissionStats(carriers.liveLimit()));
    }

    /** The figures of a bound on live fibers, the scheduler's or a group's (null: none). */
    static AdmissionStats admissionStats(LiveLimit limit) {
        if (limit == null) {
            return AdmissionStats.NONE;
        }
        return new AdmissionStats(limit.bound(), AdmissionPolicy.ofMaxWaitNanos(limit.maxWaitNanos()), limit.holders(),
                limit.waiting(), limit.waited(), Duration.ofNanos(limit.waitNanos()), limit.rejected());
    }

    private static DelayHistogram delayHistogram(DelayRecorder r) {
        return new DelayHistogram(r.counts(), r.totalNanos(), r.maxNanos());
    }

    @Override
    public String toString() {
        return "FiberScheduler[" + name() + ", " + (usesOwnCarriers() ? carrierCount() + " carriers" : "fallback")
                + (isTerminated() ? ", terminated" : isShutdown() ? ", shut down" : "") + "]";
    }

    /** Listeners of every scheduler's stall reports ({@link #addStallListener}). */
    private static final CopyOnWriteArrayList<Consumer<String>> STALL_LISTENERS = new CopyOnWriteArrayList<>();

    /**
     * Hands {@code listener} the stall report of any scheduler (see {@link Builder#stallReportAfter})
     * until the returned handle is closed: fiber-junit's {@code @FailOnStall} fails a test with it.
     * Called on the runtime's watchdog thread: it must not block.
     */
    public static AutoCloseable addStallListener(Consumer<String> listener) {
        Objects.requireNonNull(listener, "listener");
        STALL_LISTENERS.add(listener);
        return () -> STALL_LISTENERS.remove(listener);
    }

    /** Turns a quiet scheduler into a stall report, when every fiber is parked where nothing inside can wake it. */
    private static final class StallReporter implements Carriers.StallObserver {
        private final String name;
        private final Carriers carriers;
        private final Consumer<String> listener;
        private boolean logged;

        StallReporter(String name, Carriers carriers, Consumer<String> listener) {
            this.name = name;
            this.carriers = carriers;
            this.listener = listener;
        }

        @Override
        public void quiet(long quietNanos) {
            String report = StallReport.of(name, carriers, quietNanos);
            if (report == null) {
                return;
            }
            if (!logged || report.contains("\nDeadlock: ")) {
                logged = true;
                log.warn("{}", report);
            }
            if (listener != null) {
                tell(listener, report);
            }
            for (Consumer<String> any : STALL_LISTENERS) {
                tell(any, report);
            }
        }

        private void tell(Consumer<String> listener, String report) {
            try {
                listener.accept(report);
            } catch (RuntimeException e) {
                log.warn("a stall listener of scheduler '{}' failed: {}", name, e.toString());
            }
        }
    }

    /**
     * What a bound on live fibers throws, the scheduler's or a group's ({@code groupName} not null):
     * each message names the owner, the bound and the fixes.
     */
    static final class Refusals implements LiveLimit.Refusals {
        private final Carriers carriers;
        private final String owner;
        private final String groupName;

        Refusals(Carriers carriers, String owner, String groupName) {
            this.carriers = carriers;
            this.owner = owner;
            this.groupName = groupName;
        }

        private String setting(LiveLimit limit) {
            return (groupName == null ? "FiberScheduler.builder()" : "scheduler.group(\"" + groupName + "\")")
                    + ".maxLiveFibers(" + limit.bound() + ", " + AdmissionPolicy.ofMaxWaitNanos(limit.maxWaitNanos()) + ")";
        }

        @Override
        public RuntimeException full(LiveLimit limit, long waitedNanos) {
            String waited = waitedNanos == 0 ? "" : " for " + TimeUnit.NANOSECONDS.toMillis(waitedNanos) + " ms";
            return new FiberRejectedException("cannot spawn a fiber on " + owner + ": it has " + limit.bound()
                    + " live fibers, its bound (" + setting(limit) + "), and none ended" + waited + ". Raise the bound"
                    + (groupName == null ? " (or the agent option max-fibers=N for the default scheduler)" : "")
                    + ", let spawners wait (AdmissionPolicy.WAIT or waitAtMost(...)), or spawn less"
                    + " (answer 'busy' to the request that asked for this one)", limit.bound(), null);
        }

        @Override
        public RuntimeException shutDown() {
            return carriers.rejected();
        }

        @Override
        public RuntimeException interrupted(LiveLimit limit) {
            InterruptedException cause = new InterruptedException("interrupted while waiting for one of the "
                    + limit.bound() + " live fibers of " + owner + " to end");
            Timeout.interrupted(cause); // the FiberTimeoutException of the caller's passed Timeout, if any
            return new FiberRejectedException("a spawn on " + owner + " was interrupted while it waited for one of its "
                    + limit.bound() + " live fibers to end (" + setting(limit) + "); no fiber was made, and the"
                    + " interrupt status is kept", limit.bound(), cause);
        }
    }

    /** The scheduler's MXBean: each attribute from a fresh {@link #stats()}. */
    private static final class Management implements FiberSchedulerMXBean {
        private final FiberScheduler scheduler;

        Management(FiberScheduler scheduler) {
            this.scheduler = scheduler;
        }

        @Override
        public String getName() {
            return scheduler.name();
        }

        @Override
        public boolean isOwnCarriers() {
            return scheduler.usesOwnCarriers();
        }

        @Override
        public int getCarrierCount() {
            return scheduler.carrierCount();
        }

        @Override
        public long getFibersSpawned() {
            return scheduler.stats().fibersSpawned();
        }

        @Override
        public long getFibersAlive() {
            return scheduler.stats().fibersAlive();
        }

        @Override
        public long getParks() {
            return scheduler.stats().parks();
        }

        @Override
        public long getSteals() {
            return scheduler.stats().steals();
        }

        @Override
        public long getIoWaits() {
            return scheduler.stats().ioWaits();
        }

        @Override
        public long getTimersFired() {
            return scheduler.stats().timers();
        }

        @Override
        public long getHandoffs() {
            return scheduler.stats().carriers().stream().mapToLong(CarrierStats::handoffs).sum();
        }

        @Override
        public int getInjectQueueDepth() {
            return scheduler.stats().injectDepth();
        }

        @Override
        public int getQueuedContinuations() {
            SchedulerStats stats = scheduler.stats();
            return stats.injectDepth() + stats.carriers().stream().mapToInt(CarrierStats::queueDepth).sum();
        }

        @Override
        public long getOffloadedCalls() {
            return scheduler.stats().blockingCalls();
        }

        @Override
        public int getOffloadPoolThreads() {
            return scheduler.stats().blockingThreads();
        }

        @Override
        public int getMaxLiveFibers() {
            return scheduler.maxLiveFibers();
        }

        @Override
        public String getAdmissionPolicy() {
            AdmissionPolicy policy = scheduler.admissionPolicy();
            return policy == null ? "" : policy.toString();
        }

        @Override
        public int getSpawnersWaiting() {
            return scheduler.stats().admission().waiting();
        }

        @Override
        public long getSpawnsWaited() {
            return scheduler.stats().admission().waited();
        }

        @Override
        public long getSpawnWaitMillis() {
            return scheduler.stats().admission().waitTime().toMillis();
        }

        @Override
        public long getSpawnsRejected() {
            return scheduler.stats().admission().rejected();
        }

        @Override
        public int getOffloadQueuedCalls() {
            return scheduler.stats().blockingQueued();
        }

        @Override
        public long getCarrierWakeups() {
            return scheduler.stats().wakeups();
        }

        @Override
        public int getPendingTimers() {
            return scheduler.stats().pendingTimers();
        }

        @Override
        public DelayHistogram getSchedulingDelay() {
            return scheduler.stats().schedulingDelay();
        }

        @Override
        public long getSchedulingDelayP50Micros() {
            return scheduler.stats().schedulingDelay().percentileNanos(50) / 1_000;
        }

        @Override
        public long getSchedulingDelayP99Micros() {
            return scheduler.stats().schedulingDelay().percentileNanos(99) / 1_000;
        }

        @Override
        public boolean isShutdown() {
            return scheduler.isShutdown();
        }

        @Override
        public boolean isTerminated() {
            return scheduler.isTerminated();
        }

        @Override
        public List<CarrierStats> getCarriers() {
            return scheduler.stats().carriers();
        }

        @Override
        public String getSummary() {
            return scheduler.stats().toString();
        }

        @Override
        public String dumpFibers() {
            StringBuilder sb = new StringBuilder();
            try {
                scheduler.dumpFibers(sb);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e); // a StringBuilder does not throw
            }
            return sb.toString();
        }
    }

    /** The call families the agent option {@code offload=} names, for the agent's hooks. */
    private static final class OffloadedFamilies implements AgentHooks.Offloads {
        private static final BlockingCategory[] CATEGORIES = BlockingCategory.values();
        static final OffloadedFamilies INSTANCE = new OffloadedFamilies();
        /** Bit per category ordinal. */
        private final int bits;

        private OffloadedFamilies() {
            Set<String> names = Settings.OFFLOAD.fromSystemProperty();
            int b = 0;
            for (BlockingCategory c : CATEGORIES) {
                if (c.offloadFamily() != null && names.contains(c.offloadFamily())) {
                    b |= 1 << c.ordinal();
                }
            }
            bits = b;
        }

        /** A family offloads exactly the calls the detector reports under its name ({@link BlockingCategory#of}). */
        @Override
        public boolean offloads(int category, Object receiver) {
            return bits != 0 && (bits & 1 << BlockingCategory.of(CATEGORIES[category], receiver).ordinal()) != 0;
        }
    }

    /** Settings for a new {@link FiberScheduler}. */
    public static final class Builder {
        private int carriers = Runtime.getRuntime().availableProcessors();
        private String name = "fiber";
        private boolean daemon = true;
        private int maxBlockingThreads = DEFAULT_MAX_BLOCKING_THREADS;
        private Duration handoffAfter = Settings.HANDOFF.fromSystemProperty();
        private Duration stallReportAfter = DEFAULT_STALL_REPORT_AFTER;
        private Consumer<String> onStall;
        private int maxLiveFibers;
        private AdmissionPolicy admissionPolicy = AdmissionPolicy.WAIT;

        private Builder() { }

        /**
         * At most {@code maxLiveFibers} fibers of the scheduler alive at once (spawned and not
         * finished); a spawn beyond waits until one ends ({@link AdmissionPolicy#WAIT}). Default: no
         * bound. See {@link #maxLiveFibers(int, AdmissionPolicy)}.
         */
        public Builder maxLiveFibers(int maxLiveFibers) {
            return maxLiveFibers(maxLiveFibers, AdmissionPolicy.WAIT);
        }

        /**
         * At most {@code maxLiveFibers} fibers of the scheduler alive at once (spawned and not finished,
         * in or out of groups, started by any means: spawn, fork, {@link FiberPool}, a fiber handed out as a thread);
         * at the bound a spawn does what {@code policy} says: wait for a fiber to end (back pressure
         * on the spawner), wait at most a while, or throw {@link FiberRejectedException} at once. Fibers
         * that end for any reason (returned, failed, cancelled, {@link FiberScheduler#shutdownNow}) free
         * their slots; {@link FiberScheduler#shutdown} refuses the waiting spawners. The count is exact:
         * the scheduler never has more live fibers than the bound. Below the bound a spawn pays one CAS;
         * without a bound, one read. Statistics: {@link SchedulerStats#admission()}.
         */
        public Builder maxLiveFibers(int maxLiveFibers, AdmissionPolicy policy) {
            if (maxLiveFibers < 1) {
                throw new IllegalArgumentException("maxLiveFibers must be at least 1, got " + maxLiveFibers
                        + "; for no bound, do not call it");
            }
            this.maxLiveFibers = maxLiveFibers;
            this.admissionPolicy = Objects.requireNonNull(policy, "policy");
            return this;
        }

        /**
         * How long the scheduler must have been stuck before it reports it (default 10 s;
         * {@link Duration#ZERO}: never): every live fiber parked untimed on a lock, condition or latch,
         * or blocked on a monitor, with nothing running, queued, timed or waiting for a socket in the
         * scheduler. Nothing inside the scheduler can wake such fibers; a thread outside it still can,
         * and the report says so. Cycles of fibers waiting for each other's locks are named as
         * deadlocks. The first report, and every one with a deadlock, is logged as a warning, with a
         * fiber dump; every report goes to {@link #onStall}.
         */
        public Builder stallReportAfter(Duration quiet) {
            if (quiet == null || quiet.isNegative()) {
                throw new IllegalArgumentException("stallReportAfter must be zero (never) or positive, got " + quiet);
            }
            this.stallReportAfter = quiet;
            return this;
        }

        /** Also hands every stall report ({@link #stallReportAfter}) to {@code listener}, on the runtime's watchdog thread: it must not block. */
        public Builder onStall(Consumer<String> listener) {
            this.onStall = Objects.requireNonNull(listener, "listener");
            return this;
        }

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
            if (!threshold.isZero() && threshold.toNanos() < Carriers.NATIVE_HANDOFF_NANOS) {
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
