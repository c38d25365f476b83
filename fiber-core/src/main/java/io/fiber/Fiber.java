package io.fiber;

import io.fiber.internal.carrier.Carriers;
import io.fiber.internal.carrier.FiberTask;
import io.fiber.internal.group.Group;
import io.fiber.internal.jdk.VirtualThreadHook;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;

/**
 * A running or finished fiber: a handle with a result, like a {@link java.util.concurrent.Future},
 * and the fiber's own {@link Thread} (a virtual thread), so thread locals, locks, interrupts, stack
 * traces, debuggers and thread dumps all work as for any thread.
 *
 * <p>Outcome. A fiber ends in exactly one of {@link State#SUCCEEDED}, {@link State#FAILED} or
 * {@link State#CANCELLED}. {@link #cancel()} and the fiber's own completion race through one CAS on
 * a state word: if the cancel wins, the outcome is CANCELLED whatever the body then does (as with
 * {@code FutureTask}), and {@link #join()} still waits for the body to actually end.
 */
public final class Fiber<T> {
    /** The states a fiber goes through; RUNNING until its body ends. */
    public enum State { RUNNING, SUCCEEDED, FAILED, CANCELLED }

    private static final ScopedValue<Fiber<?>> CURRENT = ScopedValue.newInstance();
    private static final VarHandle CONTROL;
    private static final VarHandle CALLBACKS;
    private static final int LIVE = 0;
    private static final int CANCEL_REQUESTED = 1;
    private static final int COMPLETED = 2;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            CONTROL = l.findVarHandle(Fiber.class, "control", int.class);
            CALLBACKS = l.findVarHandle(Fiber.class, "callbacks", Callback.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private record Failure(Throwable cause) { }
    private record Cancelled(Throwable cause) { }
    private static final Object NULL_VALUE = new Object();

    /** A completion callback, in a Treiber stack; {@link #DONE} marks that callbacks have run. */
    private record Callback(Runnable action, Callback next) { }
    private static final Callback DONE = new Callback(null, null);

    private final FiberScheduler scheduler;
    /** What the carriers know of this fiber: its executor, queue entry and place among the live fibers. */
    private final FiberTask fiberTask;
    /** A {@code Callable<T>}, or a {@code Runnable} for a {@code Fiber<Void>} (no wrapper allocated per spawn). */
    private final Object task;
    /** A fiber handed out as a plain thread ({@link FiberScheduler#unstartedFiber}): its failure also goes to the thread's handler. */
    private final boolean failsLikeAThread;
    private Thread thread;
    private volatile int control;
    private volatile Object outcome;
    @SuppressWarnings("unused") private volatile Callback callbacks;
    Fiber(FiberScheduler scheduler, Object task, boolean failsLikeAThread) {
        this(scheduler, task, failsLikeAThread, null);
    }

    /** A fiber of {@code group} (null: none), which is one of {@code scheduler}'s. */
    Fiber(FiberScheduler scheduler, Object task, boolean failsLikeAThread, Group group) {
        this.scheduler = scheduler;
        this.task = task;
        this.failsLikeAThread = failsLikeAThread;
        this.fiberTask = scheduler.carriers().newTask(this, failsLikeAThread, group);
    }

    FiberTask fiberTask() {
        return fiberTask;
    }

    /**
     * The fiber the caller runs in, or null when the caller is not a fiber. On our carriers the
     * carrier knows which fiber's task it runs; in the fallback mode (JDK scheduler) the
     * fiber's body is bound to a scoped value instead.
     */
    public static Fiber<?> current() {
        if (!Thread.currentThread().isVirtual()) {
            return null;
        }
        if (VirtualThreadHook.isAvailable()) {
            FiberTask task = Carriers.currentTask();
            return task == null ? null : (Fiber<?>) task.owner();
        }
        return CURRENT.isBound() ? CURRENT.get() : null;
    }

    void bind(Thread thread) {
        this.thread = thread;
        if (!scheduler.usesOwnCarriers()) {
            fiberTask.bind(thread); // on carriers, making the thread bound it
        }
    }

    /** What the fiber's virtual thread runs. */
    Runnable body() {
        return new Body(this);
    }

    /**
     * The task, then the outcome. Every parked fiber keeps the frames under its task in its stack
     * chunk on the heap, so this frame is the only one of ours there and is kept small: a class of
     * its own rather than a method reference (which adds a hidden frame), the task called directly,
     * and everything before and after it in methods that have returned or not yet begun while the
     * task runs. In the fallback mode (JDK scheduler) the task runs bound to {@link #CURRENT}, one
     * frame deeper.
     */
    private static final class Body implements Runnable {
        private final Fiber<?> fiber;

        Body(Fiber<?> fiber) {
            this.fiber = fiber;
        }

        @Override
        public void run() {
            Fiber<?> f = fiber;
            if (f.control == CANCEL_REQUESTED) { // a plain volatile read: VarHandle code inlined here would widen the frame
                f.complete(new Cancelled(null));
                return;
            }
            Object value = null;
            Throwable failure = null;
            try {
                if (!f.scheduler.usesOwnCarriers()) {
                    value = f.callBound();
                } else if (f.task instanceof Callable<?> callable) {
                    value = callable.call();
                } else {
                    ((Runnable) f.task).run();
                }
            } catch (Throwable t) {
                failure = t;
            }
            f.finish(value, failure);
        }
    }

    /** The body's end: the outcome, unless a cancel won the race, then the callbacks. Too large for C1 to inline into the body. */
    private void finish(Object value, Throwable failure) {
        if (failure != null && failsLikeAThread) {
            dispatchUncaught(failure);
        }
        Object result = failure != null ? new Failure(failure) : value == null ? NULL_VALUE : value;
        complete(CONTROL.compareAndSet(this, LIVE, COMPLETED) ? result : new Cancelled(failure));
    }

    /** What the JVM does with a thread's uncaught exception; an exception of the handler itself is ignored, as there. */
    private void dispatchUncaught(Throwable failure) {
        try {
            thread.getUncaughtExceptionHandler().uncaughtException(thread, failure);
        } catch (Throwable ignored) {
            // the JVM ignores it too
        }
    }

    /** The fallback mode's task, bound to {@link #CURRENT}. */
    private Object callBound() throws Exception {
        return ScopedValue.where(CURRENT, this).call(this::callTask);
    }

    /** The fiber's group, or null. */
    FiberGroup group() {
        Group group = fiberTask.group();
        return group == null ? null : (FiberGroup) group.owner();
    }

    @SuppressWarnings("unchecked")
    private T callTask() throws Exception {
        if (task instanceof Callable<?> callable) {
            return (T) callable.call();
        }
        ((Runnable) task).run();
        return null;
    }

    /** The spawn failed after the fiber was registered: finish it so nothing waits for it forever. */
    void failToStart(Throwable t) {
        CONTROL.set(this, COMPLETED);
        complete(new Failure(t));
    }

    private void complete(Object result) {
        outcome = result;
        Callback stack = (Callback) CALLBACKS.getAndSet(this, DONE);
        for (Callback c = stack; c != null && c != DONE; c = c.next) {
            c.action.run();
        }
        scheduler.fiberFinished(this);
    }

    /**
     * Runs {@code action} once the outcome is known: on the finishing fiber, or at once on the
     * caller if the fiber already finished. Must not block.
     */
    void onComplete(Runnable action) {
        for (;;) {
            Callback head = (Callback) CALLBACKS.getVolatile(this);
            if (head == DONE) {
                action.run();
                return;
            }
            if (CALLBACKS.compareAndSet(this, head, new Callback(action, head))) {
                return;
            }
        }
    }

    /**
     * Asks the fiber to stop: it is interrupted, and sees it at its next blocking call (or when it
     * checks {@link Thread#isInterrupted()}). Returns true if this call decided the outcome
     * (CANCELLED); false if the fiber had already finished or been cancelled.
     */
    public boolean cancel() {
        if (!requestCancel()) {
            return false;
        }
        wakeCancelled();
        return true;
    }

    /**
     * The second half of {@link #cancel}, once the outcome is decided: the interrupt, and a fiber
     * still waiting for a slot of its bounded group starts now, only to end ({@link FiberTask#releaseFromLine}).
     */
    void wakeCancelled() {
        fiberTask.releaseFromLine();
        thread.interrupt();
    }

    /**
     * The first half of {@link #cancel}: decides the outcome (CANCELLED) without waking the fiber, for
     * a scheduler that cancels all its fibers and must decide every outcome before any of them runs on
     * (see {@link FiberScheduler#shutdownNow}).
     */
    boolean requestCancel() {
        return CONTROL.compareAndSet(this, LIVE, CANCEL_REQUESTED);
    }

    boolean isCancelRequested() {
        return (int) CONTROL.getVolatile(this) == CANCEL_REQUESTED;
    }

    /**
     * Waits until the fiber has ended.
     *
     * @throws IllegalStateException if the caller is a fiber of a serial lane that holds the lane while
     *                               this fiber waits in line for it: this fiber starts only after the
     *                               caller ends, so the caller would wait forever
     */
    public void join() throws InterruptedException {
        refuseToWaitForever("Fiber.join");
        try {
            thread.join();
        } catch (InterruptedException e) {
            throw Timeout.interrupted(e);
        }
    }

    /** Waits at most {@code timeout} for the fiber to end; true if it ended. */
    public boolean join(Duration timeout) throws InterruptedException {
        try {
            return thread.join(timeout);
        } catch (InterruptedException e) {
            throw Timeout.interrupted(e);
        }
    }

    /**
     * Waits for the fiber, then returns its value.
     *
     * @throws IllegalStateException as {@link #join()}: the caller holds the serial lane this fiber waits for
     * @throws FiberException        if the fiber failed; the fiber's exception is the cause
     * @throws CancellationException if the fiber was cancelled
     * @throws InterruptedException  if the caller was interrupted while waiting
     */
    @SuppressWarnings("unchecked")
    public T get() throws InterruptedException {
        join();
        Object result = outcome;
        if (result instanceof Failure f) {
            throw new FiberException("fiber " + describe() + " failed: " + f.cause, f.cause);
        }
        if (result instanceof Cancelled c) {
            CancellationException e = new CancellationException("fiber " + describe() + " was cancelled");
            if (c.cause != null) {
                e.initCause(c.cause);
            }
            throw e;
        }
        return result == NULL_VALUE ? null : (T) result;
    }

    public State state() {
        Object result = outcome;
        if (result == null) {
            return State.RUNNING;
        }
        if (result instanceof Failure) {
            return State.FAILED;
        }
        return result instanceof Cancelled ? State.CANCELLED : State.SUCCEEDED;
    }

    public boolean isDone() {
        return outcome != null;
    }

    public boolean isCancelled() {
        return outcome instanceof Cancelled;
    }

    public boolean isFailed() {
        return outcome instanceof Failure;
    }

    /** The exception the fiber failed with, or null if it did not fail. */
    public Throwable failure() {
        return outcome instanceof Failure f ? f.cause : null;
    }

    /** The fiber's thread: a virtual thread. */
    public Thread thread() {
        return thread;
    }

    public String name() {
        return thread.getName();
    }

    public FiberScheduler scheduler() {
        return scheduler;
    }

    /**
     * Throws instead of letting the calling fiber wait forever for this one: both of one serial lane,
     * the caller in its slot, this fiber in line for it ({@link FiberTask#waitsInLineFor}). A fiber
     * spawned from a lane's fiber joins the lane, so this is how a lane deadlocks by itself, and the
     * one such wait that is certain from the two fibers alone.
     */
    void refuseToWaitForever(String what) {
        if (fiberTask.group() == null) {
            return;
        }
        Fiber<?> caller = current();
        if (caller != null && fiberTask.waitsInLineFor(caller.fiberTask)) {
            String lane = fiberTask.group().name();
            throw new IllegalStateException(what + ": fiber " + caller.describe() + " would wait forever for fiber " + describe()
                    + ": both are in serial lane '" + lane + "', which runs one fiber at a time, and "
                    + describe() + " starts only after " + caller.describe() + " ends. A fiber spawned from a fiber of"
                    + " the lane joins the lane: spawn what the lane's fiber waits for into another group"
                    + " (group.spawn, or FiberScope.open(group, deadline) for a scope's forks), or do not wait for it in the lane");
        }
    }

    private String describe() {
        String n = thread.getName();
        return "#" + thread.threadId() + (n.isEmpty() ? "" : " '" + n + "'");
    }

    @Override
    public String toString() {
        return "Fiber[" + describe() + ", " + state() + ", " + scheduler.name() + "]";
    }
}
