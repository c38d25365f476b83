package io.fiber;

import io.fiber.internal.carrier.Carriers;
import io.fiber.internal.time.CarrierTimers;
import io.fiber.internal.time.DeadlineTimer;

import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * Structured concurrency: fibers forked in a scope do not outlive it.
 *
 * <pre>{@code
 * try (FiberScope scope = FiberScope.open(Duration.ofSeconds(2))) {
 *     Fiber<User> user = scope.fork(() -> loadUser(id));
 *     Fiber<List<Order>> orders = scope.fork(() -> loadOrders(id));
 *     scope.join();                        // all done, or the first failure rethrown
 *     return render(user.get(), orders.get());
 * }
 * }</pre>
 *
 * <p>Rules. {@link #join()} waits until every forked fiber has ended. The first fiber to fail
 * cancels all the others, and once they have ended {@code join()} throws a {@link FiberException}
 * with that failure as its cause. If the optional deadline passes first, every fiber is cancelled
 * and {@code join()} throws {@link FiberTimeoutException}. {@link #close()} cancels whatever is still
 * running and waits for it, so no fiber outlives the block, even when the owner leaves it by an
 * exception. Only the thread that opened the scope may join or close it; any fiber may fork into it
 * while it is open.
 *
 * <p>Bookkeeping. {@code pending} counts forked fibers that have not ended; it is incremented
 * before the spawn and decremented by the fiber's completion callback, so it never reaches zero
 * while a fork is in flight. A fiber is added to {@code running} before {@code cancelling} is read,
 * and {@code cancelling} is set before {@code running} is scanned, so a fork racing a cancellation
 * is always cancelled by one side or the other.
 */
public final class FiberScope implements AutoCloseable {
    private final FiberScheduler scheduler;
    /** Where forks go when the scope was opened for a group; null: the forking fiber's group, if any. */
    private final FiberGroup group;
    private final Thread owner;
    private final Duration deadline;
    private final Future<?> deadlineTimer;
    private final Set<Fiber<?>> running = ConcurrentHashMap.newKeySet();
    private final AtomicInteger pending = new AtomicInteger();
    private final AtomicReference<Throwable> firstFailure = new AtomicReference<>();
    private volatile boolean cancelling;
    private volatile boolean deadlinePassed;
    private volatile boolean closed;

    private FiberScope(FiberScheduler scheduler, FiberGroup group, Duration deadline) {
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
        this.group = group;
        this.owner = Thread.currentThread();
        this.deadline = deadline;
        this.deadlineTimer = deadline == null ? null : scheduleDeadline(deadline);
    }

    /**
     * Opened by a fiber of this scope's scheduler: the deadline is a timer of the owner's carrier,
     * which cancels the forks and wakes the owner from that carrier, so their wakeups go to its own
     * queue. From the runtime's deadline thread they went to the inject queue's lane of work under
     * way, behind whatever the carriers had moved there (the overflow of a fiber's burst of spawns:
     * hundreds of milliseconds past the deadline). Interrupting a fiber from the carrier thread takes
     * the fiber's interrupt lock, which the JDK never lets a virtual thread hold while unmounted, so
     * the carrier cannot wait on a fiber that needs it (docs/design.md section 2). Not a fiber of its
     * own: that would count in the scheduler's spawned fibers.
     */
    private Future<?> scheduleDeadline(Duration deadline) {
        CarrierTimers timers = Carriers.ofCaller() == scheduler.carriers() ? Carriers.timersOfCaller() : null;
        if (timers == null) {
            return DeadlineTimer.schedule(this::deadlinePassed, deadline);
        }
        long nanos;
        try {
            nanos = deadline.toNanos();
        } catch (ArithmeticException tooLong) {
            nanos = Long.MAX_VALUE;
        }
        return timers.schedule(this::deadlinePassed, nanos);
    }

    /** A scope whose fibers run on {@link FiberScheduler#current()}. */
    public static FiberScope open() {
        return new FiberScope(FiberScheduler.current(), null, null);
    }

    /** A scope that cancels its fibers when {@code deadline} passes. */
    public static FiberScope open(Duration deadline) {
        return open(FiberScheduler.current(), deadline);
    }

    /** A scope on a given scheduler; {@code deadline} may be null for none. */
    public static FiberScope open(FiberScheduler scheduler, Duration deadline) {
        checkDeadline(deadline);
        return new FiberScope(scheduler, null, deadline);
    }

    /**
     * A scope whose forks are fibers of {@code group} (on its scheduler), wherever they are forked
     * from; {@code deadline} may be null for none. Otherwise a fork joins the group of the fiber that
     * forks it: for a fiber of a serial lane, the lane, where the forks would start only after it ends.
     */
    public static FiberScope open(FiberGroup group, Duration deadline) {
        Objects.requireNonNull(group, "group");
        checkDeadline(deadline);
        return new FiberScope(group.scheduler(), group, deadline);
    }

    private static void checkDeadline(Duration deadline) {
        if (deadline != null && deadline.isNegative()) {
            throw new IllegalArgumentException("deadline must not be negative, got " + deadline);
        }
    }

    public Fiber<Void> fork(Runnable task) {
        Objects.requireNonNull(task, "task");
        return fork(() -> {
            task.run();
            return null;
        });
    }

    /**
     * Starts a fiber in this scope.
     *
     * @throws IllegalStateException if the scope is closed
     */
    public <T> Fiber<T> fork(Callable<T> task) {
        Objects.requireNonNull(task, "task");
        if (closed) {
            throw new IllegalStateException("cannot fork: the FiberScope is closed");
        }
        pending.incrementAndGet();
        Fiber<T> fiber;
        try {
            fiber = group != null ? group.spawn(task) : scheduler.spawn(task);
        } catch (RuntimeException | Error e) {
            forkEnded();
            throw e;
        }
        running.add(fiber);
        fiber.onComplete(() -> fiberEnded(fiber));
        if (cancelling) {
            fiber.cancel();
        }
        return fiber;
    }

    private void fiberEnded(Fiber<?> fiber) {
        running.remove(fiber);
        if (fiber.isFailed() && firstFailure.compareAndSet(null, fiber.failure())) {
            cancelAll();
        }
        forkEnded();
    }

    private void forkEnded() {
        if (pending.decrementAndGet() == 0 || cancelling) {
            LockSupport.unpark(owner);
        }
    }

    private void deadlinePassed() {
        deadlinePassed = true;
        cancelAll();
        LockSupport.unpark(owner);
    }

    private void cancelAll() {
        cancelling = true;
        for (Fiber<?> fiber : running) {
            fiber.cancel();
        }
    }

    /**
     * Waits until every forked fiber has ended.
     *
     * @throws FiberException        if a fiber failed (the first failure is the cause)
     * @throws FiberTimeoutException if the scope's deadline passed (or a {@link Timeout} of the owner)
     * @throws InterruptedException  if the owner was interrupted; the fibers keep running until
     *                               {@link #close()}
     * @throws IllegalStateException if the owner, a fiber of a serial lane, holds the lane while a fork
     *                               waits in line for it (forked into the lane, they start only after
     *                               the owner ends): open the scope for another group instead
     */
    public void join() throws InterruptedException {
        checkOwner("join");
        for (Fiber<?> fiber : running) {
            fiber.refuseToWaitForever("FiberScope.join");
        }
        while (pending.get() > 0) {
            LockSupport.park(this);
            if (Thread.interrupted()) {
                throw Timeout.interrupted(new InterruptedException());
            }
        }
        Throwable failure = firstFailure.get();
        if (failure != null) {
            throw new FiberException("a fiber of the scope failed: " + failure, failure);
        }
        if (deadlinePassed) {
            throw new FiberTimeoutException(deadline);
        }
    }

    /** Cancels the fibers still running and waits for them to end (uninterruptibly). Idempotent. */
    @Override
    public void close() {
        checkOwner("close");
        closed = true;
        if (deadlineTimer != null) {
            deadlineTimer.cancel(false);
        }
        if (pending.get() > 0) {
            cancelAll();
        }
        boolean interrupted = false;
        while (pending.get() > 0) {
            LockSupport.park(this);
            if (Thread.interrupted()) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private void checkOwner(String what) {
        if (Thread.currentThread() != owner) {
            throw new IllegalStateException(what + "() must be called by the thread that opened the scope (" + owner + ")");
        }
    }
}
