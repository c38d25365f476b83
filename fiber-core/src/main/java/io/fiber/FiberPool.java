package io.fiber;

import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.Semaphore;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Bounded concurrency, eventlet's {@code GreenPool}: at most {@code size} fibers of this pool run at
 * once, and {@link #spawn} blocks its caller while the pool is full (back pressure).
 *
 * <pre>{@code
 * try (FiberPool pool = new FiberPool(100)) {
 *     for (String url : urls) {
 *         pool.spawn(() -> fetch(url));    // waits here while 100 fetches run
 *     }
 * }                                        // close() waits for all
 * }</pre>
 *
 * A permit is taken before a fiber is spawned and given back by the fiber's completion callback,
 * after its body has ended, so the bodies running at any instant never exceed {@code size}. Waiting
 * callers are served in arrival order (a fair semaphore). The callback gives the permit back and
 * decrements {@link #running()} under the pool's lock, so once {@link #waitAll()} returns every slot
 * is free again.
 */
public final class FiberPool implements AutoCloseable {
    private final FiberScheduler scheduler;
    private final int size;
    private final Semaphore permits;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition idle = lock.newCondition();
    private int running;

    /** A pool of {@code size} on {@link FiberScheduler#current()}. */
    public FiberPool(int size) {
        this(size, FiberScheduler.current());
    }

    public FiberPool(int size, FiberScheduler scheduler) {
        if (size < 1) {
            throw new IllegalArgumentException("pool size must be at least 1, got " + size);
        }
        this.size = size;
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
        this.permits = new Semaphore(size, true);
    }

    public Fiber<Void> spawn(Runnable task) throws InterruptedException {
        Objects.requireNonNull(task, "task");
        return spawn(() -> {
            task.run();
            return null;
        });
    }

    /**
     * Starts {@code task} in a fiber once fewer than {@code size} fibers of this pool run, waiting
     * for a free slot if needed.
     *
     * @throws FiberTimeoutException if a {@link Timeout} of the caller passes while it waits
     */
    public <T> Fiber<T> spawn(Callable<T> task) throws InterruptedException {
        Objects.requireNonNull(task, "task");
        try {
            permits.acquire();
        } catch (InterruptedException e) {
            throw Timeout.interrupted(e);
        }
        changeRunning(+1);
        Fiber<T> fiber;
        try {
            fiber = scheduler.spawn(task);
        } catch (RuntimeException | Error e) {
            fiberEnded();
            throw e;
        }
        fiber.onComplete(this::fiberEnded);
        return fiber;
    }

    /** Counts the fiber out and gives its slot back in one step: a {@link #waitAll} that returns sees every slot free. */
    private void fiberEnded() {
        lock.lock();
        try {
            running--;
            permits.release();
            if (running == 0) {
                idle.signalAll();
            }
        } finally {
            lock.unlock();
        }
    }

    private void changeRunning(int delta) {
        lock.lock();
        try {
            running += delta;
            if (running == 0) {
                idle.signalAll();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Waits until no fiber of this pool runs. */
    public void waitAll() throws InterruptedException {
        lock.lock();
        try {
            while (running > 0) {
                idle.await();
            }
        } catch (InterruptedException e) {
            throw Timeout.interrupted(e);
        } finally {
            lock.unlock();
        }
    }

    /** Fibers of this pool running now. */
    public int running() {
        lock.lock();
        try {
            return running;
        } finally {
            lock.unlock();
        }
    }

    /** Slots free now: how many spawns would start without waiting. */
    public int free() {
        return permits.availablePermits();
    }

    public int size() {
        return size;
    }

    /** Waits (uninterruptibly) for every fiber of this pool to end. */
    @Override
    public void close() {
        boolean interrupted = false;
        for (;;) {
            try {
                waitAll();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
