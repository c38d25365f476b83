package io.fiber;

import io.fiber.spi.LongRunObserver;
import org.slf4j.LoggerFactory;

import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Notices a carrier that has not switched continuations for too long (Go's sysmon, in its
 * preemption duty; gevent's monitor thread), and tells the {@link LongRunObserver}.
 *
 * <p>Sampling, with no cost on the carriers: each carrier already counts the continuations it has
 * run ({@code runs}, an opaque write after each) and knows the one it runs now ({@code current}).
 * Every {@value #PERIOD_MILLIS} ms this daemon thread reads both: a count that has not moved while
 * something runs means the same run goes on, and once it has gone on for the observer's threshold
 * the run is reported, once, with the fiber's stack sampled at that moment. The first sample of a
 * run is up to one period late, so a run is reported between threshold and threshold plus a period.
 *
 * <p>Started with the first scheduler when an observer is on the class path and can watch (the
 * detector needs its agent); it parks a period at a time and reads nothing while the observer's
 * threshold is 0 (the detector off).
 */
final class LongRunWatchdog implements Runnable {
    static final long PERIOD_MILLIS = 10;
    private static final CopyOnWriteArrayList<FiberScheduler> SCHEDULERS = new CopyOnWriteArrayList<>();
    private static final LongRunObserver OBSERVER = findObserver();

    /** Per carrier: the run count last seen, when it was first seen, and whether that run was reported. */
    private static final class Sample {
        long runs = -1;
        long since;
        boolean reported;
    }

    private final Map<CarrierLoop, Sample> samples = new IdentityHashMap<>();

    private LongRunWatchdog() { }

    private static LongRunObserver findObserver() {
        LongRunObserver observer;
        try {
            Iterator<LongRunObserver> it = ServiceLoader.load(LongRunObserver.class, LongRunWatchdog.class.getClassLoader()).iterator();
            if (!it.hasNext()) {
                return null;
            }
            observer = it.next();
            if (observer.thresholdNanos() < 0) {
                return null; // can never watch in this JVM (the detector without its agent)
            }
        } catch (RuntimeException | LinkageError e) {
            LoggerFactory.getLogger(LongRunWatchdog.class).warn("no long-run watchdog: its observer failed to start: {}", e.toString());
            return null;
        }
        Thread.ofPlatform().daemon().name("fiber-long-run-watchdog").start(new LongRunWatchdog());
        return observer;
    }

    static void register(FiberScheduler scheduler) {
        if (OBSERVER != null && scheduler.carrierCount() > 0) {
            SCHEDULERS.add(scheduler);
        }
    }

    static void unregister(FiberScheduler scheduler) {
        SCHEDULERS.remove(scheduler);
    }

    @Override
    public void run() {
        for (;;) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(PERIOD_MILLIS));
            long threshold = OBSERVER.thresholdNanos();
            if (threshold <= 0) {
                samples.clear();
                continue;
            }
            long now = System.nanoTime();
            for (FiberScheduler scheduler : SCHEDULERS) {
                for (CarrierLoop loop : scheduler.loops()) {
                    check(loop, threshold, now);
                }
            }
            if (samples.size() > 4 * 1024) {
                samples.keySet().removeIf(loop -> !loop.thread.isAlive());
            }
        }
    }

    private void check(CarrierLoop loop, long threshold, long now) {
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
