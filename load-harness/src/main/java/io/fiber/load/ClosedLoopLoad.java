package io.fiber.load;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A closed-loop load run: each {@link ClientLoop} on a platform thread of its own makes round trips
 * one after another, first for a warm-up (the JIT compiles the hot paths of client and server) whose
 * round trips are not counted, then for a measured period whose completed round trips are counted
 * and their latencies recorded in a {@link LatencyHistogram}.
 *
 * <p>The client threads are platform threads on purpose: they never run on the fibers, the virtual
 * threads or the pollers of the server they load, so what the server's side counts describes the
 * server alone.
 *
 * <p>A client that fails (a wrong answer, an exception) stops and is counted; with
 * {@link OnFailure#STOP_THE_RUN} its failure also ends the run at once, since one wrong echo makes a
 * benchmark's figures worthless, whereas with {@link OnFailure#CARRY_ON} the other clients go on and
 * the run reports how many failed. At the end the run waits for every client's round trip in flight;
 * a client still waiting for its answer after {@link #STOP_GRACE} is freed with
 * {@link ClientLoop#abort} and counted as failed: the server stopped answering.
 *
 * <p>The clients belong to the caller, who closes them after the run: a benchmark may keep its
 * connections open past the end, to read the server's memory with all of them up.
 */
public final class ClosedLoopLoad {
    /** How long the end of a run waits for a client's round trip in flight before it aborts the client. */
    public static final Duration STOP_GRACE = Duration.ofSeconds(10);

    /** What a client's failure does to the run. */
    public enum OnFailure {
        /** The run ends at the first failure. */
        STOP_THE_RUN,
        /** The failed client stops, the others go on to the end. */
        CARRY_ON
    }

    /** Told when the measured period starts and when it has ended, from the thread that runs the load. */
    public interface Phases {
        Phases NONE = new Phases() { };

        default void measuring() { }

        default void measured() { }
    }

    /**
     * What a run measured.
     *
     * @param clients       client loops, one thread each
     * @param roundTrips    round trips completed in the measured period
     * @param seconds       how long the measured period lasted
     * @param latency       the latencies of those round trips
     * @param failedClients clients that failed
     * @param firstFailure  the first failure, or null
     */
    public record Result(int clients, long roundTrips, double seconds, LatencyHistogram latency, int failedClients,
                         Throwable firstFailure) {
        public double roundTripsPerSecond() {
            return roundTrips / seconds;
        }
    }

    private ClosedLoopLoad() { }

    /** Runs {@code clients} for {@code warmUp}, then {@code measured}; returns early only on a failure that stops the run. */
    public static Result run(List<? extends ClientLoop> clients, Duration warmUp, Duration measured, OnFailure onFailure,
                             Phases phases) throws InterruptedException {
        return run(clients, warmUp, measured, onFailure, phases, STOP_GRACE);
    }

    static Result run(List<? extends ClientLoop> clients, Duration warmUp, Duration measured, OnFailure onFailure,
                      Phases phases, Duration stopGrace) throws InterruptedException {
        RunControl control = new RunControl(onFailure);
        List<Thread> threads = new ArrayList<>();
        double seconds = 0;
        try {
            for (ClientLoop client : clients) {
                threads.add(Thread.ofPlatform().name("load-client-" + threads.size()).daemon().start(() -> client.run(control)));
            }
            if (!control.endedByFailureWithin(warmUp)) {
                control.startMeasuring();
                long start = System.nanoTime();
                phases.measuring();
                boolean cut = control.endedByFailureWithin(measured);
                control.stop();
                seconds = (System.nanoTime() - start) / 1e9;
                if (!cut) {
                    phases.measured();
                }
            }
        } finally {
            control.stop();
            joinOrAbort(threads, clients, stopGrace, control);
        }
        LatencyHistogram latency = new LatencyHistogram();
        long roundTrips = 0;
        for (ClientLoop client : clients) {
            latency.add(client.latencies());
            roundTrips += client.roundTrips();
        }
        return new Result(clients.size(), roundTrips, seconds, latency, control.failures.get(), control.firstFailure.get());
    }

    /**
     * Waits for the client threads. One still blocked after {@code grace} (waiting for an answer that
     * does not come) is aborted, which closes what it waits on, and counted as failed.
     */
    private static void joinOrAbort(List<Thread> threads, List<? extends ClientLoop> clients, Duration grace,
                                    RunControl control) throws InterruptedException {
        long deadline = System.nanoTime() + grace.toNanos();
        for (Thread t : threads) {
            t.join(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
        }
        for (int i = 0; i < threads.size(); i++) {
            if (threads.get(i).isAlive()) {
                clients.get(i).abortQuietly();
                control.fail(new IOException("no answer for " + grace.toMillis() / 1000.0 + " s after the measured period:"
                        + " the server stopped answering"));
            }
        }
        for (Thread t : threads) {
            t.join();
        }
    }

    /** The run's phase, shared by the running thread and the client threads, and the clients' failures. */
    static final class RunControl {
        private static final int WARMING_UP = 0;
        private static final int MEASURING = 1;
        private static final int STOPPED = 2;

        private final OnFailure onFailure;
        private volatile int phase = WARMING_UP;
        private final AtomicInteger failures = new AtomicInteger();
        private final AtomicReference<Throwable> firstFailure = new AtomicReference<>();
        private final CountDownLatch failed = new CountDownLatch(1);

        RunControl(OnFailure onFailure) {
            this.onFailure = onFailure;
        }

        boolean measuring() {
            return phase == MEASURING;
        }

        boolean stopped() {
            return phase == STOPPED;
        }

        void startMeasuring() {
            phase = MEASURING;
        }

        void stop() {
            phase = STOPPED;
        }

        void fail(Throwable t) {
            failures.incrementAndGet();
            if (firstFailure.compareAndSet(null, t)) {
                failed.countDown();
            }
        }

        /** Waits {@code period}; true, early, if a client failed and that stops the run. */
        boolean endedByFailureWithin(Duration period) throws InterruptedException {
            if (onFailure == OnFailure.STOP_THE_RUN) {
                return failed.await(period.toNanos(), TimeUnit.NANOSECONDS);
            }
            TimeUnit.NANOSECONDS.sleep(period.toNanos());
            return false;
        }
    }
}
