package io.fiber.compat;

import io.fiber.FiberScheduler;

import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A {@link ThreadFactory} of fibers ({@link FiberCompat#fiberThreadFactory}): each thread is an
 * unstarted fiber of one scheduler ({@link FiberScheduler#unstartedFiber}), which the scheduler
 * counts from its {@code start()} on and rejects there once it is shut down. The factory itself
 * holds no state but the name counter, so it never needs closing.
 */
final class FiberThreadFactory implements ThreadFactory {
    private final FiberScheduler scheduler;
    private final String namePrefix;
    private final AtomicLong created = new AtomicLong();

    FiberThreadFactory(FiberScheduler scheduler, String namePrefix) {
        this.scheduler = scheduler;
        this.namePrefix = namePrefix;
    }

    @Override
    public Thread newThread(Runnable task) {
        String name = namePrefix == null ? null : namePrefix + created.incrementAndGet();
        return scheduler.unstartedFiber(name, task);
    }

    @Override
    public String toString() {
        return "FiberThreadFactory[scheduler '" + scheduler.name() + "'" + (namePrefix == null ? "" : ", names " + namePrefix + "N") + "]";
    }
}
