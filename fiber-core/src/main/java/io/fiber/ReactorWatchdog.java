package io.fiber;

import io.fiber.spi.CarrierReactor;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Polls carrier reactors their owners have left unattended (Go's sysmon, in its first duty).
 *
 * <p>A carrier polls its own reactor between fibers. Two things keep it away: a fiber pinned in a
 * park (a native frame or class initialiser on its stack) blocks the carrier thread itself, and a
 * fiber that computes for long without yielding keeps the loop from coming round. Without help, the
 * first would deadlock when the fiber waits on its own carrier's reactor, and the second would
 * delay every socket on that carrier. Every {@value #PERIOD_MILLIS} ms this daemon thread does a
 * non-blocking poll of each reactor that has waiters and has not been polled for as long; the
 * fibers it wakes go to the scheduler's inject queue and another carrier (or, for a pinned fiber,
 * its own carrier thread) runs them. Idle reactors cost it one volatile read each.
 */
final class ReactorWatchdog implements Runnable {
    static final long PERIOD_MILLIS = 10;
    private final List<CarrierReactor> reactors;

    private ReactorWatchdog(List<CarrierReactor> reactors) {
        this.reactors = reactors;
    }

    /** Starts the watchdog over a live view of the open reactors. */
    static void start(List<CarrierReactor> reactors) {
        Thread.ofPlatform().daemon().name("fiber-reactor-watchdog").start(new ReactorWatchdog(reactors));
    }

    @Override
    public void run() {
        long stale = TimeUnit.MILLISECONDS.toNanos(PERIOD_MILLIS);
        for (;;) {
            LockSupport.parkNanos(stale);
            for (CarrierReactor reactor : reactors) {
                reactor.pollIfUnattended(stale);
            }
        }
    }
}
