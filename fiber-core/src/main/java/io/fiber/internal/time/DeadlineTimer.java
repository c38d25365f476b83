package io.fiber.internal.time;

import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The runtime's deadline timer: one daemon platform thread for {@code Timeout}, the deadlines of
 * {@code FiberScope}s not opened by a fiber of their scheduler (those are its carrier's timers), and
 * timers of carriers that exited. Deadlines are rare next to sleeps and socket timeouts, which the
 * JDK times itself; those move to per-carrier timers with the reactor (docs/design.md section 4).
 */
public final class DeadlineTimer {
    private static final ScheduledThreadPoolExecutor TIMER;

    static {
        TIMER = new ScheduledThreadPoolExecutor(1, r -> Thread.ofPlatform().daemon().name("fiber-deadline-timer").unstarted(r));
        TIMER.setRemoveOnCancelPolicy(true);
    }

    private DeadlineTimer() { }

    /** Runs {@code action} after {@code delay}; a delay beyond what nanoseconds can hold means never, in practice. */
    public static ScheduledFuture<?> schedule(Runnable action, Duration delay) {
        long nanos;
        try {
            nanos = delay.toNanos();
        } catch (ArithmeticException tooLong) {
            nanos = Long.MAX_VALUE;
        }
        return TIMER.schedule(action, nanos, TimeUnit.NANOSECONDS);
    }
}
