package io.fiber.examples;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

/**
 * A closed-loop load generator for the demo's servers. Each client runs on a platform thread of its
 * own: it connects, then sends a request, waits for the answer, and sends the next, until the run
 * ends. The first part of the run is a warm-up (the JIT compiles the hot paths of client and server)
 * whose round trips are not counted; those that start in the measured part are counted and their
 * latencies recorded.
 *
 * <p>The clients are platform threads on purpose: they never run on the servers' fibers, nor on the
 * JDK's virtual-thread poller, so the server scheduler's counters describe the server alone.
 *
 * <p>A client that fails (a wrong answer, an exception) counts one error and stops; the others go on.
 */
final class LoadGenerator {

    /** One client's connection. {@link #call} makes one round trip and throws if the answer is wrong. */
    interface Client extends AutoCloseable {
        void call() throws Exception;

        @Override
        default void close() throws Exception {
        }
    }

    /**
     * What a run measured.
     *
     * @param clients    concurrent clients
     * @param roundTrips round trips started in the measured part of the run
     * @param seconds    length of the measured part
     * @param latency    percentiles of those round trips' latencies
     * @param errors     clients that failed
     * @param firstError the first failure, or null
     */
    record Result(int clients, long roundTrips, double seconds, LatencySamples.Percentiles latency,
                  long errors, String firstError) {
        double perSecond() {
            return roundTrips / seconds;
        }
    }

    private LoadGenerator() { }

    /** Runs {@code clients} clients, each made by {@code connect}, for {@code warmUp} then {@code measured}. */
    static Result run(int clients, Duration warmUp, Duration measured, Callable<Client> connect) {
        long measureFrom = System.nanoTime() + warmUp.toNanos();
        long end = measureFrom + measured.toNanos();
        List<LatencySamples> samples = new ArrayList<>();
        LongAdder errors = new LongAdder();
        AtomicReference<String> firstError = new AtomicReference<>();
        try (ExecutorService threads = Executors.newFixedThreadPool(clients,
                Thread.ofPlatform().name("load-client-", 0).daemon().factory())) {
            for (int i = 0; i < clients; i++) {
                LatencySamples mine = new LatencySamples();
                samples.add(mine);
                threads.execute(() -> {
                    try (Client client = connect.call()) {
                        for (long start = System.nanoTime(); start < end; ) {
                            client.call();
                            long done = System.nanoTime();
                            if (start >= measureFrom) {
                                mine.add(done - start);
                            }
                            start = done;
                        }
                    } catch (Exception e) {
                        errors.increment();
                        firstError.compareAndSet(null, e.toString());
                    }
                });
            }
        } // close() waits for every client to finish
        LatencySamples.Percentiles latency = LatencySamples.percentiles(samples);
        return new Result(clients, latency.count(), measured.toNanos() / 1e9, latency, errors.sum(), firstError.get());
    }
}
