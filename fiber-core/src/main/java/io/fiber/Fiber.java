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
    private static final VarHandle OUTCOME;
    private static final byte LIVE = 0;
    private static final byte CANCEL_REQUESTED = 1;
    private static final byte COMPLETED = 2;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            CONTROL = l.findVarHandle(Body.class, "control", byte.class);
            OUTCOME = l.findVarHandle(Body.class, "outcome", Object.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private record Failure(Throwable cause) { }
    private record Cancelled(Throwable cause) { }
    private static final Object NULL_VALUE = new Object();

    /** A completion callback, in a Treiber stack kept in the outcome's place until the outcome is known. */
    private record Callback(Runnable action, Callback next) { }

    /** Everything this fiber is, in its one internal object: this class is a handle on it (see {@link Body}). */
    private final Body body;

    /** A fiber of {@code group} (null: none), which is one of {@code scheduler}'s; see {@link FiberTask}'s constructor for {@code asThread}. */
    Fiber(FiberScheduler scheduler, Object task, boolean asThread, Group group) {
        this.body = new Body(this, scheduler.carriers(), task, asThread, group);
    }

    /** The fiber's internal object: the carriers' task and the body its thread runs. */
    Body body() {
        return body;
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

    /** In the fallback mode, the thread made for the body; on carriers, making the thread bound it. */
    void bind(Thread thread) {
        if (!usesOwnCarriers()) {
            body.bind(thread);
        }
    }

    private boolean usesOwnCarriers() {
        return body.carriers().count() > 0;
    }

    /**
     * A fiber's one internal object (docs/design.md section 1, "What a fiber costs in memory"): the
     * carriers' {@link FiberTask} (the fiber's executor, its queue entry, its place among the live
     * fibers), the {@link Runnable} its virtual thread runs, and its outcome. Every fiber is kept
     * until it is joined, and each young collection during a burst of spawns copies it, so a fiber
     * adds two objects to the JDK's thread: this, and the {@link Fiber} handle of one field. The
     * handle stays a separate object because what the JDK needs of this one (an {@code Executor}'s
     * {@code execute}, a {@code run()}) would be public on {@code Fiber} if it were the same object
     * or extended the same internal class.
     *
     * <p>{@link #run} is both: the carriers call it to run the queued continuation, on a carrier (or
     * pool) thread; the fiber's virtual thread calls it as its task, on that virtual thread. The
     * calling thread tells them apart.
     *
     * <p>The body: the task, then the outcome. Every parked fiber keeps the frames under its task in
     * its stack chunk on the heap, so this frame is the only one of ours there and is kept small: a
     * class of its own rather than a method reference (which adds a hidden frame), the task called
     * directly, and everything before and after it in methods that have returned or not yet begun
     * while the task runs. In the fallback mode (JDK scheduler) the task runs bound to
     * {@link #CURRENT}, one frame deeper.
     */
    static final class Body extends FiberTask {
        /** A {@code Callable<T>}, or a {@code Runnable} for a {@code Fiber<Void>} (no wrapper allocated per spawn). */
        private final Object task;
        /** LIVE, then CANCEL_REQUESTED or COMPLETED, whichever CAS wins. */
        private volatile byte control;
        /**
         * Null, or the completion callbacks ({@link Callback}), until the outcome replaces them: the
         * value ({@link #NULL_VALUE} for null), a {@link Failure} or a {@link Cancelled}. A user's
         * value is never a {@code Callback}, a private type, so one field holds both.
         */
        private volatile Object outcome;

        Body(Fiber<?> fiber, Carriers carriers, Object task, boolean asThread, Group group) {
            super(fiber, carriers, asThread, group);
            this.task = task;
        }

        @Override
        public void run() {
            if (Thread.currentThread() != thread()) {
                super.run(); // the queued continuation, run by a carrier
                return;
            }
            if (control == CANCEL_REQUESTED) { // a plain volatile read: VarHandle code inlined here would widen the frame
                complete(new Cancelled(null));
                return;
            }
            Object value = null;
            Throwable failure = null;
            try {
                if (carriers().count() == 0) {
                    value = callBound();
                } else if (task instanceof Callable<?> callable) {
                    value = callable.call();
                } else {
                    ((Runnable) task).run();
                }
            } catch (Throwable t) {
                failure = t;
            }
            finish(value, failure);
        }

        /** The body's end: the outcome, unless a cancel won the race, then the callbacks. Too large for C1 to inline into the body. */
        private void finish(Object value, Throwable failure) {
            if (failure != null && asThread()) {
                dispatchUncaught(failure);
            }
            Object result = failure != null ? new Failure(failure) : value == null ? NULL_VALUE : value;
            complete(CONTROL.compareAndSet(this, LIVE, COMPLETED) ? result : new Cancelled(failure));
        }

        /** What the JVM does with a thread's uncaught exception; an exception of the handler itself is ignored, as there. */
        private void dispatchUncaught(Throwable failure) {
            Thread thread = thread();
            try {
                thread.getUncaughtExceptionHandler().uncaughtException(thread, failure);
            } catch (Throwable ignored) {
                // the JVM ignores it too
            }
        }

        /** The fallback mode's task, bound to {@link #CURRENT}. */
        private Object callBound() throws Exception {
            return ScopedValue.where(CURRENT, (Fiber<?>) owner()).call(this::callTask);
        }

        private Object callTask() throws Exception {
            if (task instanceof Callable<?> callable) {
                return callable.call();
            }
            ((Runnable) task).run();
            return null;
        }

        private void complete(Object result) {
            Object waiting = OUTCOME.getAndSet(this, result);
            for (Callback c = (Callback) waiting; c != null; c = c.next) {
                c.action.run();
            }
            carriers().finished(this);
        }
    }

    /** The fiber's group, or null. */
    FiberGroup group() {
        Group group = body.group();
        return group == null ? null : (FiberGroup) group.owner();
    }

    /** The spawn failed after the fiber was registered: finish it so nothing waits for it forever. */
    void failToStart(Throwable t) {
        CONTROL.set(body, COMPLETED);
        body.complete(new Failure(t));
    }

    /** Whether the outcome is known: {@code outcome} is neither null nor callbacks waiting for it. */
    private static boolean known(Object outcome) {
        return outcome != null && !(outcome instanceof Callback);
    }

    /**
     * Runs {@code action} once the outcome is known: on the finishing fiber, or at once on the
     * caller if the fiber already finished. Must not block.
     */
    void onComplete(Runnable action) {
        for (;;) {
            Object head = OUTCOME.getVolatile(body);
            if (known(head)) {
                action.run();
                return;
            }
            if (OUTCOME.compareAndSet(body, head, new Callback(action, (Callback) head))) {
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
        body.releaseFromLine();
        body.thread().interrupt();
    }

    /**
     * The first half of {@link #cancel}: decides the outcome (CANCELLED) without waking the fiber, for
     * a scheduler that cancels all its fibers and must decide every outcome before any of them runs on
     * (see {@link FiberScheduler#shutdownNow}).
     */
    boolean requestCancel() {
        return CONTROL.compareAndSet(body, LIVE, CANCEL_REQUESTED);
    }

    boolean isCancelRequested() {
        return (byte) CONTROL.getVolatile(body) == CANCEL_REQUESTED;
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
            body.thread().join();
        } catch (InterruptedException e) {
            throw Timeout.interrupted(e);
        }
    }

    /** Waits at most {@code timeout} for the fiber to end; true if it ended. */
    public boolean join(Duration timeout) throws InterruptedException {
        try {
            return body.thread().join(timeout);
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
        Object result = body.outcome; // known: the thread ends after its body completed
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
        Object result = body.outcome;
        if (!known(result)) {
            return State.RUNNING;
        }
        if (result instanceof Failure) {
            return State.FAILED;
        }
        return result instanceof Cancelled ? State.CANCELLED : State.SUCCEEDED;
    }

    public boolean isDone() {
        return known(body.outcome);
    }

    public boolean isCancelled() {
        return body.outcome instanceof Cancelled;
    }

    public boolean isFailed() {
        return body.outcome instanceof Failure;
    }

    /** The exception the fiber failed with, or null if it did not fail. */
    public Throwable failure() {
        return body.outcome instanceof Failure f ? f.cause : null;
    }

    /** The fiber's thread: a virtual thread. */
    public Thread thread() {
        return body.thread();
    }

    public String name() {
        return body.thread().getName();
    }

    public FiberScheduler scheduler() {
        return (FiberScheduler) body.carriers().owner();
    }

    /**
     * Throws instead of letting the calling fiber wait forever for this one: both of one serial lane,
     * the caller in its slot, this fiber in line for it ({@link FiberTask#waitsInLineFor}). A fiber
     * spawned from a lane's fiber joins the lane, so this is how a lane deadlocks by itself, and the
     * one such wait that is certain from the two fibers alone.
     */
    void refuseToWaitForever(String what) {
        if (body.group() == null) {
            return;
        }
        Fiber<?> caller = current();
        if (caller != null && body.waitsInLineFor(caller.body)) {
            String lane = body.group().name();
            throw new IllegalStateException(what + ": fiber " + caller.describe() + " would wait forever for fiber " + describe()
                    + ": both are in serial lane '" + lane + "', which runs one fiber at a time, and "
                    + describe() + " starts only after " + caller.describe() + " ends. A fiber spawned from a fiber of"
                    + " the lane joins the lane: spawn what the lane's fiber waits for into another group"
                    + " (group.spawn, or FiberScope.open(group, deadline) for a scope's forks), or do not wait for it in the lane");
        }
    }

    private String describe() {
        Thread thread = body.thread();
        String n = thread.getName();
        return "#" + thread.threadId() + (n.isEmpty() ? "" : " '" + n + "'");
    }

    @Override
    public String toString() {
        return "Fiber[" + describe() + ", " + state() + ", " + scheduler().name() + "]";
    }
}
