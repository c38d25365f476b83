package io.fiber;

import io.fiber.spi.CarrierReactor;
import io.fiber.spi.LongRunObserver;
import org.slf4j.LoggerFactory;

import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

/**
 * One daemon thread that looks at every carrier each {@value #PERIOD_MILLIS} ms (Go's sysmon), with
 * two duties, both for carriers that have not come back to their loop for a while:
 * <ol>
 *   <li><b>Rescue polls.</b> A carrier polls its own reactor between fibers. A fiber pinned in a park
 *       (a native frame or class initialiser on its stack) blocks the carrier thread itself, and a
 *       fiber that computes without yielding keeps the loop from coming round. Without help the
 *       first deadlocks when the fiber waits on its own carrier's reactor, and the second delays
 *       every socket on that carrier. So each reactor that has waiters and has not been polled for a
 *       period gets a non-blocking poll here; the fibers it wakes go to the scheduler's inject queue,
 *       and another carrier (or, for a pinned fiber, its own carrier thread) runs them. An idle
 *       reactor costs one volatile read.</li>
 *   <li><b>Long runs</b> (gevent's monitor thread), when a {@link LongRunObserver} is on the class
 *       path and watching. Sampling costs the carriers nothing: each already counts the
 *       continuations it has run ({@code runs}, an opaque write after each) and knows the one it runs
 *       now ({@code current}). A count that has not moved while something runs means the same run goes
 *       on; once it has lasted the observer's threshold it is reported, once, with the fiber's stack
 *       sampled then. The first sample of a run is up to one period late, so a run is reported between
 *       threshold and threshold plus a period.</li>
 * </ol>
 * Started by the first scheduler that has something for it to do: a carrier with a reactor, or an
 * observer that can watch (the detector needs its agent).
 */
final class CarrierWatchdog implements Runnable {
    static final long PERIOD_MILLIS = 10;
    private static final long PERIOD_NANOS = TimeUnit.MILLISECONDS.toNanos(PERIOD_MILLIS);
    private static final CopyOnWriteArrayList<FiberScheduler> SCHEDULERS = new CopyOnWriteArrayList<>();
    private static final LongRunObserver OBSERVER = findObserver();
    private static final AtomicBoolean STARTED = new AtomicBoolean();

    /** Per carrier: the run count last seen, when it was first seen, and whether that run was reported. */
    private static final class Sample {
        long runs = -1;
        long since;
        boolean reported;
    }

    private final Map<CarrierLoop, Sample> samples = new IdentityHashMap<>();

    private CarrierWatchdog() { }

    private static LongRunObserver findObserver() {
        try {
            Iterator<LongRunObserver> it = ServiceLoader.load(LongRunObserver.class, CarrierWatchdog.class.getClassLoader()).iterator();
            if (!it.hasNext()) {
                return null;
            }
            LongRunObserver observer = it.next();
            return observer.thresholdNanos() < 0 ? null : observer; // negative: can never watch in this JVM
        } catch (RuntimeException | LinkageError e) {
            LoggerFactory.getLogger(CarrierWatchdog.class).warn("no long-run watchdog: its observer failed to start: {}", e.toString());
            return null;
        }
    }

    /** Watches the carriers of a scheduler that just started them. */
    static void register(FiberScheduler scheduler) {
        boolean reactors = false;
        for (CarrierLoop loop : scheduler.loops()) {
            reactors |= loop.reactor != null;
        }
        if (!reactors && OBSERVER == null) {
            return;
        }
        SCHEDULERS.add(scheduler);
        if (STARTED.compareAndSet(false, true)) {
            Thread.ofPlatform().daemon().name("fiber-carrier-watchdog").start(new CarrierWatchdog());
        }
    }

    static void unregister(FiberScheduler scheduler) {
        SCHEDULERS.remove(scheduler);
    }

    @Override
    public void run() {
        for (;;) {
            LockSupport.parkNanos(PERIOD_NANOS);
            long threshold = OBSERVER == null ? 0 : OBSERVER.thresholdNanos();
            long now = System.nanoTime();
            for (FiberScheduler scheduler : SCHEDULERS) {
                for (CarrierLoop loop : scheduler.loops()) {
                    CarrierReactor reactor = loop.reactor;
                    if (reactor != null) {
                        reactor.pollIfUnattended(PERIOD_NANOS);
                    }
                    if (threshold > 0) {
                        checkLongRun(loop, threshold, now);
                    }
                }
            }
            if (threshold <= 0 || samples.size() > 4 * 1024) {
                samples.keySet().removeIf(loop -> threshold <= 0 || !loop.thread.isAlive());
            }
        }
    }

    private void checkLongRun(CarrierLoop loop, long threshold, long now) {
        Sample s = samples.computeIfAbsent(loop, k -> new Sample());
        Runnable running = loop.running();
        long runs = loop.runs();
        if (running == null || runs != s.runs) {
            s.runs = runs;
            s.since = now;
            s.reported = false;
            return;
        }
        long elapsed = now - s.since;
        if (elapsed >= threshold && !s.reported) {
            s.reported = true;
            Thread fiber = running instanceof FiberTask task ? task.fiber.thread() : null;
            StackTraceElement[] stack = fiber != null ? fiber.getStackTrace() : new StackTraceElement[0];
            try {
                OBSERVER.longRun(fiber, loop.thread.getName(), elapsed, stack);
            } catch (RuntimeException e) {
                // an observer's failure must not stop the watchdog
            }
        }
    }
}
