package io.fiber;

import io.fiber.internal.Settings;
import io.fiber.internal.carrier.Carriers;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Callable;

/**
 * The entry point: spawn fibers, sleep and yield in them.
 *
 * <pre>{@code
 * Fiber<String> f = Fibers.spawn(() -> fetch(url));   // runs on the default scheduler
 * String body = f.get();
 * }</pre>
 *
 * Fibers spawned from a fiber run on that fiber's scheduler; from any other thread, on the default
 * scheduler (one carrier loop per available processor, or {@code -Dfiber.carriers=N}; daemon
 * threads; created on first use).
 */
public final class Fibers {
    private Fibers() { }

    private static final class DefaultScheduler {
        static final FiberScheduler INSTANCE = build();

        private static FiberScheduler build() {
            FiberScheduler.Builder builder = FiberScheduler.builder().name("fiber");
            Integer carriers = Settings.CARRIERS.fromSystemProperty(); // the agent option carriers=N, or -Dfiber.carriers=N
            if (carriers != null) {
                builder.carriers(carriers);
            }
            Settings.FiberBound bound = Settings.MAX_FIBERS.fromSystemProperty(); // the agent option max-fibers=N[:policy]
            if (bound != null) {
                builder.maxLiveFibers(bound.max(), AdmissionPolicy.ofMaxWaitNanos(bound.maxWaitNanos()));
            }
            return builder.build();
        }
    }

    /** The scheduler {@link #spawn} uses from threads that are not fibers. */
    public static FiberScheduler defaultScheduler() {
        return DefaultScheduler.INSTANCE;
    }

    /** Starts a fiber on {@link FiberScheduler#current()}. */
    public static Fiber<Void> spawn(Runnable task) {
        return FiberScheduler.current().spawn(task);
    }

    /** Starts a fiber on {@link FiberScheduler#current()}; its value is {@link Fiber#get()}. */
    public static <T> Fiber<T> spawn(Callable<T> task) {
        return FiberScheduler.current().spawn(task);
    }

    /** The fiber the caller runs in, or null. */
    public static Fiber<?> current() {
        return Fiber.current();
    }

    /** True when the caller runs in a fiber. */
    public static boolean inFiber() {
        return Fiber.current() != null;
    }

    /**
     * Suspends the calling fiber (or thread) for {@code duration}; the carrier runs other fibers
     * meanwhile.
     *
     * @throws FiberTimeoutException if a {@link Timeout} of the caller passes first
     * @throws InterruptedException  if the caller is interrupted (a fiber: cancelled)
     */
    public static void sleep(Duration duration) throws InterruptedException {
        try {
            Thread.sleep(duration);
        } catch (InterruptedException e) {
            throw Timeout.interrupted(e);
        }
    }

    /**
     * Runs {@code call} on the scheduler's offload pool while the calling fiber parks, so a call that
     * would hold the carrier (a native driver, a file, a lock-holding library) leaves the carrier to
     * the other fibers: eventlet's {@code tpool.execute}, Tokio's {@code spawn_blocking}.
     *
     * <p>The call behaves as if the fiber made it: its value is returned and its exception thrown
     * as is; interrupting (cancelling) the fiber interrupts the call, and the fiber still waits for
     * the call to return, so the call never outlives it. What differs is the thread: thread locals
     * and {@code Thread.currentThread()} inside {@code call} are the pool thread's.
     *
     * <p>The pool starts a platform thread per concurrent call up to
     * {@link FiberScheduler.Builder#maxBlockingThreads} (default 256); more calls wait, parked.
     * Called from a thread that is not on one of our carriers, {@code call} just runs on the caller.
     */
    public static <T> T blocking(Callable<T> call) throws Exception {
        Objects.requireNonNull(call, "call");
        Fiber<?> fiber = Fiber.current();
        Carriers carriers = fiber != null ? fiber.scheduler().carriers() : Carriers.ofCaller();
        return carriers == null ? call.call() : carriers.offloadPool().call(call);
    }

    /** Lets the other runnable fibers of this carrier run; the caller goes to the back of the queue. */
    public static void yield() {
        Thread.yield();
    }
}
