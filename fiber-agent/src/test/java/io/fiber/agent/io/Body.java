package io.fiber.agent.io;

import io.fiber.Fiber;
import io.fiber.FiberScheduler;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A test's blocking code running on a thread of some {@link Kind}. The test can wait until the body
 * is blocked in a given call, act on it (close its socket, interrupt it), then take its
 * {@link Outcome}. No wait here hangs: after {@link #LIMIT} the test fails with the body thread's
 * stack and the body is interrupted.
 */
final class Body<T> {
    static final Duration LIMIT = Duration.ofSeconds(10);

    /** Where {@link Kind#FIBER} bodies run unless a test brings its own scheduler. */
    private static final FiberScheduler SCHEDULER = newScheduler("io-it", 2);

    private final Kind kind;
    private final FiberScheduler scheduler;
    private final Thread thread;
    private final Fiber<?> fiber;
    private final CompletableFuture<Outcome<T>> outcome = new CompletableFuture<>();

    private Body(Kind kind, FiberScheduler scheduler, Callable<T> code) {
        this.kind = kind;
        this.scheduler = scheduler;
        Runnable run = () -> {
            long start = System.nanoTime();
            try {
                T value = code.call();
                outcome.complete(new Outcome<>(value, null, start, System.nanoTime()));
            } catch (Throwable t) {
                outcome.complete(new Outcome<>(null, t, start, System.nanoTime()));
            }
        };
        if (kind == Kind.FIBER) {
            fiber = scheduler.spawn("io-it-body", () -> {
                run.run();
                return null;
            });
            thread = fiber.thread();
        } else {
            fiber = null;
            thread = Thread.ofVirtual().name("io-it-body").start(run);
        }
    }

    /** A scheduler of our own carriers; fails if fibers would fall back to the JDK's scheduler. */
    static FiberScheduler newScheduler(String name, int carriers) {
        FiberScheduler s = FiberScheduler.builder().carriers(carriers).name(name).build();
        assertTrue(s.usesOwnCarriers(), "fibers must run on our carriers (the agent or --add-opens opens java.lang)");
        return s;
    }

    static <T> Body<T> start(Kind kind, Callable<T> code) {
        return new Body<>(kind, kind == Kind.FIBER ? SCHEDULER : null, code);
    }

    /** A {@link Kind#FIBER} body on a scheduler of the test's own. */
    static <T> Body<T> start(FiberScheduler scheduler, Callable<T> code) {
        return new Body<>(Kind.FIBER, scheduler, code);
    }

    /** Runs {@code code} on a thread of {@code kind} and waits for its outcome. */
    static <T> Outcome<T> run(Kind kind, Callable<T> code) {
        return start(kind, code).outcome();
    }

    Thread thread() {
        return thread;
    }

    /** The body's fiber; only for {@link Kind#FIBER}. */
    Fiber<?> fiber() {
        if (fiber == null) {
            throw new IllegalStateException("a " + kind + " body has no fiber");
        }
        return fiber;
    }

    /**
     * Waits until the body is parked (WAITING or TIMED_WAITING, the state of a virtual thread blocked
     * on a socket) inside a frame whose {@code Class.method} contains {@code frame}, e.g.
     * {@code "Socket$SocketInputStream.read"}. Returns the body itself, for chaining.
     */
    Body<T> awaitBlockedIn(String frame) {
        long deadline = System.nanoTime() + LIMIT.toNanos();
        for (;;) {
            Thread.State state = thread.getState();
            if ((state == Thread.State.WAITING || state == Thread.State.TIMED_WAITING) && inFrame(frame)) {
                return this;
            }
            if (outcome.isDone()) {
                Outcome<T> o = outcome.join();
                fail("the body ended before blocking in " + frame + ": " + (o.thrown() != null ? o.thrown() : o.returned()),
                        o.thrown());
            }
            if (System.nanoTime() > deadline) {
                hung("did not block in " + frame);
            }
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                fail("interrupted while waiting for the body to block");
            }
        }
    }

    private boolean inFrame(String frame) {
        for (StackTraceElement e : thread.getStackTrace()) {
            if ((e.getClassName() + "." + e.getMethodName()).contains(frame)) {
                return true;
            }
        }
        return false;
    }

    /** The body's outcome; fails with a thread dump if it does not end within {@link #LIMIT}. */
    Outcome<T> outcome() {
        try {
            return outcome.get(LIMIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            return hung("did not end");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return fail("interrupted while waiting for the body");
        } catch (ExecutionException e) {
            throw new AssertionError("the outcome is never completed exceptionally", e);
        }
    }

    private <R> R hung(String what) {
        String dump = dump();
        System.err.println(dump);
        thread.interrupt();
        return fail("the " + kind + " body " + what + " within " + LIMIT.toSeconds() + " s\n" + dump);
    }

    private String dump() {
        StringBuilder sb = new StringBuilder(thread.toString()).append(' ').append(thread.getState());
        for (StackTraceElement e : thread.getStackTrace()) {
            sb.append("\n\tat ").append(e);
        }
        if (fiber != null) {
            sb.append('\n').append(scheduler.stats());
        }
        return sb.toString();
    }
}
