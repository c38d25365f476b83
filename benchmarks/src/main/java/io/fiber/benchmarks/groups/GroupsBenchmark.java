package io.fiber.benchmarks.groups;

import io.fiber.Fiber;
import io.fiber.FiberGroup;
import io.fiber.FiberScheduler;
import io.fiber.Fibers;
import io.fiber.benchmarks.runner.CommandLine;
import io.fiber.benchmarks.runner.Medians;
import io.fiber.load.LatencyHistogram;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Issue 19's convoy, with and without groups ({@code ./run bench groups}; benchmarks/README.md). On a
 * scheduler of 2 carriers, a latency group of fibers that each sleep 1 ms in a loop, and report how
 * late each wakeup ran (lateness: the time past the 1 ms), while a batch of 10,000 CPU-heavy fibers
 * compute in chunks and yield after each, keeping both carriers busy. Two modes, alternated round by
 * round on fresh schedulers in one JVM:
 * <ul>
 *   <li>{@code none}: no groups, as a program without them runs: a woken sleeper queues behind the
 *       batch fibers that yielded before it (the convoy);</li>
 *   <li>{@code groups}: the sleepers in a group "latency", the batch in a group "batch", both of the
 *       default weight: the sleepers use little CPU, so they re-enter ahead of the batch.</li>
 * </ul>
 * Reported per round: lateness p50 and p99 (from a {@link LatencyHistogram}: at most about 3% above
 * the true value) and max, wakeups measured, and the batch's chunks per second (the price, if any,
 * the batch pays); then the medians over rounds per mode. Run it under the agent
 * (the {@code ./run} case does), so fibers' sleeps are the carriers' own timers.
 */
public final class GroupsBenchmark {
    private static final Set<String> VALUE_OPTIONS = Set.of("--rounds", "--duration", "--warmup", "--batch", "--sleepers",
            "--chunk-micros", "--batch-weight");

    private final int batchFibers;
    private final int sleepers;
    private final long chunkIterations;
    private final int batchWeight;

    private GroupsBenchmark(int batchFibers, int sleepers, long chunkIterations, int batchWeight) {
        this.batchFibers = batchFibers;
        this.sleepers = sleepers;
        this.chunkIterations = chunkIterations;
        this.batchWeight = batchWeight;
    }

    /** One round's figures. */
    record Result(String mode, double p50Millis, double p99Millis, double maxMillis, long wakeups, double chunksPerSecond,
                  long gcPauses, long gcMillis) { }

    public static void main(String[] args) throws Exception {
        CommandLine line;
        try {
            line = CommandLine.parse(args, VALUE_OPTIONS, Set.of());
        } catch (IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            System.exit(2);
            return;
        }
        int rounds = line.integer("--rounds", 3);
        Duration duration = line.seconds("--duration", Duration.ofSeconds(5));
        Duration warmup = line.seconds("--warmup", Duration.ofSeconds(2));
        int batch = line.integer("--batch", 10_000);
        int sleepers = line.integer("--sleepers", 100);
        int chunkMicros = line.integer("--chunk-micros", 200);
        int batchWeight = line.integer("--batch-weight", FiberGroup.DEFAULT_WEIGHT);
        long iterations = calibrate(chunkMicros);
        System.out.printf("groups benchmark: 2 carriers, %,d sleepers (1 ms sleeps), %,d batch fibers (chunks of %d us = %,d iterations,"
                        + " then a yield), batch weight %d, %d rounds of %s per mode after a %s warm-up; agent %s%n",
                sleepers, batch, chunkMicros, iterations, batchWeight, rounds, duration, warmup,
                isAgentLoaded() ? "on" : "off");
        GroupsBenchmark bench = new GroupsBenchmark(batch, sleepers, iterations, batchWeight);
        bench.round("none", warmup);
        bench.round("groups", warmup);
        List<Result> results = new ArrayList<>();
        System.out.printf("%-6s %-7s %12s %12s %12s %10s %14s %12s%n", "round", "mode", "p50 ms", "p99 ms", "max ms", "wakeups",
                "batch chunks/s", "GC pauses/ms");
        for (int r = 1; r <= rounds; r++) {
            for (String mode : r % 2 == 1 ? List.of("none", "groups") : List.of("groups", "none")) {
                Result result = bench.round(mode, duration);
                results.add(result);
                System.out.printf("%-6d %-7s %12.3f %12.3f %12.3f %,10d %,14.0f %12s%n", r, mode, result.p50Millis, result.p99Millis,
                        result.maxMillis, result.wakeups, result.chunksPerSecond, result.gcPauses + "/" + result.gcMillis);
            }
        }
        System.out.println("medians over rounds:");
        for (String mode : List.of("none", "groups")) {
            List<Result> of = results.stream().filter(x -> x.mode.equals(mode)).toList();
            System.out.printf("%-6s %-7s %12.3f %12.3f %12.3f %10s %,14.0f%n", "median", mode,
                    Medians.median(of.stream().mapToDouble(Result::p50Millis).toArray()),
                    Medians.median(of.stream().mapToDouble(Result::p99Millis).toArray()),
                    Medians.median(of.stream().mapToDouble(Result::maxMillis).toArray()), "",
                    Medians.median(of.stream().mapToDouble(Result::chunksPerSecond).toArray()));
        }
    }

    private static boolean isAgentLoaded() {
        return java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .anyMatch(a -> a.startsWith("-javaagent:") && a.contains("fiber-agent"));
    }

    /** One round of {@code mode} on a fresh scheduler. */
    private Result round(String mode, Duration duration) throws Exception {
        try (FiberScheduler scheduler = FiberScheduler.builder().carriers(2).name("groups-" + mode).build()) {
            if (!scheduler.usesOwnCarriers()) {
                throw new IllegalStateException("fibers fell back to the JDK's scheduler: run with the agent or --add-opens");
            }
            boolean grouped = mode.equals("groups");
            FiberGroup latency = grouped ? scheduler.group("latency").build() : null;
            FiberGroup batch = grouped ? scheduler.group("batch").weight(batchWeight).build() : null;
            LongAdder chunks = new LongAdder();
            LatencyHistogram[] lateness = new LatencyHistogram[sleepers]; // one per sleeper, merged at the end
            long sleepNanos = TimeUnit.MILLISECONDS.toNanos(1);
            // Set once the batch is under way: sleeps that start from then on are measured, each to its
            // wakeup however late (a sleeper stops starting sleeps at the end, and is joined).
            AtomicLong windowStart = new AtomicLong(Long.MAX_VALUE);
            AtomicLong windowEnd = new AtomicLong(Long.MAX_VALUE);
            CountDownLatch sleepersStarted = new CountDownLatch(sleepers);
            List<Fiber<?>> fibers = new ArrayList<>();
            for (int i = 0; i < sleepers; i++) {
                int me = i;
                lateness[me] = new LatencyHistogram();
                Runnable sleeper = () -> {
                    sleepersStarted.countDown();
                    try {
                        for (;;) {
                            long start = System.nanoTime();
                            if (start >= windowEnd.get()) {
                                return;
                            }
                            Thread.sleep(Duration.ofMillis(1));
                            long late = System.nanoTime() - start - sleepNanos;
                            if (start >= windowStart.get()) {
                                lateness[me].record(late);
                            }
                        }
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                };
                fibers.add(grouped ? latency.spawn(sleeper) : scheduler.spawn(sleeper));
            }
            sleepersStarted.await(); // before the batch, which would hold up their first runs too
            for (int i = 0; i < batchFibers; i++) {
                Runnable work = () -> {
                    long sink = 0;
                    while (System.nanoTime() < windowEnd.get()) {
                        sink += compute(chunkIterations, sink);
                        chunks.increment();
                        Fibers.yield();
                    }
                    if (sink == 42) {
                        System.out.print(""); // keeps the computation from being optimised away
                    }
                };
                fibers.add(grouped ? batch.spawn(work) : scheduler.spawn(work));
            }
            Thread.sleep(100); // the batch fibers are all under way
            long[] gcBefore = gc();
            long measuredFrom = System.nanoTime();
            long chunksBefore = chunks.sum();
            windowStart.set(measuredFrom);
            windowEnd.set(measuredFrom + duration.toNanos());
            Thread.sleep(duration.toMillis());
            long chunksAtEnd = chunks.sum();
            for (Fiber<?> f : fibers) {
                f.join();
            }
            double seconds = duration.toNanos() / 1e9;
            LatencyHistogram all = new LatencyHistogram();
            for (LatencyHistogram h : lateness) {
                all.add(h);
            }
            if (all.count() == 0) {
                throw new IllegalStateException("no sleeper woke up in " + duration + " (" + mode + ")");
            }
            long[] gcAfter = gc();
            return new Result(mode, millis(all.percentile(50)), millis(all.percentile(99)), millis(all.max()),
                    all.count(), (chunksAtEnd - chunksBefore) / seconds, gcAfter[0] - gcBefore[0], gcAfter[1] - gcBefore[1]);
        }
    }

    /** Collections and their total time so far, over every collector (for G1, pauses: young and mixed). */
    private static long[] gc() {
        long count = 0;
        long millis = 0;
        for (java.lang.management.GarbageCollectorMXBean bean : java.lang.management.ManagementFactory.getGarbageCollectorMXBeans()) {
            if (bean.getName().contains("Concurrent")) {
                continue; // G1's concurrent cycles do not stop the fibers
            }
            count += Math.max(0, bean.getCollectionCount());
            millis += Math.max(0, bean.getCollectionTime());
        }
        return new long[] {count, millis};
    }

    private static double millis(long nanos) {
        return nanos / 1e6;
    }

    /** CPU work: a xorshift chain the JIT cannot fold. */
    static long compute(long iterations, long seed) {
        long x = seed | 1;
        for (long i = 0; i < iterations; i++) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
        }
        return x;
    }

    /** Iterations of {@link #compute} that take about {@code micros} on this machine, measured after a warm-up. */
    private static long calibrate(int micros) {
        long iterations = 100_000;
        long sink = 0;
        for (int i = 0; i < 200; i++) {
            sink += compute(iterations, sink);
        }
        long start = System.nanoTime();
        for (int i = 0; i < 100; i++) {
            sink += compute(iterations, sink);
        }
        double nanosPerIteration = (System.nanoTime() - start) / (100.0 * iterations);
        if (sink == 42) {
            System.out.print("");
        }
        return Math.max(1, (long) (micros * 1_000 / nanosPerIteration));
    }
}
