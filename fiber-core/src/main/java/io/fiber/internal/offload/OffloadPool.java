package io.fiber.internal.offload;

import java.util.concurrent.Callable;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * A scheduler's offload pool (eventlet's {@code tpool}, Tokio's {@code spawn_blocking}): platform
 * threads that run calls which would hold a carrier, while the fiber that asked parks.
 *
 * <p>Elastic and bounded: a thread is started per call while fewer than {@code maxThreads} exist,
 * calls beyond that queue (never rejected), and a thread idle for {@value #KEEP_ALIVE_SECONDS} s
 * exits, so an idle pool holds no threads. The executor is created on the first call.
 *
 * <p>The call runs as if the fiber ran it: its value or exception (the same object) comes back, and
 * so does interruption. An interrupt of the waiting fiber (a cancel, a {@code Timeout}) is passed
 * on to the thread running the call and the fiber keeps waiting until the call returns, so no call
 * outlives its caller; the interrupt status the call leaves behind moves back to the fiber.
 */
public final class OffloadPool {
    static final long KEEP_ALIVE_SECONDS = 10;
    private final String name;
    private final int maxThreads;
    private final AtomicInteger threadIds = new AtomicInteger();
    private final AtomicLong calls = new AtomicLong();
    private volatile ThreadPoolExecutor executor;
    private volatile boolean shutdown;

    public OffloadPool(String name, int maxThreads) {
        this.name = name;
        this.maxThreads = maxThreads;
    }

    public <T> T call(Callable<T> call) throws Exception {
        OffloadedCall<T> offloaded = new OffloadedCall<>(call, Thread.currentThread());
        try {
            executor().execute(offloaded);
        } catch (RejectedExecutionException e) {
            return call.call(); // the scheduler shut down under us: run it here rather than fail it
        }
        calls.incrementAndGet();
        return offloaded.await();
    }

    /**
     * Runs a fiber's continuation on a pool thread: the fiber is remounted there for one blocking
     * call (the agent's offloaded calls). Shut down, it goes to {@code carriers} instead.
     */
    public void execute(Runnable continuation, Executor carriers) {
        try {
            executor().execute(continuation);
            calls.incrementAndGet();
        } catch (RejectedExecutionException e) {
            carriers.execute(continuation);
        }
    }

    /** Creates the executor now, so a first offload never loads classes (it may run inside class loading). */
    public void start() {
        executor();
    }

    /** Calls offloaded so far. */
    public long calls() {
        return calls.get();
    }

    /** Threads alive in the pool now. */
    public int threads() {
        ThreadPoolExecutor e = executor;
        return e == null ? 0 : e.getPoolSize();
    }

    /** Calls and remounted fibers waiting for a pool thread now. */
    public int queued() {
        ThreadPoolExecutor e = executor;
        return e == null ? 0 : e.getQueue().size();
    }

    /** Lets running calls finish; later calls run on their caller. */
    public void shutdown() {
        shutdown = true;
        ThreadPoolExecutor e = executor;
        if (e != null) {
            e.shutdown();
        }
    }

    private ThreadPoolExecutor executor() {
        ThreadPoolExecutor e = executor;
        if (e == null) {
            synchronized (this) {
                e = executor;
                if (e == null) {
                    if (shutdown) {
                        throw new RejectedExecutionException(name + " is shut down");
                    }
                    // Core size = max with core time-out: a new thread per call up to the bound
                    // (the JDK's pool queues before it grows past the core size), none when idle.
                    e = new ThreadPoolExecutor(maxThreads, maxThreads, KEEP_ALIVE_SECONDS, TimeUnit.SECONDS,
                            new LinkedBlockingQueue<>(), r -> {
                                Thread t = new Thread(r, name + "-" + threadIds.incrementAndGet());
                                t.setDaemon(true);
                                return t;
                            });
                    e.allowCoreThreadTimeOut(true);
                    executor = e;
                }
            }
        }
        return e;
    }

    /**
     * One call in flight: run by a pool thread, awaited by the parked caller. The runner field and
     * the delivery of the caller's interrupt change under this object's lock, so an interrupt reaches
     * the thread only while it runs this call, never the next call that thread picks up.
     */
    private static final class OffloadedCall<T> implements Runnable {
        private final Callable<T> call;
        private final Thread caller;
        private volatile boolean done;
        private Thread runner;
        private boolean interruptRequested;
        private boolean interruptDelivered;
        private boolean leftInterrupted;
        private T value;
        private Throwable failure;

        OffloadedCall(Callable<T> call, Thread caller) {
            this.call = call;
            this.caller = caller;
        }

        @Override
        public void run() {
            synchronized (this) {
                runner = Thread.currentThread();
                if (interruptRequested) {
                    runner.interrupt();
                    interruptDelivered = true;
                }
            }
            try {
                value = call.call();
            } catch (Throwable t) {
                failure = t;
            } finally {
                synchronized (this) {
                    runner = null;
                    leftInterrupted = Thread.interrupted(); // the pool thread goes back clean
                }
                done = true;
                LockSupport.unpark(caller);
            }
        }

        T await() throws Exception {
            if (Thread.interrupted()) {
                requestInterrupt();
            }
            while (!done) {
                LockSupport.park(this);
                if (Thread.interrupted()) {
                    requestInterrupt();
                }
            }
            synchronized (this) {
                // The call never saw the interrupt (it had already returned), or left it set: it stays the caller's.
                if (leftInterrupted || (interruptRequested && !interruptDelivered)) {
                    Thread.currentThread().interrupt();
                }
            }
            if (failure == null) {
                return value;
            }
            if (failure instanceof Exception e) {
                throw e;
            }
            if (failure instanceof Error e) {
                throw e;
            }
            throw new IllegalStateException(failure); // neither: only code that throws Throwable itself
        }

        private synchronized void requestInterrupt() {
            interruptRequested = true;
            if (runner != null && !interruptDelivered) {
                runner.interrupt();
                interruptDelivered = true;
            }
        }
    }
}
