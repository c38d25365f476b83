package io.fiber;

import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The runtime's deadline timer ({@link Timeout}, {@link FiberScope} deadlines): one daemon
 * platform thread. Deadlines are rare next to sleeps and socket timeouts, which the JDK times
 * itself; those move to per-carrier timers with the reactor (DESIGN.md section 4).
 */
final class Timers {
    private static final ScheduledThreadPoolExecutor TIMER;

    static {
        TIMER = new ScheduledThreadPoolExecutor(1, r -> Thread.ofPlatform().daemon().name("fiber-deadline-timer").unstarted(r));
        TIMER.setRemoveOnCancelPolicy(true);
    }

    private Timers() { }

    static ScheduledFuture<?> schedule(Runnable action, long delay, TimeUnit unit) {
        return TIMER.schedule(action, delay, unit);
    }
}
