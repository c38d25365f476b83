package io.fiber.internal.carrier;

import io.fiber.internal.RuntimeLog;
import io.fiber.internal.io.Reactors;
import io.fiber.internal.jdk.OsThreadState;
import io.fiber.internal.jdk.VirtualThreadHook;


import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * One daemon thread that looks at every carrier (Go's sysmon): every {@value #BUSY_PERIOD_MILLIS} ms
 * while the carriers are active (some carrier ran a fiber since the last look, or runs one now),
 * every {@value #IDLE_PERIOD_MILLIS} ms once all of them were idle for a whole period.
 * Its duties concern carriers that have not come back to their loop for a while:
 * <ol>
 *   <li><b>Rescue polls.</b> A carrier polls its own reactor between fibers. A fiber pinned in a park
 *       (a native frame or class initialiser on its stack) blocks the carrier thread itself, and a
 *       fiber that computes without yielding keeps the loop from coming round. So the reactor of a
 *       carrier held by one run for {@value #RESCUE_AFTER_MILLIS} ms, if it has waiters and was not
 *       polled meanwhile, gets a non-blocking poll here; the fibers it wakes go to the scheduler's
 *       inject queue. A carrier that keeps running fibers is left alone, even if it has not polled
 *       for a while (its queue is full): it will poll, and a rescue would only move its fibers to
 *       the back of the inject queue (with handoff on, a held carrier is usually handed off, and
 *       the new thread polls, before a rescue is due).</li>
 *   <li><b>Yield requests</b> (Go's cooperative preemption flag). A run that has held its carrier
 *       for {@value #YIELD_REQUEST_AFTER_MILLIS} ms while other work waits is asked to yield; the
 *       fiber honours it at its next safe point, a spawn or a socket or socket-channel read
 *       ({@link CarrierLoop#yieldIfRequested}). That covers the fibers that do I/O without ever
 *       blocking (an accept loop draining a backlog, a reader of a socket that always has data),
 *       which would otherwise run on until the handoff below, and then be reported as long runs.
 *       No run is handed off before the look after its request: an accept loop is often caught in
 *       its native {@code accept}, and would be handed off at once, over and over.</li>
 *   <li><b>Handoff</b> (Go's {@code retake}/{@code handoffp}). A carrier whose current run has held
 *       its thread past the scheduler's threshold, while other fibers wait on it (queued, in its
 *       reactor or on its timers), is {@linkplain CarrierLoop#handOff handed off}: a new thread takes
 *       over its work and the blocked thread keeps only the fiber that holds it. A run caught in a
 *       native method (a file read, a DNS lookup, a JNI call, a pinned park: the fiber's top frame is
 *       native) is handed off after {@value Carriers#NATIVE_HANDOFF_NANOS} ns and one look
 *       after its yield request, so about 2 ms, since it cannot be about to yield; any other run
 *       after the full threshold (a long computation). Looking at
 *       the top frame costs a stack sample, so it is taken only for runs already a period old with
 *       work waiting behind them.</li>
 *   <li><b>Long runs</b> (gevent's monitor thread), when a {@link LongRunObserver} is registered (the detector) and
 *       watching. Sampling costs the carriers nothing: each already counts the
 *       continuations it has run ({@code runs}, an opaque write after each) and knows the one it runs
 *       now ({@code current}). A count that has not moved while something runs means the same run goes
 *       on; once it has lasted the observer's threshold it is reported, once, with the fiber's stack
 *       sampled then. Handed-off carriers stay watched for this until their thread exits.</li>
 * </ol>
 * Every {@value #RECHECK_PERIOD_MILLIS} ms it also asks the reactors to end waits that have
 * trusted an old fd registration for a whole period, so 100 to 200 ms (the safety net of their
 * edge-triggered registration, {@code CarrierReactor.recheckLongWaits}).
 *
 * <p>Every stack it samples is that of a mounted fiber ({@link VirtualThreadHook#mountedStackTrace}),
 * never {@code getStackTrace()}: the run it looked at may end before the sample, and on JDK 25
 * {@code getStackTrace()} of a fiber that has unmounted and is runnable suspends it for the walk
 * and then submits it again. {@link FiberTask} drops that second submission, but the watchdog must
 * not suspend a fiber that a carrier may be about to run either.
 *
 * <p>Only time the watchdog saw counts towards a threshold: a look that comes late (a GC pause that
 * stopped every thread, a starved core) pushes each sample's start forward by the delay, since
 * carriers may not have run during it either, and a pause must not look like a held carrier.
 *
 * <p>Started by the first scheduler with carriers of its own.
 */
public final class CarrierWatchdog implements Runnable {
    static final long BUSY_PERIOD_MILLIS = 1;
    static final long IDLE_PERIOD_MILLIS = 10;
    static final long RESCUE_AFTER_MILLIS = 10;
    /** A run this old, with work waiting behind it, is asked to yield at its next safe point. */
    static final long YIELD_REQUEST_AFTER_MILLIS = 1;
    /** How often reactors end waits that trusted an old registration for a whole period. */
    static final long RECHECK_PERIOD_MILLIS = 100;
    private static final long BUSY_PERIOD_NANOS = TimeUnit.MILLISECONDS.toNanos(BUSY_PERIOD_MILLIS);
    private static final long IDLE_PERIOD_NANOS = TimeUnit.MILLISECONDS.toNanos(IDLE_PERIOD_MILLIS);
    private static final long RESCUE_AFTER_NANOS = TimeUnit.MILLISECONDS.toNanos(RESCUE_AFTER_MILLIS);
    private static final long YIELD_REQUEST_AFTER_NANOS = TimeUnit.MILLISECONDS.toNanos(YIELD_REQUEST_AFTER_MILLIS);
    private static final CopyOnWriteArrayList<Carriers> SCHEDULERS = new CopyOnWriteArrayList<>();
    private static volatile LongRunObserver OBSERVER;
    private static final AtomicBoolean STARTED = new AtomicBoolean();

    /** Per carrier: the run count last seen, when it was first seen, and whether that run was reported. */
    private static final class Sample {
        long runs = -1;
        long since;
        boolean reported;
        /** Whether this run was asked to yield; a handoff waits until one look after the request. */
        boolean yieldRequested;
        /** The carrier thread's CPU time when this run was seen the second time (handoff on only), or -1. */
        long cpuSince = -1;
        /** When {@link #cpuSince} was read. */
        long cpuSinceNanos;
        /** The continuation of the run being watched (for its event once it ends long). */
        Runnable running;
    }

    private final Map<CarrierLoop, Sample> samples = new IdentityHashMap<>();
    /** Carriers handed off whose thread still runs the fiber that held it: watched for long runs only. */
    private final List<CarrierLoop> handedOff = new ArrayList<>();
    /** When the previous look began, and when the reactors were last asked to recheck. */
    private long lastLook = System.nanoTime();
    private long lastRecheck = lastLook;

    private CarrierWatchdog() { }

    /**
     * Reports long runs to {@code observer} from now on (the blocking-call detector registers
     * itself as it starts). One observer: a later call replaces the earlier.
     */
    public static void observeLongRuns(LongRunObserver observer) {
        OBSERVER = observer;
    }

    /** Watches the carriers of a scheduler that just started them. */
    static void register(Carriers scheduler) {
        if (scheduler.loops().length == 0) {
            return;
        }
        SCHEDULERS.add(scheduler);
        if (STARTED.compareAndSet(false, true)) {
            Thread.ofPlatform().daemon().name("fiber-carrier-watchdog").start(new CarrierWatchdog());
        }
    }

    static void unregister(Carriers scheduler) {
        SCHEDULERS.remove(scheduler);
    }

    @Override
    public void run() {
        long period = IDLE_PERIOD_NANOS;
        for (;;) {
            LockSupport.parkNanos(period);
            period = look(period);
        }
    }

    /**
     * One look at every carrier, {@code period} after the previous one; returns the period until
     * the next. A method of its own so the JIT compiles it by its call count within a second; as
     * the body of {@link #run}'s endless loop it ran interpreted until on-stack replacement, which
     * at one look a millisecond took tens of seconds, at several microseconds a look.
     */
    private long look(long period) {
        LongRunObserver observer = OBSERVER;
        long threshold = observer == null ? 0 : Math.max(0, observer.thresholdNanos());
        long now = System.nanoTime();
        StateClock.tick(now);
        CarrierEvents.refresh(now);
        long late = now - lastLook - period;
        lastLook = now;
        if (late > BUSY_PERIOD_NANOS) {
            for (Sample s : samples.values()) {
                s.since += late; // unseen time: a pause, not proof that a run held its carrier
                s.cpuSinceNanos += late;
            }
        }
        if (now - lastRecheck >= TimeUnit.MILLISECONDS.toNanos(RECHECK_PERIOD_MILLIS)) {
            lastRecheck = now;
            Reactors.recheckLongWaits();
        }
        boolean busy = false;
        for (Carriers scheduler : SCHEDULERS) {
            for (CarrierLoop loop : scheduler.loops()) {
                try {
                    busy |= watch(scheduler, loop, threshold, now);
                } catch (RuntimeException | Error e) {
                    // One carrier's failure (a thread that cannot start, say) must not end the watchdog.
                    RuntimeLog.of(CarrierWatchdog.class).error("carrier watchdog: {} failed", loop.thread.getName(), e);
                }
            }
            try {
                scheduler.checkStall(now);
            } catch (RuntimeException | Error e) {
                RuntimeLog.of(CarrierWatchdog.class).error("carrier watchdog: the stall check failed", e);
            }
        }
        if (!handedOff.isEmpty()) {
            handedOff.removeIf(loop -> {
                if (!loop.thread.isAlive()) {
                    samples.remove(loop);
                    return true;
                }
                if (threshold > 0) {
                    checkLongRun(loop, sample(loop), threshold, now);
                }
                return false;
            });
        }
        if (threshold <= 0 || samples.size() > 4 * 1024) {
            samples.keySet().removeIf(loop -> !loop.thread.isAlive());
        }
        return busy ? BUSY_PERIOD_NANOS : IDLE_PERIOD_NANOS;
    }

    private Sample sample(CarrierLoop loop) {
        return samples.computeIfAbsent(loop, k -> new Sample());
    }

    /** Samples one carrier of {@code scheduler}; returns whether it is active (so the next look should come soon). */
    private boolean watch(Carriers scheduler, CarrierLoop loop, long reportThreshold, long now) {
        Sample s = sample(loop);
        long runsBefore = s.runs;
        boolean handoffOn = scheduler.handoffNanos(false) > 0;
        if (!updateRun(loop, s, now)) {
            return loop.running() != null || s.runs != runsBefore;
        }
        if (s.cpuSince < 0 && handoffOn) {
            // Read at a run's second sighting, not its first: most runs a look catches end before
            // the next, and the read is a system call. No handoff is decided before the look after this one.
            s.cpuSince = OsThreadState.cpuNanos(loop.thread);
            s.cpuSinceNanos = now;
        }
        long elapsed = now - s.since;
        boolean workWaits = loop.hasWaitingWork();
        boolean askedToYield = s.yieldRequested; // at an earlier look: the run had a chance to yield
        if (elapsed >= YIELD_REQUEST_AFTER_NANOS && workWaits && !askedToYield) {
            loop.requestYield(s.runs);
            s.yieldRequested = true;
            CarrierEvents.yieldRequested(loop.running(), loop.thread.getName(), elapsed);
        }
        boolean tookOver = false;
        if (askedToYield && elapsed >= Carriers.NATIVE_HANDOFF_NANOS && handoffOn
                && !scheduler.isTerminating() && workWaits) {
            Runnable running = loop.running();
            String carrier = loop.thread.getName(); // before the handoff renames the held thread
            boolean inNative = inNativeCode(running);
            tookOver = elapsed >= scheduler.handoffNanos(inNative) && holdsItsThread(loop, s, now, inNative)
                    && loop.handOff() != null;
            if (tookOver) {
                CarrierEvents.handedOff(running, carrier, elapsed, inNative);
            }
        }
        if (tookOver) {
            handedOff.add(loop);
        } else if (elapsed >= RESCUE_AFTER_NANOS && loop.reactor != null) {
            loop.reactor.pollIfUnattended(RESCUE_AFTER_NANOS);
        }
        if (reportThreshold > 0) {
            checkLongRun(loop, s, reportThreshold, now);
        }
        return true;
    }

    /** Updates the sample; true when the same run was already going on at an earlier sample. */
    private static boolean updateRun(CarrierLoop loop, Sample s, long now) {
        Runnable running = loop.running();
        long runs = loop.runs();
        if (running == null || runs != s.runs) {
            if (s.running != null && now - s.since >= CarrierEvents.LONG_RUN_NANOS) {
                CarrierEvents.longRun(s.running, loop.thread.getName(), now - s.since); // it ended since the last look
            }
            s.running = running;
            s.runs = runs;
            s.since = now;
            s.reported = false;
            s.yieldRequested = false;
            s.cpuSince = -1;
            return false;
        }
        return true;
    }

    /**
     * Whether the run holds the carrier's thread, rather than the thread waiting for a CPU: it
     * computed for at least half the time the run was watched (a long computation, a large file
     * read copying in the kernel), or it is in native code and the OS has it blocked (a system
     * call, a pinned park). A carrier descheduled mid-run by a busy core is neither, and a new
     * thread would not run sooner ({@link OsThreadState}).
     */
    private static boolean holdsItsThread(CarrierLoop loop, Sample s, long now, boolean inNative) {
        long cpu = OsThreadState.cpuNanos(loop.thread);
        long used = s.cpuSince < 0 || cpu < 0 ? -1 : cpu - s.cpuSince;
        return holdsItsThread(used, now - s.cpuSinceNanos, inNative, () -> OsThreadState.isBlocked(loop.thread.nativeTid));
    }

    /**
     * The rule of {@link #holdsItsThread(CarrierLoop, Sample, long, boolean)}: {@code cpuUsed} is the
     * carrier thread's CPU time over the {@code elapsed} watched nanoseconds (negative: unknown, taken
     * as held); {@code blocked} is asked only for a native top frame that did not compute.
     */
    static boolean holdsItsThread(long cpuUsed, long elapsed, boolean inNative, BooleanSupplier blocked) {
        if (cpuUsed < 0 || cpuUsed >= elapsed / 2) {
            return true;
        }
        return inNative && blocked.getAsBoolean();
    }

    /** Whether the fiber of {@code running} is inside a native method now (its top frame). */
    private static boolean inNativeCode(Runnable running) {
        if (!(running instanceof FiberTask task)) {
            return false; // a virtual thread a fiber started: no thread to sample, so the full threshold
        }
        StackTraceElement[] stack = VirtualThreadHook.mountedStackTrace(task.thread());
        return stack != null && stack.length > 0 && stack[0].isNativeMethod(); // null: the run ended meanwhile
    }

    private void checkLongRun(CarrierLoop loop, Sample s, long threshold, long now) {
        if (loop.isHandedOff()) {
            updateRun(loop, s, now);
        }
        Runnable running = loop.running();
        if (running == null || s.runs != loop.runs()) {
            return;
        }
        long elapsed = now - s.since;
        if (elapsed >= threshold && !s.reported) {
            s.reported = true;
            Thread fiber = running instanceof FiberTask task ? task.thread() : null;
            StackTraceElement[] stack = fiber != null ? VirtualThreadHook.mountedStackTrace(fiber) : new StackTraceElement[0];
            if (stack == null) {
                s.reported = false; // the fiber unmounted: that run ended after this look began
                return;
            }
            LongRunObserver observer = OBSERVER;
            try {
                observer.longRun(fiber, loop.thread.getName(), elapsed, stack);
            } catch (RuntimeException e) {
                // an observer's failure must not stop the watchdog
            }
        }
    }
}
