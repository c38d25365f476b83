package io.fiber;

import io.fiber.internal.agent.AgentHooks;
import io.fiber.internal.time.DeadlineTimer;

import java.io.IOException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * A scoped deadline, eventlet's {@code Timeout}: any blocking call under it that runs past the
 * deadline is ended, by an interrupt or, for a fiber's socket wait in its carrier's reactor, by a
 * {@link java.net.SocketTimeoutException} that leaves the socket open.
 *
 * <pre>{@code
 * try (Timeout t = Timeout.after(Duration.ofMillis(200))) {
 *     Message m = inbox.receive();     // throws FiberTimeoutException if 200 ms pass first
 * }
 * }</pre>
 *
 * <p>How it surfaces. When the deadline passes, the owning thread (a fiber or any thread) is
 * interrupted, except in a socket wait in a carrier's reactor (below). The runtime's own blocking
 * calls ({@link Fiber#join}, {@link Fibers#sleep}, channels, {@link FiberPool#spawn},
 * {@link FiberScope#join}) then throw {@link FiberTimeoutException} at the call site. JDK calls see
 * a plain interrupt ({@code InterruptedException}, {@code ClosedByInterruptException}, ...);
 * {@link #call} turns those into a {@code FiberTimeoutException}. If the body ends without having
 * reported the timeout, {@link #close()} clears the interrupt it caused and throws
 * {@code FiberTimeoutException}, so a passed deadline is never silent. A timeout never swallows a
 * cancel: if the fiber was also cancelled, its interrupt stays set after the timeout is reported,
 * even when the blocking call that reported it consumed the interrupt.
 *
 * <p>Sockets. An interrupt makes the JDK close the socket a virtual thread waits on, so what a
 * socket call gets depends on where the fiber waits:
 * <ul>
 *   <li>In its carrier's reactor (the agent is present, the fiber runs on our carriers, its carrier
 *       was not handed off): the deadline ends the wait <em>without</em> an interrupt, and the call
 *       throws {@link java.net.SocketTimeoutException} (a {@code java.io.InterruptedIOException}, as
 *       {@code SO_TIMEOUT} gives) with the deadline's message and the {@code FiberTimeoutException}
 *       as its cause. The deadline counts as reported: {@link #close()} throws nothing more, and
 *       {@link #call} throws a {@code FiberTimeoutException} whose cause is that exception. The
 *       socket stays open: a later call gets what the peer sends. This holds for reads, writes and
 *       accepts of {@code Socket}, {@code ServerSocket}, {@code DatagramSocket} and the NIO channels
 *       in blocking mode (a write may have sent part of its data; how much is not reported). A
 *       connect fails, and a failed connect closes its socket whatever ended it. A deadline that
 *       passed while the fiber was not waiting has interrupted it; a {@code Socket}'s stream or a
 *       {@code ServerSocket} that then has to wait turns that interrupt into the same
 *       {@code SocketTimeoutException}, but a blocking NIO channel operation begun with the interrupt
 *       pending is closed by the JDK before it waits ({@code ClosedByInterruptException}, as below).</li>
 *   <li>Elsewhere (no agent, a virtual thread that is not ours, a handed-off carrier): the deadline
 *       interrupts, the JDK closes the socket and the call throws {@code SocketException: Closed by
 *       interrupt} ({@code Socket}, {@code ServerSocket}, {@code DatagramSocket}) or
 *       {@code ClosedByInterruptException} (a channel, its socket adaptor). Under
 *       {@code try (Timeout t = ...)} {@link #close()} then clears the interrupt and its
 *       {@code FiberTimeoutException} is added to that exception as suppressed; {@link #call} throws
 *       a {@code FiberTimeoutException} whose cause is that exception.</li>
 *   <li>A {@code Selector.select} is interrupted everywhere: it returns early (possibly with no
 *       keys) with the interrupt set, the selector stays open, and {@link #close()} (or
 *       {@link #check()}) reports the deadline.</li>
 *   <li>A platform thread's socket read does not wake for an interrupt: it ends when data comes
 *       (or at its {@code SO_TIMEOUT}), and {@link #close()} reports the deadline.</li>
 * </ul>
 * A cancel of the fiber is an interrupt in every case, and closes the socket as the JDK does.
 *
 * <p>Timeouts nest: each thread has a stack of them, innermost first; {@link #close()} must be
 * called by the owner, innermost first (try-with-resources does exactly that). A timer that fires
 * while the owner closes is resolved by a CAS on {@link #state}: either the close cancels it, or the
 * close waits the few instructions until its interrupt has been delivered, then clears it.
 */
public final class Timeout implements AutoCloseable {
    private static final ThreadLocal<Timeout> INNERMOST = new ThreadLocal<>();
    /**
     * Timeouts open in the whole JVM. Every socket wait of a fiber asks whether its thread has one
     * ({@link #socketWaitBegins}); with none open anywhere, one volatile read answers, where the
     * thread-local lookup was a measurable share of a wait. A thread's own Timeout is counted before
     * it is in {@link #INNERMOST}, by that thread, so the thread never reads 0 while it has one.
     */
    private static final AtomicInteger OPEN = new AtomicInteger();

    private static final int ARMED = 0;
    private static final int FIRING = 1;
    private static final int FIRED = 2;
    private static final int CLOSED = 3;

    /** {@link #reactorWait}: the owner is parked in a socket wait of its carrier's reactor. */
    private static final Object WAITING = new Object();

    private final Thread owner;
    private final Duration duration;
    private final Timeout outer;
    private final AtomicInteger state = new AtomicInteger(ARMED);
    /**
     * The owner's socket wait in a reactor, one per owner (nested Timeouts share their outermost's):
     * null, {@link #WAITING}, or the Timeout that ended the wait. Set by the owner, taken by a firing
     * timer with a CAS, so a deadline either ends the wait or interrupts, never both.
     */
    private final AtomicReference<Object> reactorWait;
    private final ScheduledFuture<?> timer;
    /** Whether the deadline was delivered as an interrupt; published by {@link #state} becoming FIRED. */
    private boolean interrupted;
    private boolean reported;

    private Timeout(Duration duration) {
        this.owner = Thread.currentThread();
        this.duration = duration;
        this.outer = INNERMOST.get();
        this.reactorWait = outer == null ? new AtomicReference<>() : outer.reactorWait;
        OPEN.incrementAndGet();
        try {
            this.timer = DeadlineTimer.schedule(this::fire, duration);
        } catch (RuntimeException | Error e) {
            OPEN.decrementAndGet();
            throw e;
        }
        INNERMOST.set(this);
    }

    /** Starts a deadline {@code duration} from now for the calling thread. */
    public static Timeout after(Duration duration) {
        Objects.requireNonNull(duration, "duration");
        if (duration.isNegative()) {
            throw new IllegalArgumentException("timeout must not be negative, got " + duration);
        }
        return new Timeout(duration);
    }

    /**
     * Runs {@code body} under a deadline. If the deadline passes, the interrupt-caused exception the
     * body ends with (or none) becomes a {@link FiberTimeoutException} whose cause it is. Otherwise
     * what the body throws (exceptions and errors alike) passes through unchanged. The deadline is
     * closed however the body ends.
     */
    public static <T> T call(Duration duration, Callable<T> body) throws Exception {
        Timeout timeout = after(duration);
        T value;
        try {
            value = body.call();
        } catch (Exception e) {
            if (timeout.state.get() == ARMED) {
                timeout.close();
                throw e;
            }
            timeout.reported = true;
            timeout.close();
            if (e instanceof FiberTimeoutException) {
                throw e;
            }
            FiberTimeoutException converted = new FiberTimeoutException(duration);
            converted.initCause(e);
            throw converted;
        } catch (Error e) {
            timeout.reported = true; // the error is what the caller must see; close() only cleans up
            timeout.close();
            throw e;
        }
        timeout.close();
        return value;
    }

    /**
     * Throws {@link FiberTimeoutException} if a deadline of the calling thread has passed. The
     * runtime's blocking calls call it when interrupted; CPU-bound code may call it to honour a
     * deadline between steps.
     */
    public static void check() {
        for (Timeout t = INNERMOST.get(); t != null; t = t.outer) {
            if (t.expired() && !t.reported) {
                t.awaitFired();
                t.reported = true;
                if (t.interrupted) {
                    clearOwnInterrupt(); // the interrupt was ours; the exception reports it
                }
                throw new FiberTimeoutException(t.duration);
            }
        }
    }

    /**
     * {@link AgentHooks.SocketDeadlines#waitBegins}: the calling fiber is about to park in a socket wait of its
     * carrier's reactor. Returns null when it has no open Timeout; otherwise marks the wait, so a
     * deadline that passes during it unparks the fiber instead of interrupting it, and returns the
     * token for {@link #socketWaitEnds}.
     */
    static Object socketWaitBegins() {
        if (OPEN.get() == 0) {
            return null;
        }
        Timeout t = INNERMOST.get();
        if (t == null) {
            return null;
        }
        t.reactorWait.set(WAITING);
        return t.reactorWait;
    }

    /**
     * {@link AgentHooks.SocketDeadlines#waitEnds}: the wait {@link #socketWaitBegins} marked has ended. Returns
     * the {@link SocketTimeoutException} it must throw when a deadline of the caller passed: one that
     * ended the wait, or one that passed before it and whose interrupt is still pending (that
     * interrupt is cleared, since the JDK would close the socket for it; not when the fiber was also
     * cancelled, whose interrupt must close it). The deadline then counts as reported. Else null.
     */
    @SuppressWarnings("unchecked")
    static IOException socketWaitEnds(Object token) {
        Object ended = ((AtomicReference<Object>) token).getAndSet(null);
        Timeout t;
        if (ended instanceof Timeout woken) {
            t = woken;
        } else if (Thread.currentThread().isInterrupted()) {
            t = pendingInterrupt();
            if (t == null) {
                return null; // not our interrupt, or a cancel's too: the JDK's interrupt handling follows
            }
            Thread.interrupted();
        } else {
            return null;
        }
        t.reported = true;
        FiberTimeoutException cause = new FiberTimeoutException(t.duration);
        SocketTimeoutException e = new SocketTimeoutException(cause.getMessage());
        e.initCause(cause);
        return e;
    }

    /** The innermost unreported Timeout of the caller that interrupted it, unless the caller's fiber was also cancelled. */
    private static Timeout pendingInterrupt() {
        for (Timeout t = INNERMOST.get(); t != null; t = t.outer) {
            if (t.expired() && !t.reported) {
                t.awaitFired();
                if (!t.interrupted) {
                    continue;
                }
                Fiber<?> fiber = Fiber.current();
                return fiber != null && fiber.isCancelRequested() ? null : t;
            }
        }
        return null;
    }

    /** How many Timeouts are open in this JVM ({@link #OPEN}); for tests. */
    static int openCount() {
        return OPEN.get();
    }

    /** {@link #socketWaitBegins} and {@link #socketWaitEnds}, for the agent's hooks. */
    static AgentHooks.SocketDeadlines socketDeadlines() {
        return SocketDeadlines.INSTANCE;
    }

    private static final class SocketDeadlines implements AgentHooks.SocketDeadlines {
        static final SocketDeadlines INSTANCE = new SocketDeadlines();

        @Override
        public Object waitBegins() {
            return socketWaitBegins();
        }

        @Override
        public IOException waitEnds(Object token) {
            return socketWaitEnds(token);
        }
    }

    /** For the runtime's blocking calls: the exception to throw for an interrupt while waiting. */
    static InterruptedException interrupted(InterruptedException e) {
        check();
        return e;
    }

    /**
     * Clears the interrupt status a timeout set, unless a cancel of the fiber also asked for it: then
     * the interrupt stays set, and is set again if the blocking call that reports the timeout
     * consumed it, so the cancel still stops the fiber at its next blocking call.
     */
    private static void clearOwnInterrupt() {
        Fiber<?> fiber = Fiber.current();
        if (fiber != null && fiber.isCancelRequested()) {
            Thread.currentThread().interrupt();
        } else {
            Thread.interrupted();
        }
    }

    /**
     * The timer: ends a socket wait of the owner in its carrier's reactor without an interrupt (the
     * wait then throws {@link SocketTimeoutException}, see {@link #socketWaitEnds}); otherwise
     * interrupts the owner.
     */
    private void fire() {
        if (state.compareAndSet(ARMED, FIRING)) {
            if (reactorWait.compareAndSet(WAITING, this)) {
                LockSupport.unpark(owner);
            } else {
                interrupted = true;
                owner.interrupt();
            }
            state.set(FIRED);
        }
    }

    private void awaitFired() {
        while (state.get() == FIRING) {
            Thread.onSpinWait();
        }
    }

    /** True once the deadline has passed. */
    public boolean expired() {
        int s = state.get();
        return s == FIRING || s == FIRED;
    }

    public Duration duration() {
        return duration;
    }

    /**
     * Ends the deadline. If it passed and no blocking call reported it, clears the interrupt it
     * caused (unless the thread was also cancelled) and throws {@link FiberTimeoutException}.
     */
    @Override
    public void close() {
        if (Thread.currentThread() != owner) {
            throw new IllegalStateException("a Timeout must be closed by the thread that created it (" + owner + ")");
        }
        if (INNERMOST.get() != this) {
            if (state.get() == CLOSED) {
                return;
            }
            throw new IllegalStateException("Timeouts must be closed innermost first; an inner Timeout is still open");
        }
        if (outer == null) {
            INNERMOST.remove();
        } else {
            INNERMOST.set(outer);
        }
        OPEN.decrementAndGet();
        if (state.compareAndSet(ARMED, CLOSED)) {
            timer.cancel(false);
            return;
        }
        awaitFired();
        state.set(CLOSED);
        if (interrupted) {
            clearOwnInterrupt();
        }
        if (!reported) {
            reported = true;
            throw new FiberTimeoutException(duration);
        }
    }
}
